"""The supervision API: a problem recorded with photos (multipart), rectified and closed
through its obligation, retried without a duplicate, listed in a fixed number of queries, and
invisible (404) to a sibling district; the re-inspection sample drawn and recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.command.models import Problem, ProblemKind
from tests.clients import api_client
from tests.factories import Tree
from tests.factories.command import Structure, add_inspectors, command_structure

API = "/api/v1/command"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def cs(tree: Tree, settings: Any, tmp_path: Path) -> Structure:
    settings.DATA_DIR = tmp_path
    made = command_structure(tree)
    add_inspectors(made, tree)
    return made


def _form(cs: Structure, tree: Tree, **kw: Any) -> dict[str, Any]:
    return {
        "inspector_unit_id": cs.units["insp_a"].pk, "unit_id": cs.units["town_a1"].pk,
        "kind_id": ProblemKind.objects.get(code="DISINFECT").pk, "severity": "critical",
        "site": "东街隔离酒店", "region_code": tree.town_a1.code, "description": "污染区未消毒",
        "latitude": "30.5", "longitude": "114.3", "ref": "pad-1",
        "photos": [SimpleUploadedFile("现场.png", PNG, "image/png")],
    } | kw  # fmt: skip


def test_recorded_rectified_and_closed_through_the_api(
    cs: Structure, tree: Tree, django_assert_num_queries: Any
) -> None:
    insp = api_client(cs.users["insp_a"])
    made = insp.client.post(f"{API}/problems/", _form(cs, tree), headers=insp.headers)
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["number"].startswith("DC-") and body["unit"] == "东街街道"
    assert body["latitude"] == 30.5 and body["state"] == "open" and not body["overdue"]
    again = insp.client.post(f"{API}/problems/", _form(cs, tree), headers=insp.headers)
    assert again.json()["id"] == body["id"] and Problem.objects.count() == 1
    bad = insp.client.post(f"{API}/problems/", _form(cs, tree, ref="", severity="x"),
                           headers=insp.headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "severity"
    town = api_client(cs.users["town_a1"])
    ob = body["obligation_id"]
    done = town.client.post(f"{API}/obligations/{ob}/notes", {"text": "已消毒", "complete": "true"},
                            headers=town.headers)  # fmt: skip
    assert done.status_code == 201
    assert insp.post(f"{API}/obligations/{ob}/verify", {}).status_code == 200
    with django_assert_num_queries(3):  # token, count, page
        listed = insp.get(f"{API}/problems/", state="verified").json()
    assert [p["id"] for p in listed["items"]] == [body["id"]]
    # a sibling district sees nothing of it
    sibling = api_client(cs.users["insp_b"])
    assert sibling.get(f"{API}/problems/{body['id']}").status_code == 404
    assert sibling.get(f"{API}/problems/").json()["count"] == 0
    theirs = _form(cs, tree, ref="b-1", inspector_unit_id=cs.units["insp_b"].pk)
    refused = sibling.client.post(f"{API}/problems/", theirs, headers=sibling.headers)
    assert refused.status_code in (403, 422) and Problem.objects.count() == 1


def test_reinspection_drawn_and_a_finding_that_did_not_hold_reopens(
    cs: Structure, tree: Tree
) -> None:
    insp, town = api_client(cs.users["insp_a"]), api_client(cs.users["town_a1"])
    made = insp.client.post(f"{API}/problems/", _form(cs, tree, photos=[]), headers=insp.headers)
    ob = made.json()["obligation_id"]
    town.client.post(f"{API}/obligations/{ob}/notes", {"text": "已整改", "complete": "true"},
                     headers=town.headers)  # fmt: skip
    insp.post(f"{API}/obligations/{ob}/verify", {})
    drawn = insp.post(f"{API}/problems/reinspections", {"region_code": tree.district_a.code})
    assert drawn.status_code == 201 and len(drawn.json()) == 1
    rid = drawn.json()[0]["id"]
    assert (
        api_client(cs.users["insp_b"])
        .post(f"{API}/problems/reinspections/{rid}", {"held": True})
        .status_code
        == 404
    )
    found = insp.post(f"{API}/problems/reinspections/{rid}", {"held": False, "note": "反弹"})
    assert found.status_code == 200 and found.json()["held"] is False
    assert insp.get(f"{API}/problems/{made.json()['id']}").json()["state"] == "acknowledged"
