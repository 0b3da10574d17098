"""Twice-daily health checks: recorded by site staff or by the person's own link, one per
slot (a retry replaces, never duplicates), fever and missed checks flagged, tests due listed
as sampling tasks, bad input named, scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.masstesting.sampling.services.codes import self_service_link_issue
from fangkong.people.models import ControlMeasure
from fangkong.people.services import measures
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.health import missed_slots
from fangkong.quarantine.models import HealthCheck, Stay
from fangkong.quarantine.services import health, stays
from tests.clients import api_client, zh
from tests.factories import Tree
from tests.factories.quarantine import SiteSetup, active_site, corridor_rooms, quarantined


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    return active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=2))


def _in_room(tree: Tree, users: dict[str, User], setup: SiteSetup, name: str) -> Stay:
    measure = quarantined(tree.community_a1, name=name)
    measure = measures.measure_start(actor=users["district_a"], measure=measure)
    stay = stays.stays_allocate(actor=users["district_a"], measures=[measure], site=setup.site)
    return stays.stay_check_in(actor=setup.staff, stay=stay.stays[0])


def _record(actor: User | None, measure: ControlMeasure, t: object, **kw: Any) -> HealthCheck:
    via = "self" if actor is None else "staff"
    return health.health_check_record(
        actor=actor, measure=measure, temperature=t, symptoms=kw.pop("symptoms", []), via=via,
        **kw,
    )  # fmt: skip


def test_one_check_per_slot_fever_flags_and_bad_readings_are_named(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _in_room(tree, users, setup, "甲")
    first = _record(setup.staff, stay.measure, "36.6", slot="am")
    again = _record(setup.staff, stay.measure, 37.8, slot="am", symptoms=["cough"])
    assert again.pk == first.pk and HealthCheck.objects.count() == 1  # a retry replaces
    assert again.flagged and again.site == setup.site
    with pytest.raises(FieldError, match=zh("give the temperature in °C, e.g. 36.5")):
        _record(setup.staff, stay.measure, "abc")
    with pytest.raises(FieldError) as bad:
        _record(setup.staff, stay.measure, "48")
    assert bad.value.field == "temperature"
    with pytest.raises(FieldError, match="rash"):
        _record(setup.staff, stay.measure, "36.5", symptoms=["rash"])
    rows = sel.site_health(actor=setup.staff, site=setup.site)
    assert [r.flagged for r in rows] == [True]
    # another site's staff and a sibling town may not record
    other = active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=1))
    with pytest.raises(Forbidden):
        _record(other.staff, stay.measure, "36.5")
    with pytest.raises(Forbidden):
        _record(users["town_a2"], stay.measure, "36.5")


def test_missed_checks_follow_the_clock() -> None:
    today = timezone.localdate()
    noon = timezone.make_aware(dt.datetime.combine(today, dt.time(12, 30)))
    night = timezone.make_aware(dt.datetime.combine(today, dt.time(21, 0)))
    morning = timezone.make_aware(dt.datetime.combine(today, dt.time(9, 0)))
    assert missed_slots(today, set(), morning) == []
    assert missed_slots(today, set(), noon) == ["am"]
    assert missed_slots(today, {"am"}, night) == ["pm"]
    assert missed_slots(today - dt.timedelta(days=1), {"pm"}, morning) == ["am"]


def test_tests_due_are_the_sites_sampling_tasks_and_a_proposal_is_not_checked(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _in_room(tree, users, setup, "甲")
    rows = sel.site_health(actor=setup.staff, site=setup.site)
    due = [d for d in stay.measure.test_days if dt.date.fromisoformat(d) <= timezone.localdate()]
    assert [d.isoformat() for d in rows[0].tests_due] == due
    waiting = quarantined(tree.community_a1, name="未开始")
    with pytest.raises(Conflict):
        _record(users["district_a"], waiting, "36.5")


def test_the_person_reports_by_their_own_link_and_the_site_page_shows_it(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _in_room(tree, users, setup, "欧阳明")
    link = self_service_link_issue(actor=users["town_a1"], person=stay.person)
    secret = link.rstrip("/").rsplit("/", 1)[-1]
    public = Client()
    page = public.get(f"/hq/{secret}/")
    assert page.status_code == 200 and "欧*明" in page.content.decode()
    bad = public.post(f"/hq/{secret}/", {"temperature": "50"})
    assert bad.status_code == 422
    ok = public.post(f"/hq/{secret}/", {"temperature": "38.1", "symptoms": ["cough"]})
    assert ok.status_code == 200 and 'data-testid="done"' in ok.content.decode()
    assert HealthCheck.objects.get().via == "self"
    assert public.get("/hq/not-a-secret-at-all-000000000000/").status_code == 404
    staff = Client()
    staff.force_login(setup.staff)
    board = staff.get(f"/quarantine/sites/{setup.site.pk}/health/").content.decode()
    assert 'data-testid="flag-row"' in board and "欧*明" in board
    done = staff.post(f"/quarantine/stays/{stay.pk}/health/", {"temperature": "36.4"})
    assert done.status_code == 302


def test_the_api_records_and_lists_in_scope(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _in_room(tree, users, setup, "甲")
    staff = api_client(setup.staff)
    r = staff.post(
        "/api/v1/quarantine/health-checks",
        {"measure_id": stay.measure_id, "temperature": 36.8, "slot": "pm"},
    )
    assert r.status_code == 200, r.json()
    rows = staff.get(f"/api/v1/quarantine/sites/{setup.site.pk}/health").json()
    assert rows[0]["checks"][0]["slot"] == "pm" and rows[0]["person_name"] == "*"
    sibling = api_client(users["district_b"])
    assert sibling.get(f"/api/v1/quarantine/sites/{setup.site.pk}/health").status_code == 404
    refused = sibling.post(
        "/api/v1/quarantine/health-checks", {"measure_id": stay.measure_id, "temperature": 36.8}
    )
    assert refused.status_code == 404
