"""The command API: an order to many units, the queue and counts, acknowledgement, a note
with a photo, completion, verification and sending back, minutes to directives; refusals
name the field; a sibling town finds nothing; list endpoints in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.command.services import ledger
from tests.clients import ApiClient, api_client
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, command_structure

API = "/api/v1/command"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def cs(tree: Tree, settings: Any, tmp_path: Path) -> Structure:
    settings.DATA_DIR = tmp_path
    return command_structure(tree)


def _as(cs: Structure, key: str) -> ApiClient:
    return api_client(cs.users[key])


def _issue(cs: Structure, clock: Clock, *keys: str) -> Any:
    body = {
        "issuer_id": cs.units["office_a"].pk,
        "title": "闭环转运车辆备案",
        "body": "3日内完成转运车辆和司机登记备案",
        "evidence_expected": "备案表",
        "deadline": (clock.now() + dt.timedelta(days=3)).isoformat(),
        "units": [{"unit_id": cs.units[k].pk} for k in keys],
    }
    return _as(cs, "office_a").post(f"{API}/issues", body)


def test_an_order_through_the_api_from_issue_to_verification(cs: Structure, clock: Clock) -> None:
    made = _issue(cs, clock, "transport_a", "town_a1", "town_a2")
    assert made.status_code == 201, made.content
    assert made.json()["units"] == 3 and made.json()["unacknowledged"] == 3
    town = _as(cs, "town_a1")
    queue = town.get(f"{API}/queue").json()
    assert queue["count"] == 1
    ob = queue["items"][0]
    assert (ob["unit"], ob["stage"], ob["issuer"]) == ("东街街道", "on_track", "东城区防控办")
    clock.travel(dt.timedelta(minutes=90))
    acked = town.post(f"{API}/obligations/{ob['id']}/acknowledge").json()
    assert acked["minutes_to_acknowledge"] >= 90
    note = town.client.post(
        f"{API}/obligations/{ob['id']}/notes",
        {"text": "已登记12辆车", "files": [SimpleUploadedFile("车辆.png", PNG, "image/png")]},
        headers=town.headers,
    )
    assert note.status_code == 201, note.content
    files = note.json()["events"][-1]["files"]
    got = town.get(f"{API}/evidence/{files[0]['id']}")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
    assert _as(cs, "town_a2").get(f"{API}/evidence/{files[0]['id']}").status_code == 404
    done = town.client.post(
        f"{API}/obligations/{ob['id']}/notes", {"text": "全部备案", "complete": "true"},
        headers=town.headers,
    )  # fmt: skip
    assert done.json()["state"] == "completed"
    office = _as(cs, "office_a")
    waiting = office.get(f"{API}/queue", stage="awaiting").json()
    assert [o["id"] for o in waiting["items"]] == [ob["id"]]
    back = office.post(f"{API}/obligations/{ob['id']}/return", {"reason": "缺备案表"})
    assert back.json()["times_returned"] == 1 and back.json()["state"] == "acknowledged"
    refused = office.post(f"{API}/obligations/{ob['id']}/verify", {})
    assert refused.status_code == 409


def test_refusals_name_the_field(cs: Structure, clock: Clock) -> None:
    office = _as(cs, "office_a")
    unknown = _issue(cs, clock, "town_b1")  # another district's town: not in scope
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "units.1.unit_id"
    past = office.post(f"{API}/issues", {
        "issuer_id": cs.units["office_a"].pk, "title": "x",
        "deadline": (clock.now() - dt.timedelta(hours=1)).isoformat(),
        "units": [{"unit_id": cs.units["town_a1"].pk}],
    })  # fmt: skip
    assert past.status_code == 422 and past.json()["detail"][0]["field"] == "deadline"
    dept = _as(cs, "transport_a").post(f"{API}/issues", {
        "issuer_id": cs.units["transport_a"].pk, "title": "x",
        "deadline": (clock.now() + dt.timedelta(hours=1)).isoformat(),
        "units": [{"unit_id": cs.units["town_a1"].pk}],
    })  # fmt: skip
    assert dept.status_code == 403
    assert office.get(f"{API}/queue", stage="soon").status_code == 422


def test_a_sibling_town_finds_nothing(cs: Structure, clock: Clock) -> None:
    _issue(cs, clock, "town_a1")
    ob = _as(cs, "town_a1").get(f"{API}/queue").json()["items"][0]
    sibling = _as(cs, "town_a2")
    assert sibling.get(f"{API}/queue").json()["count"] == 0
    assert sibling.get(f"{API}/obligations").json()["count"] == 0
    assert sibling.get(f"{API}/obligations/{ob['id']}").status_code == 404
    assert sibling.post(f"{API}/obligations/{ob['id']}/acknowledge").status_code == 404
    assert sibling.get(f"{API}/issues/{ob['issue_id']}").status_code == 404
    assert sibling.get(f"{API}/units/{cs.units['town_a1'].pk}").status_code == 404
    assert sibling.get(f"{API}/obligations/counts").json()["total"] == 0


def test_minutes_to_directives_through_the_api(cs: Structure, clock: Clock) -> None:
    office = _as(cs, "office_a")
    text = (
        "一、由区卫健局牵头，公安分局配合，3日内完成冷链从业人员排查。\n"
        "二、各镇要于本周内完成返乡人员摸底。"
    )
    proposals = office.post(f"{API}/minutes/proposals", {"minutes": text}).json()
    assert [(p["lead_names"], p["support_names"]) for p in proposals] == [
        (["东城区卫健局"], ["东城区公安分局"]),
        (["东街街道", "南街街道"], []),
    ]
    items = [{k: p[k] for k in ("duty", "lead", "support", "deadline")} for p in proposals]
    made = office.post(f"{API}/meetings", {
        "issuer_id": cs.units["office_a"].pk, "title": "第12次调度会",
        "held_on": clock.today().isoformat(), "minutes": text, "items": items,
    })  # fmt: skip
    assert made.status_code == 201, made.content
    assert [d["units"] for d in made.json()["directives"]] == [2, 2]
    police = _as(cs, "police_a").get(f"{API}/queue").json()["items"]
    assert [(o["issue_kind"], o["role"]) for o in police] == [("directive", "support")]


def _queries(client: ApiClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_take_a_fixed_number_of_queries(cs: Structure, clock: Clock) -> None:
    _issue(cs, clock, "town_a1")
    office = _as(cs, "office_a")
    urls = (f"{API}/queue", f"{API}/obligations", f"{API}/issues", f"{API}/units")
    few = [_queries(office, u) for u in urls]
    for n in range(3):
        ledger.issue_create(
            actor=cs.users["office_a"], issuer=cs.units["office_a"], kind="order",
            title=f"指令{n}", deadline=clock.now() + dt.timedelta(days=1),
            parts=[ledger.Part(unit=cs.units[k]) for k in ("office_b", "town_a1", "town_a2")
                   if k != "office_b"],
        )  # fmt: skip
    assert [_queries(office, u) for u in urls] == few
    # the token, the member units (queue only), the count and the page
    assert few == [4, 3, 3, 3]
