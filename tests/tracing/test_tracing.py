"""Cases, generations and investigations through the services (the issue's must-show).

The scenario: a case with 20 close contacts, each with 5 contacts, each with 3, gives
generations 1/2/3 of 20/100/300 persons, each with the measure the active profile configures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.core.models import AuditEvent, User
from fangkong.core.validators import FieldError
from fangkong.people.models import ControlMeasure, MeasureEvent, MeasurePlan
from fangkong.people.services.measures import active_profile, measure_propose, measure_start
from fangkong.tracing import selectors
from fangkong.tracing.models import Case, CaseContact, Exposure, Investigation
from fangkong.tracing.services.cases import (
    case_create,
    case_update,
    contact_set_trace,
    investigation_close,
    investigation_mark_traced,
)
from fangkong.tracing.services.generations import case_compute_generations
from tests.factories import Tree
from tests.factories.tracing import Scenario, build_scenario, bulk_persons, confirmed_case, link

pytestmark = pytest.mark.django_db

IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    }
}


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def tracer(users: dict[str, User]) -> User:
    return users["town_a1"]


@pytest.fixture
def scenario(tree: Tree) -> Scenario:
    return build_scenario(tree.grid_a1)


@pytest.fixture
def small(tree: Tree) -> Scenario:
    """4 close contacts, 3 each, 2 each: 4/12/24, for the rules that need no volume."""
    return build_scenario(tree.grid_a1, fanout=(4, 3, 2))


def _confirm(tracer: User, person: Any, capture: Any) -> Case:
    with capture(execute=True):
        return confirmed_case(actor=tracer, person=person)


def _snapshot(case: Case) -> dict[int, tuple[int, int | None, Any, Any]]:
    return {
        row.person_id: (row.generation, row.parent_id, row.measure_id, row.updated_at)
        for row in CaseContact.objects.filter(case=case)
    }


def _contact_measures() -> Any:
    return ControlMeasure.objects.filter(source_type="case_contact")


def test_scenario_20_100_300_with_the_configured_measures(
    tracer: User, scenario: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    case = _confirm(tracer, scenario.root, django_capture_on_commit_callbacks)
    counts = selectors.generation_counts(actor=tracer, case=case)
    assert counts == {1: 20, 2: 100, 3: 300}
    profile = active_profile()
    plans = {int(g): key for g, key in profile.generation_plans.items()}
    rows = CaseContact.objects.filter(case=case).select_related("measure__plan")
    assert rows.count() == 420
    for row in rows:
        assert row.measure is not None
        assert row.measure.plan.key == plans[row.generation]
        assert row.measure.generation == row.generation
        assert row.measure.state == "proposed"
        assert row.measure.person_id == row.person_id
    assert _contact_measures().count() == 420
    assert _contact_measures().filter(source_id=str(case.pk)).count() == 420
    by_person = {p.pk: g for g, level in enumerate(scenario.levels, start=1) for p in level}
    assert {r.person_id: r.generation for r in rows} == by_person
    # the path parent of each contact is the person who exposed them
    parents = {e.person_b_id: e.person_a_id for e in Exposure.objects.all()}
    assert all(r.parent_id == parents[r.person_id] for r in rows)
    assert Case.objects.get(pk=case.pk).generations_at is not None


def test_running_again_changes_nothing(
    tracer: User, scenario: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    case = _confirm(tracer, scenario.root, django_capture_on_commit_callbacks)
    before = _snapshot(case)
    measures = list(_contact_measures().order_by("pk").values_list("pk", "updated_at"))
    events, audits = MeasureEvent.objects.count(), AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        result = case_compute_generations(actor=tracer, case=case)
    assert (result.created, result.updated, result.removed, result.proposed) == (0, 0, 0, 0)
    assert result.by_generation == {1: 20, 2: 100, 3: 300}
    assert _snapshot(case) == before
    assert list(_contact_measures().order_by("pk").values_list("pk", "updated_at")) == measures
    assert MeasureEvent.objects.count() == events
    assert AuditEvent.objects.count() == audits
    # a handful of queries whatever the size: one per level for edges and for cases
    exposure_reads = [q for q in ctx.captured_queries if "tracing_exposure" in q["sql"]]
    assert len(exposure_reads) == 3
    assert len(ctx.captured_queries) <= 14, [q["sql"][:80] for q in ctx.captured_queries]

    # from scratch (rows gone, measures kept): the traversal stays well under a second
    CaseContact.objects.filter(case=case).delete()
    with CaptureQueriesContext(connection) as ctx:
        result = case_compute_generations(actor=tracer, case=case)
    assert result.created == 420
    traversal = [
        q
        for q in ctx.captured_queries
        if "tracing_exposure" in q["sql"] or 'FROM "tracing_case"' in q["sql"]
    ]
    assert len(traversal) <= 8
    assert sum(float(q["time"]) for q in traversal) < 0.5
    assert _contact_measures().count() == 420  # idempotent proposals: no second measure


def test_two_paths_keep_one_person_with_the_lower_generation(
    tracer: User, small: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    today = timezone.localdate()
    g1a, g1b = small.levels[0][0], small.levels[0][1]
    g3 = small.levels[2][-1]  # reached through the last close contact -> its g2 -> here
    # this person touches two close contacts and a third-generation one
    both = bulk_persons(tracer.region, 1, prefix="两路径")[0]
    Exposure.objects.bulk_create(
        [link(g1a, both, day=today), link(g1b, both, day=today, context="workplace")]
    )
    Exposure.objects.bulk_create([link(g3, both, day=today, context="venue")])
    case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
    rows = CaseContact.objects.filter(case=case, person=both)
    assert rows.count() == 1
    assert rows.get().generation == 2
    assert rows.get().parent_id == min(g1a.pk, g1b.pk)
    assert _contact_measures().filter(person=both).count() == 1

    # a new exposure brings a third-generation person straight to the case's close contact
    Exposure.objects.bulk_create([link(g1a, g3, day=today)])
    before = _snapshot(case)
    result = case_compute_generations(actor=tracer, case=case)
    assert (result.created, result.updated, result.removed) == (0, 1, 0)
    moved = CaseContact.objects.get(case=case, person=g3)
    assert (moved.generation, moved.parent_id) == (2, g1a.pk)
    # the stronger plan of the nearer generation is proposed; the old proposal stays
    plans = active_profile().generation_plans
    assert moved.measure is not None and moved.measure.plan.key == plans["2"]
    assert moved.measure.source_id == f"{case.pk}:g2"
    assert _contact_measures().filter(person=g3).count() == 2
    after = _snapshot(case)
    assert {k: v for k, v in after.items() if k != g3.pk} == {
        k: v for k, v in before.items() if k != g3.pk
    }


def test_new_exposures_add_only_what_is_new(
    tracer: User, small: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
    before = _snapshot(case)
    newcomer = bulk_persons(tracer.region, 1, prefix="新密接")[0]
    Exposure.objects.bulk_create([link(small.root, newcomer, day=timezone.localdate())])
    result = case_compute_generations(actor=tracer, case=case)
    assert (result.created, result.updated, result.removed, result.proposed) == (1, 0, 0, 1)
    after = _snapshot(case)
    assert after.pop(newcomer.pk)[0] == 1
    assert after == before


def test_persons_who_are_cases_are_no_contacts(
    tracer: User, small: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
    close = small.levels[0][0]
    second = _confirm(tracer, close, django_capture_on_commit_callbacks)
    # the new case is nobody's contact any more, and has its own 5 + 15 contacts
    assert not CaseContact.objects.filter(person=close).exists()
    assert selectors.generation_counts(actor=tracer, case=second) == {1: 3, 2: 6}
    result = case_compute_generations(actor=tracer, case=case)
    # the first case no longer reaches through the second: its 3 + 6 are gone from it
    assert result.removed == 9
    assert result.by_generation == {1: 3, 2: 9, 3: 18}


def test_exposures_before_the_look_back_window_do_not_count(
    tree: Tree, tracer: User, django_capture_on_commit_callbacks: Any
) -> None:
    today = timezone.localdate()
    root, recent, old = bulk_persons(tree.grid_a1, 3, prefix="窗口")
    lookback = active_profile().lookback_days
    onset = today - dt.timedelta(days=1)
    Exposure.objects.bulk_create(
        [
            link(root, recent, day=onset - dt.timedelta(days=lookback)),
            link(root, old, day=onset - dt.timedelta(days=lookback + 1)),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = confirmed_case(actor=tracer, person=root, onset=onset)
    assert set(CaseContact.objects.filter(case=case).values_list("person_id", flat=True)) == {
        recent.pk
    }


def test_max_generation_is_configuration(
    tracer: User, small: Scenario, django_capture_on_commit_callbacks: Any
) -> None:
    profile = active_profile()
    profile.max_generation = 2
    profile.save()
    case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
    assert selectors.generation_counts(actor=tracer, case=case) == {1: 4, 2: 12}


def test_creating_a_case_converts_the_measure_in_force(tree: Tree, tracer: User) -> None:
    person = bulk_persons(tree.grid_a1, 1, prefix="在管")[0]
    plan = MeasurePlan.objects.get(key="home_quarantine_7")
    measure = measure_propose(
        actor=tracer,
        person=person,
        plan=plan,
        start=timezone.localdate(),
        source_type="manual",
        source_id="t1",
    )
    measure_start(actor=tracer, measure=measure)
    case = case_create(
        actor=tracer,
        person=person,
        kind="asymptomatic",
        report_date=timezone.localdate(),
        sampling_date=timezone.localdate(),
        source="screening",
    )
    measure.refresh_from_db()
    assert (measure.state, measure.converted_to) == ("converted", "case")
    assert case.region_id == person.region_id and case.status == "reported"
    assert not CaseContact.objects.exists()  # only confirming computes generations


def test_case_rules(tree: Tree, tracer: User) -> None:
    person = bulk_persons(tree.grid_a1, 1, prefix="规则")[0]
    today = timezone.localdate()
    with pytest.raises(FieldError) as err:
        case_create(
            actor=tracer,
            person=person,
            kind="asymptomatic",
            report_date=today,
            onset_date=today,
            source="local",
        )
    assert err.value.field == "onset_date"
    with pytest.raises(FieldError) as err:
        case_create(
            actor=tracer,
            person=person,
            kind="confirmed",
            report_date=today,
            onset_date=today + dt.timedelta(days=1),
            source="local",
        )
    assert err.value.field == "onset_date"
    case = case_create(
        actor=tracer, person=person, kind="confirmed", report_date=today, source="imported"
    )
    inv = Investigation.objects.get(case=case)
    assert inv.deadline - inv.opened_at == dt.timedelta(hours=24)
    from fangkong.core.http import Conflict

    with pytest.raises(Conflict):
        case_update(actor=tracer, case=case, changes={"status": "recovered"})
    case_update(actor=tracer, case=case, changes={"status": "ruled_out"})
    # a ruled-out report does not block registering the person again
    case_create(actor=tracer, person=person, kind="confirmed", report_date=today, source="local")


# --- investigations and the overdue rule ---------------------------------------------------


def _overdue_ids(actor: User) -> set[int]:
    return set(
        selectors.investigation_list(actor=actor, overdue=True).values_list("case_id", flat=True)
    )


def test_untraced_investigation_is_overdue_after_24_hours(
    tree: Tree, tracer: User, django_capture_on_commit_callbacks: Any
) -> None:
    opened = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(opened, tick=False):
        small = build_scenario(tree.grid_a1, fanout=(2, 2))
        case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
        idle = confirmed_case(actor=tracer, person=bulk_persons(tree.grid_a1, 1, prefix="无")[0])
        assert _overdue_ids(tracer) == set()
    with time_machine.travel(opened + dt.timedelta(hours=23, minutes=59), tick=False):
        assert _overdue_ids(tracer) == set()
    with time_machine.travel(opened + dt.timedelta(hours=24, minutes=1), tick=False):
        # proposals are not tracing: nobody has been put under control yet
        assert _overdue_ids(tracer) == {case.pk, idle.pk}
        listed = selectors.case_list(actor=tracer, overdue=True)
        assert set(listed.values_list("pk", flat=True)) == {case.pk, idle.pk}
        contacts = list(CaseContact.objects.filter(case=case, generation__lte=2))
        assert len(contacts) == 6
        for contact in contacts[:-1]:
            assert contact.measure is not None
            measure_start(actor=tracer, measure=contact.measure)
        assert case.pk in _overdue_ids(tracer)  # one close/secondary contact is still open
        contact_set_trace(actor=tracer, contact=contacts[-1], status="unreachable", note="电话停机")
        # traced, but the investigator has not said so yet
        assert case.pk in _overdue_ids(tracer)
        investigation_mark_traced(actor=tracer, investigation=case.investigation)
        assert _overdue_ids(tracer) == {idle.pk}
        investigation_mark_traced(actor=tracer, investigation=idle.investigation)
        investigation_close(actor=tracer, investigation=idle.investigation)
        assert _overdue_ids(tracer) == set()


def test_marking_traced_refuses_while_contacts_are_open(
    tree: Tree, tracer: User, django_capture_on_commit_callbacks: Any
) -> None:
    from fangkong.core.http import Conflict

    small = build_scenario(tree.grid_a1, fanout=(2,))
    case = _confirm(tracer, small.root, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as err:
        investigation_mark_traced(actor=tracer, investigation=case.investigation)
    assert err.value.extra["untraced"] == 2
    with pytest.raises(Conflict):
        investigation_close(actor=tracer, investigation=case.investigation)
    # a contact already under another measure in force counts as traced
    for person in small.levels[0]:
        other = measure_propose(
            actor=tracer,
            person=person,
            plan=MeasurePlan.objects.get(key="centralised_7_home_3"),
            start=timezone.localdate(),
            source_type="screening",
            source_id=f"s{person.pk}",
        )
        measure_start(actor=tracer, measure=other)
    investigation_close(actor=tracer, investigation=case.investigation, notes="完成")
    inv = Investigation.objects.get(pk=case.investigation.pk)
    assert inv.closed_at is not None and inv.contacts_traced_at is not None
