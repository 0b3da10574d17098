"""Control measures over HTTP: scope (sibling town sees nothing), transitions, query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fangkong.core.models import Institution
from fangkong.people.measures_models import ControlMeasure
from fangkong.people.services import measure_results, measures
from tests.factories import make_person
from tests.factories.measures import in_force, propose

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()


def d(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def own(tree: Any) -> Any:
    return make_person(tree.grid_a1, name="东街人员")


@pytest.fixture
def sibling(tree: Any) -> Any:
    return make_person(tree.grid_a2, name="南街人员")


def test_propose_get_and_mask(clock: Any, api_as: Any, own: Any) -> None:
    api = api_as("town_a1")
    r = api.post(
        "/api/v1/measures",
        {"person_id": own.pk, "plan_key": "centralised_7_home_3", "reason": "高风险地区来返"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "proposed" and body["kind"] == "centralised_quarantine"
    assert (body["start_date"], body["planned_end"]) == (d(0), d(9))
    assert body["test_days"] == [d(n) for n in (0, 1, 2, 4, 6, 9)]
    assert [(p["kind"], p["start"], p["end"]) for p in body["phases"]] == [
        ("centralised_quarantine", d(0), d(6)),
        ("home_monitoring", d(7), d(9)),
    ]
    assert body["person"] == {"id": own.pk, "name": "东街人员", "id_number": own.id_number_mask}
    assert body["source_type"] == "manual"
    assert [e["to_state"] for e in body["events"]] == ["proposed"]
    assert len(body["tests"]) == 6
    # a retried POST with the same request id is the same measure
    again = {"person_id": own.pk, "plan_key": "home_quarantine_7", "request_id": "abc"}
    first = api.post("/api/v1/measures", again).json()["id"]
    assert api.post("/api/v1/measures", again).json()["id"] == first
    assert ControlMeasure.objects.count() == 2
    assert api.get(f"/api/v1/measures/{body['id']}").json()["id"] == body["id"]


def test_propose_errors(clock: Any, api_as: Any, own: Any, sibling: Any) -> None:
    api = api_as("town_a1")
    assert (
        api.post(
            "/api/v1/measures", {"person_id": sibling.pk, "plan_key": "home_quarantine_7"}
        ).status_code
        == 404
    )
    bad = api.post("/api/v1/measures", {"person_id": own.pk, "plan_key": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "plan_key"


def test_transitions_over_http(clock: Any, api_as: Any, own: Any) -> None:
    api = api_as("town_a1")
    mid = api.post(
        "/api/v1/measures", {"person_id": own.pk, "plan_key": "centralised_7_home_3"}
    ).json()["id"]
    url = f"/api/v1/measures/{mid}"
    assert api.post(f"{url}/release", {}).status_code == 409
    r = api.post(f"{url}/start", {"start": d(-1)})
    assert r.status_code == 200 and r.json()["state"] == "in_force"
    assert r.json()["planned_end"] == d(8)
    r = api.post(f"{url}/extend", {"days": 4, "reason": "同住人员阳性"})
    assert r.json()["state"] == "extended" and r.json()["planned_end"] == d(12)
    bad = api.post(f"{url}/extend", {"days": 4, "reason": ""})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reason"
    assert api.post(f"{url}/cancel", {"reason": "误报"}).status_code == 409
    r = api.post(f"{url}/convert", {"to": "case", "reason": "确诊"})
    assert r.json()["state"] == "converted" and r.json()["converted_to"] == "case"
    assert [e["to_state"] for e in api.get(url).json()["events"]] == [
        "proposed",
        "in_force",
        "extended",
        "converted",
    ]
    # and a fresh proposal can be cancelled
    other = api.post("/api/v1/measures", {"person_id": own.pk, "plan_key": "tests_3_in_3"}).json()[
        "id"
    ]
    r = api.post(f"/api/v1/measures/{other}/cancel", {"reason": "已转病例"})
    assert r.json()["state"] == "cancelled"


def test_sibling_town_sees_nothing(clock: Any, api_as: Any, users: Any, sibling: Any) -> None:
    m = in_force(sibling, users["town_a2"], start=TODAY)
    proposed = propose(sibling, "tests_3_in_3", start=TODAY)
    api = api_as("town_a1")
    for mid in (m.pk, proposed.pk):
        assert api.get(f"/api/v1/measures/{mid}").status_code == 404
    assert api.post(f"/api/v1/measures/{proposed.pk}/start", {}).status_code == 404
    assert api.post(f"/api/v1/measures/{m.pk}/release", {}).status_code == 404
    assert (
        api.post(f"/api/v1/measures/{m.pk}/extend", {"days": 1, "reason": "xx"}).status_code == 404
    )
    assert (
        api.post(f"/api/v1/measures/{m.pk}/convert", {"to": "case", "reason": "xx"}).status_code
        == 404
    )
    assert api.post(f"/api/v1/measures/{proposed.pk}/cancel", {"reason": "xx"}).status_code == 404
    assert api.get("/api/v1/measures").json()["count"] == 0
    assert api.get("/api/v1/measures", region=users["town_a2"].region.code).json()["count"] == 0
    counts = api.get("/api/v1/measures/counts").json()
    assert all(not states for states in counts["by_kind_state"].values())
    m.refresh_from_db()
    assert m.state == "in_force"
    # the sibling's own town and the city see it; roles without personal data do not
    assert api_as("town_a2").get("/api/v1/measures").json()["count"] == 2
    assert api_as("city").get("/api/v1/measures").json()["count"] == 2
    for who in ("admin", "inspector", "lab"):
        assert api_as(who).get("/api/v1/measures").json()["count"] == 0
        assert api_as(who).get(f"/api/v1/measures/{m.pk}").status_code == 404


def test_list_filters_and_overdue_at_query_time(
    clock: Any, api_as: Any, users: Any, tree: Any
) -> None:
    op = users["town_a1"]
    people = [make_person(tree.grid_a1, name=f"人员{i}") for i in range(4)]
    seven_three = in_force(people[0], op, start=TODAY)
    home = in_force(people[1], op, "home_quarantine_7", start=TODAY)
    propose(people[2], "tests_3_in_3", start=TODAY)
    done = in_force(people[3], op, "tests_3_in_3", start=TODAY)
    measures.measure_release(actor=op, measure=done)

    def ids(**params: Any) -> set[int]:
        # a fresh token each time: moving the clock by days outlives any token
        rows = api_as("town_a1").get("/api/v1/measures", **params).json()["results"]
        return {m["id"] for m in rows}

    assert ids(state="active") == {seven_three.pk, home.pk}
    assert ids(kind="home_quarantine") == {home.pk}
    assert ids(overdue="any") == set()
    # tomorrow, today's test days have passed without a result
    for m in (seven_three, home):
        measure_results.measure_record_test(measure=m, on=TODAY, result="negative")
    clock.shift(dt.timedelta(days=1))
    assert ids(overdue="test") == set()
    clock.shift(dt.timedelta(days=1))
    assert ids(overdue="test") == {seven_three.pk}  # its day-2 test is missing
    clock.shift(dt.timedelta(days=6))  # day 9: home quarantine ended yesterday
    api = api_as("town_a1")
    rows = {m["id"]: m for m in api.get("/api/v1/measures", state="active").json()["results"]}
    assert rows[home.pk]["release_overdue"] and not rows[seven_three.pk]["release_overdue"]
    assert rows[seven_three.pk]["current_kind"] == "home_monitoring"
    assert ids(overdue="release") == {home.pk}
    measures.measure_release(actor=op, measure=home)
    assert ids(overdue="release") == set()
    counts = api.get("/api/v1/measures/counts").json()
    assert counts["by_kind_state"]["centralised_quarantine"] == {"in_force": 1}
    assert counts["by_kind_state"]["testing"] == {"proposed": 1, "released": 1}


def test_list_query_count(
    clock: Any, api_as: Any, users: Any, tree: Any, django_assert_num_queries: Any
) -> None:
    op = users["town_a1"]
    for i in range(12):
        in_force(make_person(tree.grid_a1, name=f"人员{i}"), op, start=TODAY)
    api = api_as("town_a1")
    # token + user, count, one page of rows with person, region and plan joined
    with django_assert_num_queries(3):
        r = api.get("/api/v1/measures", overdue="any", state="active")
    assert r.status_code == 200 and r.json()["count"] == 0
    with django_assert_num_queries(3):
        r = api.get("/api/v1/measures", page_size=5)
    assert len(r.json()["results"]) == 5 and r.json()["count"] == 12


def test_region_counts(clock: Any, api_as: Any, users: Any, tree: Any) -> None:
    in_force(make_person(tree.grid_a1), users["town_a1"], start=TODAY)
    in_force(make_person(tree.grid_a2), users["town_a2"], start=TODAY)
    in_force(make_person(tree.grid_b1), users["city"], start=TODAY)
    rows = api_as("district_a").get("/api/v1/measures/counts").json()["by_region"]
    assert [(r["code"], r["in_force"]) for r in rows] == [
        (tree.town_a1.code, 1),
        (tree.town_a2.code, 1),
    ]
    rows = api_as("city").get("/api/v1/measures/counts").json()["by_region"]
    assert [r["in_force"] for r in rows] == [2, 1]


def test_plans_and_profile(db: Any, api_as: Any, users: Any) -> None:
    town = api_as("town_a1")
    plans = town.get("/api/v1/measures/plans").json()
    assert {p["key"] for p in plans} >= {"centralised_7_home_3", "tests_3_in_3"}
    assert next(p for p in plans if p["key"] == "centralised_7_home_3")["total_days"] == 10
    profile = town.get("/api/v1/measures/profile").json()
    assert profile["generation_plans"]["1"] == "centralised_7_home_3"
    plan = {"name": "居家隔离14天", "phases": [{"kind": "home_quarantine", "days": 14}]}
    assert (
        town.client.put(
            "/api/v1/measures/plans/hq14",
            plan,
            content_type="application/json",
            headers=town.headers,
        ).status_code
        == 403
    )
    assert town.patch("/api/v1/measures/profile", {"incubation_days": 14}).status_code == 403
    city = api_as("city")
    r = city.client.put(
        "/api/v1/measures/plans/hq14", plan, content_type="application/json", headers=city.headers
    )
    assert r.status_code == 200 and r.json()["total_days"] == 14
    r = city.patch("/api/v1/measures/profile", {"incubation_days": 14})
    assert r.status_code == 200 and r.json()["incubation_days"] == 14
    bad = city.patch("/api/v1/measures/profile", {"generation_plans": {"1": "nope"}})
    assert bad.status_code == 422


def test_assign_site(clock: Any, api_as: Any, users: Any, own: Any, tree: Any) -> None:
    m = in_force(own, users["town_a1"], start=TODAY)
    site = Institution.objects.create(
        code="QS1", name="东街隔离酒店", kind="quarantine_site", region=tree.town_a1
    )
    other = Institution.objects.create(
        code="QS2", name="南街隔离点", kind="quarantine_site", region=tree.town_a2
    )
    api = api_as("town_a1")
    assert api.post(f"/api/v1/measures/{m.pk}/site", {"site_id": other.pk}).status_code == 422
    r = api.post(f"/api/v1/measures/{m.pk}/site", {"site_id": site.pk})
    assert r.status_code == 200 and r.json()["site_id"] == site.pk
