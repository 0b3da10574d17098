"""Home quarantine: door sensors, events from a vendor's platform (bad input named with a
clear 4xx, retries stored once), alerts and missed check-ins on the grid worker's page and
rolled up to the town and the district, a sibling town seeing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.core.models import Role, User
from fangkong.people.models import ControlMeasure
from fangkong.people.services import measures
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.health import missed_slots
from fangkong.quarantine.models import DoorEvent
from fangkong.quarantine.services import doors, health
from tests.factories import Tree, UserFactory, make_person
from tests.factories.measures import propose

BASE = "/api/v1/quarantine"


@pytest.fixture
def grid_worker(tree: Tree) -> User:
    return UserFactory(username="grid_a1", role=Role.GRID_WORKER, region=tree.community_a1)


def _at_home(tree: Tree, users: dict[str, User], name: str) -> ControlMeasure:
    person = make_person(tree.community_a1, name=name)
    measure = propose(person, "home_quarantine_7", start=timezone.localdate())
    return measures.measure_start(actor=users["town_a1"], measure=measure)


def _event(device: str, event_id: str, kind: str = "opened", **kw: Any) -> dict[str, Any]:
    at = kw.get("at", timezone.now().isoformat())
    return {"device_id": device, "event_id": event_id, "kind": kind, "at": at}


def test_events_become_alerts_on_the_round_and_in_the_rollups(
    tree: Tree, users: dict[str, User], api_as: Any, grid_worker: User
) -> None:
    measure = _at_home(tree, users, "居家甲")
    town = api_as("town_a1")
    fitted = town.post(f"{BASE}/door-sensors", {"measure_id": measure.pk, "device_id": "DS-001"})
    assert fitted.status_code == 201, fitted.json()
    batch = {"events": [_event("DS-001", "e1"), _event("DS-001", "e2", "battery_low")]}
    r = town.post(f"{BASE}/door-events", batch)
    assert r.status_code == 200 and r.json() == {"stored": 2, "repeated": 0}
    again = town.post(f"{BASE}/door-events", batch)  # the platform retries: nothing doubles
    assert again.json() == {"stored": 0, "repeated": 2} and DoorEvent.objects.count() == 2
    rows = sel.home_watch(actor=grid_worker)
    assert [len(r.alerts) for r in rows] == [2]
    page = Client()
    page.force_login(grid_worker)
    html = page.get("/quarantine/home/").content.decode()
    assert html.count('data-testid="door-alert"') == 2
    rollup = {r["region_code"]: r for r in api_as("district_a").get(f"{BASE}/home/rollup").json()}
    assert rollup[tree.district_a.code]["alerts"] == 2
    assert rollup[tree.town_a1.code]["alerts"] == 2 and rollup[tree.town_a2.code]["alerts"] == 0
    # the grid worker closes one; the sibling town sees nothing of any of it
    first = DoorEvent.objects.order_by("pk").first()
    done = page.post(f"/quarantine/door-events/{first.pk}/handle/", {"note": "本人在家，快递"})
    assert done.status_code == 302
    assert [len(r.alerts) for r in sel.home_watch(actor=grid_worker)] == [1]
    assert sel.home_watch(actor=users["town_a2"]) == []
    sibling = api_as("town_a2")
    assert sibling.post(f"{BASE}/door-events/{first.pk}/handle", {"note": "x"}).status_code == 404


def test_bad_sensor_input_gets_a_clear_4xx(tree: Tree, users: dict[str, User], api_as: Any) -> None:
    measure = _at_home(tree, users, "居家乙")
    doors.door_sensor_install(actor=users["town_a1"], measure=measure, device_id="DS-002")
    town = api_as("town_a1")
    unknown = town.post(
        f"{BASE}/door-events", {"events": [_event("DS-002", "a"), _event("NOPE", "b")]}
    )
    assert unknown.status_code == 422
    assert [(e["row"], e["field"]) for e in unknown.json()["errors"]] == [(2, "device_id")]
    assert "NOPE" in unknown.json()["detail"]
    assert DoorEvent.objects.count() == 0  # all or nothing
    malformed = town.post(f"{BASE}/door-events", {"events": [_event("DS-002", "c", at="昨天")]})
    assert malformed.status_code == 422
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    ahead = town.post(f"{BASE}/door-events", {"events": [_event("DS-002", "d", at=future)]})
    assert ahead.status_code == 422 and ahead.json()["errors"][0]["field"] == "at"
    kind = town.post(f"{BASE}/door-events", {"events": [_event("DS-002", "e", "smoke")]})
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    # a sibling town's token cannot post for this device: it does not exist for them
    other = api_as("town_a2").post(f"{BASE}/door-events", {"events": [_event("DS-002", "f")]})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "device_id"


def test_missed_check_ins_roll_up_and_a_check_by_the_grid_worker_clears_one(
    tree: Tree, users: dict[str, User], grid_worker: User, api_as: Any
) -> None:
    a, b = _at_home(tree, users, "居家丙"), _at_home(tree, users, "居家丁")
    before = {r["region_code"]: r for r in api_as("district_a").get(f"{BASE}/home/rollup").json()}
    due = len(missed_slots(timezone.localdate(), set()))
    assert before[tree.town_a1.code]["under_watch"] == 2
    assert before[tree.town_a1.code]["missed"] == 2 * due
    slot = "am" if due else None
    health.health_check_record(
        actor=grid_worker, measure=a, temperature="36.5", symptoms=[], via="grid", slot=slot
    )
    after = {r["region_code"]: r for r in api_as("district_a").get(f"{BASE}/home/rollup").json()}
    assert after[tree.town_a1.code]["missed"] == max(0, 2 * due - 1)
    assert b.pk in [r.measure.pk for r in sel.home_watch(actor=grid_worker)]
