"""Key-group routine testing over the API: regimes CRUD, members, compliance, the bulletin."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.utils import timezone, translation

from fangkong.core.models import AuditEvent, Institution, User
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember, KeyGroupRegime
from fangkong.masstesting.models import Campaign
from tests.factories import Tree
from tests.factories.masstesting import campaign_setup, persons_with_codes
from tests.keygroups.test_groups import people, sample

BASE = "/api/v1/masstesting/groups"


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def enrolled(tree: Tree, users: dict[str, User]) -> dict[str, Any]:
    """Cold-chain members: 3 in town A1 (one tested an hour ago), 2 in town A2, 1 in district B;
    all enrolled three days ago, so the untested ones are overdue."""
    groups.regime_create(
        actor=users["city"], region=tree.city, key_group="cold_chain", every_days=7
    )
    a = people(persons_with_codes(tree.grid_a1, 3, key_group="cold_chain"))
    b = people(persons_with_codes(tree.grid_a2, 2, key_group="cold_chain"))
    c = people(persons_with_codes(tree.grid_b1, 1, key_group="cold_chain"))
    groups.members_sync(
        actor=users["city"], region=tree.city, today=timezone.localdate() - dt.timedelta(days=3)
    )
    store = Institution.objects.create(
        code="CS1", name="东一冷库", kind="cold_store", region=tree.town_a1
    )
    for p in a[:2]:
        groups.member_update(
            actor=users["city"], member=KeyGroupMember.objects.get(person=p), unit=store
        )
    setup = campaign_setup(tree, users)
    sample(setup.point, setup.sampler, [a[0]], timezone.now() - dt.timedelta(hours=1))
    return {"a": a, "b": b, "c": c, "store": store}


def test_regime_crud_and_scope(tree: Tree, users: dict[str, User], api_as: Any) -> None:
    town = api_as("town_a1")
    r = town.post(
        f"{BASE}/regimes",
        {"region_id": tree.town_a1.pk, "key_group": "delivery", "every_days": 7, "pool_size": 5},
    )
    assert r.status_code == 201, r.content
    regime_id = r.json()["id"]
    assert (
        town.post(
            f"{BASE}/regimes",
            {"region_id": tree.town_a1.pk, "key_group": "delivery", "every_days": 3},
        ).status_code
        == 409
    )
    bad = town.post(
        f"{BASE}/regimes", {"region_id": tree.town_a1.pk, "key_group": "medical", "every_days": 0}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "every_days"
    # out of scope: 404 for the sibling town and the other district, region and regime alike
    for who in ("town_a2", "district_b"):
        api = api_as(who)
        assert api.get(f"{BASE}/regimes/{regime_id}").status_code == 404
        assert api.patch(f"{BASE}/regimes/{regime_id}", {"every_days": 1}).status_code == 404
        assert api.post(f"{BASE}/regimes/{regime_id}/deactivate").status_code == 404
        assert api.get(f"{BASE}/regimes").json() == []
    assert (
        api_as("town_a2")
        .post(
            f"{BASE}/regimes", {"region_id": tree.town_a1.pk, "key_group": "port", "every_days": 3}
        )
        .status_code
        == 404
    )
    local = groups.regime_create(
        actor=users["town_a1"], region=tree.community_a1, key_group="port", every_days=7
    )
    community = api_as("community_a1")
    assert community.get(f"{BASE}/regimes/{local.pk}").status_code == 200
    assert community.post(f"{BASE}/regimes/{local.pk}/deactivate").status_code == 403
    assert community.get(f"{BASE}/regimes/{regime_id}").status_code == 404
    patched = town.patch(f"{BASE}/regimes/{regime_id}", {"every_days": 3})
    assert patched.json()["every_days"] == 3
    assert {x["id"] for x in api_as("district_a").get(f"{BASE}/regimes").json()} == {
        regime_id,
        local.pk,
    }
    round_ = town.post(f"{BASE}/regimes/{regime_id}/rounds", {"hours": 24})
    assert round_.status_code == 201
    campaign = Campaign.objects.get(pk=round_.json()["campaign_id"])
    assert campaign.key_groups == ["delivery"] and campaign.group_pool_sizes == {"delivery": 5}
    assert town.post(f"{BASE}/regimes/{regime_id}/deactivate").json()["active"] is False
    assert not KeyGroupRegime.objects.get(pk=regime_id).active


def test_members_list_filters_and_queries(
    users: dict[str, User], enrolled: dict[str, Any], api_as: Any, django_assert_num_queries: Any
) -> None:
    api = api_as("district_a")
    api.get(f"{BASE}/members")  # the token's user is cached per client after the first call
    # token with its user, regimes, count, page
    with django_assert_num_queries(4):
        body = api.get(f"{BASE}/members", page_size=2).json()
    assert body["count"] == 5 and len(body["results"]) == 2
    with django_assert_num_queries(4):
        late = api.get(f"{BASE}/members", overdue="true").json()
    assert late["count"] == 4 and all(m["overdue"] for m in late["results"])
    first = enrolled["a"][0].pk
    fresh = api.get(f"{BASE}/members", overdue="false").json()["results"]
    assert [m["person_id"] for m in fresh] == [first]
    row = fresh[0]
    assert row["due_on"] == str(
        timezone.localdate(timezone.now() - dt.timedelta(hours=1)) + dt.timedelta(days=7)
    )
    assert row["id_number"] == "1***" and row["unit"] == "东一冷库" and row["every_days"] == 7
    store = enrolled["store"]
    by_unit = api.get(f"{BASE}/members", unit=f"i{store.pk}").json()
    assert by_unit["count"] == 2
    no_unit = api.get(f"{BASE}/members", unit="-").json()
    assert no_unit["count"] == 3
    assert api.get(f"{BASE}/members", key_group="medical").json()["count"] == 0
    town = api_as("town_a2").get(f"{BASE}/members").json()
    assert {m["person_id"] for m in town["results"]} == {p.pk for p in enrolled["b"]}
    west = api_as("district_b").get(f"{BASE}/members").json()
    assert [m["person_id"] for m in west["results"]] == [enrolled["c"][0].pk]
    assert api_as("admin").get(f"{BASE}/members").json()["count"] == 0


def test_member_enrol_patch_and_scope(
    tree: Tree, users: dict[str, User], enrolled: dict[str, Any], api_as: Any
) -> None:
    person = people(persons_with_codes(tree.grid_a1, 1))[0]
    town = api_as("town_a1")
    r = town.post(
        f"{BASE}/members", {"person_id": person.pk, "key_group": "cold_chain", "unit_name": "个体"}
    )
    assert r.status_code == 201 and r.json()["unit"] == "个体" and r.json()["overdue"] is False
    member_id = r.json()["id"]
    assert (
        api_as("town_a2")
        .post(f"{BASE}/members", {"person_id": person.pk, "key_group": "cold_chain"})
        .status_code
        == 404
    )
    assert (
        api_as("town_a2").patch(f"{BASE}/members/{member_id}", {"active": False}).status_code == 404
    )
    store = enrolled["store"]
    moved = town.patch(f"{BASE}/members/{member_id}", {"unit_id": store.pk})
    assert moved.json()["unit"] == "东一冷库"
    off = town.patch(f"{BASE}/members/{member_id}", {"active": False})
    assert off.status_code == 200
    assert not KeyGroupMember.objects.get(pk=member_id).active


def test_sync_and_import(
    tree: Tree, users: dict[str, User], api_as: Any, run_file_jobs: Any
) -> None:
    groups.regime_create(actor=users["city"], region=tree.city, key_group="delivery", every_days=7)
    persons_with_codes(tree.grid_a1, 3, key_group="delivery")
    town = api_as("town_a1")
    assert town.post(f"{BASE}/members/sync", {"region_id": tree.town_a1.pk}).json() == {
        "enrolled": 3
    }
    assert town.post(f"{BASE}/members/sync", {"region_id": tree.town_a2.pk}).status_code == 404
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["身份证号", "重点人群", "单位"])
    ws.append(["110105199001011230", "delivery", "x"])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "members.xlsx"
    r = town.client.post(f"{BASE}/members/import", {"file": buffer}, headers=town.headers)
    assert r.status_code == 202, r.content
    run_file_jobs()
    job = town.get(f"/api/v1/jobs/{r.json()['id']}").json()
    assert job["status"] == "done", job
    assert job["result"]["errors"] == [
        {
            "row": 2,
            "field": "id_number",
            "reason": "您的辖区内没有该证件号码对应的人员",
        }
    ]


def test_compliance_and_bulletin(
    users: dict[str, User], enrolled: dict[str, Any], api_as: Any
) -> None:
    week = "{}-W{:02d}".format(*timezone.localdate().isocalendar()[:2])
    api = api_as("town_a1")
    body = api.get(f"{BASE}/compliance", week=week).json()
    assert [(r["unit"], r["members"], r["tested"], r["percent"]) for r in body["rows"]] == [
        ("东一冷库", 2, 1, 50.0),
        ("无单位", 1, 0, 0.0),
    ]
    assert body["total"]["members"] == 3 and len(body["not_tested"]) == 2
    assert all(x["name"] == "p*" for x in body["not_tested"])
    assert api.get(f"{BASE}/compliance", week="2026-W99").status_code == 422
    west = api_as("district_b").get(f"{BASE}/compliance", week=week).json()
    assert west["total"]["members"] == 1 and "东一冷库" not in str(west)
    r = api.get(f"{BASE}/compliance.xlsx", week=week)
    assert r.status_code == 200 and r["Content-Disposition"].endswith(f'-{week}.xlsx"')
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.worksheets[0]["A1"].value.startswith("东街街道")
    assert wb.worksheets[0]["A4"].value == "东一冷库"
    assert (
        AuditEvent.objects.filter(action="keygroup_bulletin.export", actor=users["town_a1"]).count()
        == 1
    )
    other = api_as("town_a2").get(
        f"{BASE}/compliance.xlsx", week=week, region_id=users["town_a1"].region_id
    )
    assert other.status_code == 404
