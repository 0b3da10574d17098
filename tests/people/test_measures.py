"""Control measures: dates from configuration, the state machine, one measure in force."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import AuditEvent, Institution, User
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import ControlMeasure, MeasureEvent, MeasureTest
from fangkong.people.services import measure_plans, measure_results, measures
from fangkong.people.services.measures import MeasureTransitionError
from tests.factories import make_person
from tests.factories.measures import in_force, plan, propose

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 00:30 in Shanghai is still the previous day in UTC: dates must follow local time
NOW = dt.datetime(2026, 3, 10, 0, 30, tzinfo=SHANGHAI)
TODAY = dt.date(2026, 3, 10)


def d(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def person(tree: Any) -> Any:
    return make_person(tree.grid_a1)


@pytest.fixture
def op(users: dict[str, User]) -> User:
    return users["town_a1"]


def test_active_profile_and_plan_per_generation(db: Any) -> None:
    profile = measures.active_profile()
    assert profile.key == "covid19"
    assert measures.plan_for_generation(profile=profile, generation=1).key == (
        "centralised_7_home_3"
    )
    assert measures.plan_for_generation(profile=profile, generation=3).key == "tests_3_in_3"
    assert measures.plan_for_generation(profile=profile, generation=4) is None
    assert measures.plan_for_generation(profile=profile, generation=0) is None


def test_seven_plus_three_dates(clock: Any, person: Any, tree: Any) -> None:
    m = propose(person, start=TODAY, source_type="screening", source_id="s-1")
    assert m.state == "proposed"
    assert m.kind == "centralised_quarantine"
    assert m.start_date == TODAY
    assert m.planned_end == d(9)  # ten calendar days, the last one inclusive
    assert m.phases == [
        {"kind": "centralised_quarantine", "days": 7},
        {"kind": "home_monitoring", "days": 3},
    ]
    assert m.test_days == [d(n).isoformat() for n in (0, 1, 2, 4, 6, 9)]
    assert list(m.tests.values_list("day", flat=True)) == [d(n) for n in (0, 1, 2, 4, 6, 9)]
    assert m.region == tree.grid_a1 and m.region_path == tree.grid_a1.path
    phases = measures.measure_phases(m)
    assert [(p.kind, p.start, p.end) for p in phases] == [
        ("centralised_quarantine", d(0), d(6)),
        ("home_monitoring", d(7), d(9)),
    ]
    assert measures.measure_current_phase(m, d(6)).kind == "centralised_quarantine"
    now = measures.measure_current_phase(m, d(7))
    assert now.kind == "home_monitoring" and now.day == 8
    assert measures.measure_current_phase(m, d(10)) is None
    assert [e.to_state for e in m.events.all()] == ["proposed"]
    assert AuditEvent.objects.filter(action="measure.propose", object_id=str(m.pk)).count() == 1


def test_propose_is_idempotent(clock: Any, person: Any) -> None:
    first = propose(person, start=TODAY, source_type="case_contact", source_id="case-9")
    again = propose(
        person, "home_quarantine_7", start=d(3), source_type="case_contact", source_id="case-9"
    )
    assert again.pk == first.pk
    assert again.plan.key == "centralised_7_home_3" and again.start_date == TODAY
    assert ControlMeasure.objects.count() == 1
    assert MeasureEvent.objects.count() == 1


def test_propose_concurrent_duplicate_returns_the_winner(
    clock: Any, person: Any, monkeypatch: Any
) -> None:
    winner = propose(person, start=TODAY, source_type="screening", source_id="race")
    # the other request looked before the winner committed: it saw nothing
    monkeypatch.setattr(
        measures,
        "_existing",
        lambda key, calls=[]: (
            calls.append(1) or (None if len(calls) == 1 else ControlMeasure.objects.get(**key))
        ),
    )
    with transaction.atomic():  # the caller's transaction survives the failed insert
        loser = propose(person, start=TODAY, source_type="screening", source_id="race")
        assert ControlMeasure.objects.count() == 1
    assert loser.pk == winner.pk


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["start"], True),
        (["cancel"], True),
        (["start", "extend", "extend", "release"], True),
        (["start", "convert"], True),
        (["start", "extend", "convert"], True),
        (["release"], False),
        (["extend"], False),
        (["convert"], False),
        (["start", "start"], False),
        (["start", "cancel"], False),
        (["cancel", "start"], False),
        (["start", "release", "extend"], False),
        (["start", "release", "release"], False),
        (["start", "convert", "release"], False),
    ],
)
def test_state_machine(clock: Any, person: Any, op: User, path: list[str], allowed: bool) -> None:
    m = propose(person, start=TODAY)
    steps = {
        "start": lambda m: measures.measure_start(actor=op, measure=m),
        "cancel": lambda m: measures.measure_cancel(actor=op, measure=m, reason="重复登记"),
        "extend": lambda m: measures.measure_extend(actor=op, measure=m, days=2, reason="复检"),
        "release": lambda m: measures.measure_release(actor=op, measure=m),
        "convert": lambda m: measures.measure_convert(
            actor=op, measure=m, to="case", reason="确诊"
        ),
    }
    *head, last = path
    for step in head:
        m = steps[step](m)
    if allowed:
        m = steps[last](m)
        assert m.events.count() == len(path) + 1
    else:
        before = m.state
        with pytest.raises(MeasureTransitionError) as err:
            steps[last](m)
        assert isinstance(err.value, Conflict)
        m.refresh_from_db()
        assert m.state == before


def test_database_refuses_two_measures_in_force(clock: Any, person: Any, op: User) -> None:
    m = in_force(person, op, start=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ControlMeasure.objects.create(
            person=person,
            region=m.region,
            plan=m.plan,
            kind=m.kind,
            state="extended",
            start_date=TODAY,
            planned_end=d(9),
            source_type="manual",
            source_id="bypass",
        )
    # finished measures do not count
    ControlMeasure.objects.create(
        person=person,
        region=m.region,
        plan=m.plan,
        kind=m.kind,
        state="released",
        start_date=TODAY,
        planned_end=d(9),
        source_type="manual",
        source_id="old",
    )


def test_stronger_measure_supersedes(clock: Any, person: Any, op: User) -> None:
    weak = in_force(person, op, "home_monitoring_7", start=TODAY)
    strong = in_force(person, op, "centralised_7_home_3", start=d(2))
    weak.refresh_from_db()
    assert strong.state == "in_force"
    assert weak.state == "converted" and weak.converted_to == "superseded"
    assert weak.superseded_by == strong and weak.actual_end == d(2)
    assert measures.person_under_control(person=person) == strong


def test_weaker_measure_is_cancelled(clock: Any, person: Any, op: User) -> None:
    strong = in_force(person, op, "centralised_7_home_3", start=TODAY)
    weak = in_force(person, op, "tests_3_in_3", start=d(1))
    assert weak.state == "cancelled" and f"#{strong.pk}" in weak.reason
    assert measures.person_under_control(person=person) == strong
    # in the home-monitoring phase, a new home quarantine is stronger than what applies now
    later = in_force(person, op, "home_quarantine_7", start=d(8))
    strong.refresh_from_db()
    assert later.state == "in_force" and strong.converted_to == "superseded"


def test_same_kind_ending_later_supersedes(clock: Any, person: Any, op: User) -> None:
    first = in_force(person, op, "home_quarantine_7", start=TODAY)
    same_end = in_force(person, op, "home_quarantine_7", start=TODAY)
    assert same_end.state == "cancelled"
    later = in_force(person, op, "home_quarantine_7", start=d(3))
    first.refresh_from_db()
    assert later.state == "in_force" and first.state == "converted"


def test_convert_when_the_person_becomes_a_case(clock: Any, person: Any, op: User) -> None:
    m = in_force(person, op, start=d(-3))
    m = measures.measure_convert(actor=op, measure=m, to="case", reason="核酸阳性，确诊")
    assert (m.state, m.converted_to, m.actual_end) == ("converted", "case", TODAY)
    assert measures.person_under_control(person=person) is None
    assert AuditEvent.objects.filter(action="measure.convert").count() == 1
    with pytest.raises(FieldError):
        measures.measure_convert(
            actor=op, measure=in_force(person, op, start=TODAY), to="x", reason="不明"
        )


def test_extend_moves_end_and_release_test(clock: Any, person: Any, op: User) -> None:
    m = in_force(person, op, start=TODAY)
    m = measures.measure_extend(actor=op, measure=m, days=3, reason="同住人员确诊")
    assert m.state == "extended"
    assert m.planned_end == d(12)
    assert m.phases[-1] == {"kind": "home_monitoring", "days": 6}
    assert m.test_days == [d(n).isoformat() for n in (0, 1, 2, 4, 6, 12)]
    assert list(m.tests.values_list("day", flat=True)) == [d(n) for n in (0, 1, 2, 4, 6, 12)]
    # a second extension keeps counting from the new end
    m = measures.measure_extend(actor=op, measure=m, days=2, reason="再次延长")
    assert m.planned_end == d(14) and m.test_days[-1] == d(14).isoformat()
    with pytest.raises(FieldError):
        measures.measure_extend(actor=op, measure=m, days=0, reason="无效")
    with pytest.raises(FieldError):
        measures.measure_extend(actor=op, measure=m, days=2, reason="")


def test_start_on_another_day_recomputes(clock: Any, person: Any, op: User) -> None:
    m = propose(person, "home_quarantine_7", start=TODAY)
    m = measures.measure_start(actor=op, measure=m, start=d(-1))  # arrived yesterday
    assert (m.start_date, m.planned_end) == (d(-1), d(5))
    assert m.test_days == [d(n).isoformat() for n in (-1, 2, 5)]
    assert sorted(m.tests.values_list("day", flat=True)) == [d(-1), d(2), d(5)]


def test_release_dates(clock: Any, person: Any, op: User) -> None:
    m = in_force(person, op, start=d(-10))
    with pytest.raises(FieldError):
        measures.measure_release(actor=op, measure=m, on=d(1))
    with pytest.raises(FieldError):
        measures.measure_release(actor=op, measure=m, on=d(-11))
    m = measures.measure_release(actor=op, measure=m, reason="期满解除")
    assert (m.state, m.actual_end) == ("released", TODAY)


def test_record_test_is_idempotent(clock: Any, person: Any, op: User) -> None:
    m = in_force(person, op, start=TODAY)
    t1 = measure_results.measure_record_test(measure=m, on=TODAY, result="negative")
    t2 = measure_results.measure_record_test(measure=m, on=TODAY, result="negative")
    assert t1.pk == t2.pk and t2.planned
    assert MeasureTest.objects.filter(measure=m).count() == 6
    assert AuditEvent.objects.filter(action="measure.test_result").count() == 1
    extra = measure_results.measure_record_test(measure=m, on=d(3), result="negative")
    assert not extra.planned
    with pytest.raises(FieldError):
        measure_results.measure_record_test(measure=m, on=TODAY, result="")


def test_site_assignment(clock: Any, person: Any, op: User, tree: Any) -> None:
    m = in_force(person, op, start=TODAY)
    site = Institution.objects.create(
        code="QS1", name="东街隔离酒店", kind="quarantine_site", region=tree.town_a1
    )
    elsewhere = Institution.objects.create(
        code="QS2", name="南街隔离点", kind="quarantine_site", region=tree.town_a2
    )
    m = measures.measure_assign_site(actor=op, measure=m, site_id=site.pk)
    assert m.site == site
    for bad in (elsewhere, tree.lab):
        with pytest.raises(FieldError):
            measures.measure_assign_site(actor=op, measure=m, site_id=bad.pk)


def test_roles_without_personal_data_cannot_act(clock: Any, person: Any, users: Any) -> None:
    m = propose(person, start=TODAY)
    for who in ("admin", "inspector", "lab"):
        with pytest.raises(Forbidden):
            measures.measure_start(actor=users[who], measure=m)


def test_configuration_is_for_the_command_office(db: Any, users: Any) -> None:
    with pytest.raises(Forbidden):
        measure_plans.measure_plan_save(
            actor=users["town_a1"], key="x", name="x", phases=[], test_offsets=[]
        )
    p = measure_plans.measure_plan_save(
        actor=users["city"],
        key="home_quarantine_14",
        name="居家隔离14天",
        phases=[{"kind": "home_quarantine", "days": 14}],
        test_offsets=[14, 1, 7],
    )
    assert p.test_offsets == [1, 7, 14] and p.total_days == 14
    with pytest.raises(FieldError):
        measure_plans.measure_plan_save(
            actor=users["city"],
            key="bad",
            name="bad",
            phases=[{"kind": "home_quarantine", "days": 3}],
            test_offsets=[4],
        )
    profile = measures.active_profile()
    measure_plans.disease_profile_update(
        actor=users["city"], profile=profile, changes={"generation_plans": {"1": p.key}}
    )
    assert measures.plan_for_generation(profile=profile, generation=1) == plan(p.key)
    with pytest.raises(FieldError):
        measure_plans.disease_profile_update(
            actor=users["city"], profile=profile, changes={"generation_plans": {"9": p.key}}
        )
