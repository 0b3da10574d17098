"""The /api/v1/screening API: records, rules, scoping (sibling towns see nothing, 404 on
each other's records) and exact query counts on the list endpoints."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from fangkong.core.models import User
from fangkong.screening.models import ClassificationRule, ScreeningRecord
from tests.factories import Tree, make_resident_id
from tests.factories.screening import ensure_default_rules, local, make_area, make_screening

BASE = "/api/v1/screening"


@pytest.fixture(autouse=True)
def _seeded(db: Any) -> None:
    ensure_default_rules()


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(local(2022, 5, 10, 10, 0), tick=False) as traveller:
        yield traveller


def _payload(tree: Tree, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "钱七",
        "id_number": make_resident_id(),
        "phone": "13600001111",
        "source": "checkpoint",
        "origin_code": "310115",
        "origin_place": "上海市浦东新区",
        "route": [{"place": "苏州市", "date": "2022-05-08"}],
        "arrival_at": "2022-05-09T18:30:00+08:00",
        "travel_mode": "car",
        "destination_code": tree.community_a1.code,
    }
    data.update(overrides)
    return data


def test_create_confirm_and_read(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any
) -> None:
    make_area(code="310115", level="high")
    town = api_as("town_a1")
    created = town.post(f"{BASE}/screenings", _payload(tree))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending" and body["measure"] is None
    assert body["id_number"].count("*") == 11 and body["phone"] == "136****1111"

    confirmed = town.post(f"{BASE}/screenings/{body['id']}/confirm")
    assert confirmed.status_code == 200
    out = confirmed.json()
    assert out["status"] == "classified"
    assert out["measure"]["kind"] == "centralised_quarantine"
    assert (out["measure"]["start_date"], out["measure"]["planned_end"]) == (
        "2022-05-10",
        "2022-05-19",
    )
    assert out["classification"]["rule"]["version"] == 1
    again = town.post(f"{BASE}/screenings/{body['id']}/confirm")
    assert again.status_code == 409

    got = town.get(f"{BASE}/screenings/{body['id']}")
    assert got.status_code == 200 and got.json()["measure"]["id"] == out["measure"]["id"]


def test_create_and_confirm_in_one_call(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any
) -> None:
    make_area(code="320102", level="medium")
    response = api_as("community_a1").post(
        f"{BASE}/screenings",
        _payload(tree, origin_code="320102", destination_code=tree.grid_a1.code, confirm=True),
    )
    assert response.status_code == 201
    assert response.json()["measure"]["kind"] == "home_quarantine"


def test_field_errors_name_the_field(tree: Tree, api_as: Any, frozen: Any) -> None:
    town = api_as("town_a1")
    bad = town.post(f"{BASE}/screenings", _payload(tree, id_number="123"))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "id_number"
    outside = town.post(
        f"{BASE}/screenings", _payload(tree, destination_code=tree.community_a2.code)
    )
    assert outside.status_code == 422
    assert outside.json()["detail"][0]["field"] == "destination_code"
    public_only = town.post(f"{BASE}/screenings", _payload(tree, source="self_declaration"))
    assert public_only.status_code == 422


def test_reject(tree: Tree, users: dict[str, User], api_as: Any, frozen: Any) -> None:
    record = make_screening(users["town_a1"], tree.community_a1)
    town = api_as("town_a1")
    assert town.post(f"{BASE}/screenings/{record.pk}/reject", {"reason": ""}).status_code == 422
    done = town.post(f"{BASE}/screenings/{record.pk}/reject", {"reason": "重复报备"})
    assert done.status_code == 200
    assert done.json()["status"] == "rejected" and done.json()["reject_reason"] == "重复报备"


def test_sibling_town_sees_nothing(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any
) -> None:
    record = make_screening(users["town_a1"], tree.community_a1)
    sibling = api_as("town_a2")
    assert sibling.get(f"{BASE}/screenings").json()["count"] == 0
    assert sibling.get(f"{BASE}/screenings", region=tree.community_a1.code).json()["count"] == 0
    for path in (f"{BASE}/screenings/{record.pk}",):
        assert sibling.get(path).status_code == 404
    assert sibling.post(f"{BASE}/screenings/{record.pk}/confirm").status_code == 404
    assert (
        sibling.post(f"{BASE}/screenings/{record.pk}/reject", {"reason": "x y"}).status_code == 404
    )
    record.refresh_from_db()
    assert record.status == "pending"
    # roles that see no personal data see no screening records either
    for who in ("admin", "inspector", "lab"):
        client = api_as(who)
        assert client.get(f"{BASE}/screenings").json()["count"] == 0
        assert client.get(f"{BASE}/screenings/{record.pk}").status_code == 404
    # the district and the city above the town see it
    assert api_as("district_a").get(f"{BASE}/screenings").json()["count"] == 1
    assert api_as("city").get(f"{BASE}/screenings/{record.pk}").status_code == 200


def test_filters(tree: Tree, users: dict[str, User], api_as: Any, frozen: Any) -> None:
    make_screening(users["town_a1"], tree.community_a1, source="door_to_door")
    make_screening(users["town_a1"], tree.grid_a1, source="big_data")
    city = api_as("city")
    assert city.get(f"{BASE}/screenings", source="big_data").json()["count"] == 1
    assert city.get(f"{BASE}/screenings", status="pending").json()["count"] == 2
    assert city.get(f"{BASE}/screenings", region=tree.grid_a1.code).json()["count"] == 1
    assert city.get(f"{BASE}/screenings", region=tree.town_a2.code).json()["count"] == 0


def test_screening_list_query_count(
    tree: Tree,
    users: dict[str, User],
    api_as: Any,
    frozen: Any,
    django_assert_num_queries: Any,
) -> None:
    make_area(code="310115", level="high")
    for i in range(6):
        record = make_screening(users["town_a1"], tree.community_a1, origin_code="310115")
        if i % 2:
            from fangkong.screening.services.arrivals import screening_confirm

            screening_confirm(actor=users["town_a1"], record=record)
    client = api_as("town_a1")
    # token lookup, count, page (records with destination and measure joined)
    with django_assert_num_queries(3):
        response = client.get(f"{BASE}/screenings")
    assert response.json()["count"] == 6
    assert sum(1 for r in response.json()["results"] if r["measure"]) == 3


def test_rules_api(users: dict[str, User], api_as: Any, django_assert_num_queries: Any) -> None:
    town = api_as("town_a1")
    with django_assert_num_queries(2):  # token, rules with their plans
        listed = town.get(f"{BASE}/rules")
    assert [r["priority"] for r in listed.json()] == [10, 20, 30]
    rule_id = listed.json()[0]["id"]
    assert town.patch(f"{BASE}/rules/{rule_id}", {"within_days": 14}).status_code == 403
    assert (
        api_as("district_a").patch(f"{BASE}/rules/{rule_id}", {"active": False}).status_code == 403
    )

    city = api_as("city")
    changed = city.patch(
        f"{BASE}/rules/{rule_id}", {"within_days": 14, "plan_key": "home_quarantine_7"}
    )
    assert changed.status_code == 200
    assert changed.json()["version"] == 2 and changed.json()["plan_key"] == "home_quarantine_7"
    dropped = city.patch(f"{BASE}/rules/{rule_id}", {"within_days": None})
    assert dropped.json()["within_days"] is None and dropped.json()["version"] == 3
    same = city.patch(f"{BASE}/rules/{rule_id}", {"within_days": None})
    assert same.json()["version"] == 3  # nothing changed, no new version
    bad = city.patch(f"{BASE}/rules/{rule_id}", {"sources": ["telepathy"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "sources"
    made = city.post(
        f"{BASE}/rules",
        {
            "priority": 5,
            "name": "发热门诊来源",
            "sources": ["fever_clinic"],
            "plan_key": "tests_3_in_3",
        },
    )
    assert made.status_code == 201
    assert ClassificationRule.objects.count() == 4
    assert town.post(f"{BASE}/rules", {"priority": 1, "name": "x"}).status_code == 403
    # anonymous callers get nothing
    from django.test import Client

    assert Client().get(f"{BASE}/rules").status_code == 401


def test_personal_data_never_in_list_output(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any
) -> None:
    id_number = make_resident_id()
    make_screening(users["town_a1"], tree.community_a1, id_number=id_number, phone="13512345678")
    text = api_as("town_a1").get(f"{BASE}/screenings").content.decode()
    assert id_number not in text and "13512345678" not in text
    assert ScreeningRecord.objects.get().token not in text
