"""measure_propose_many: the single proposal's rules for a whole batch, in a fixed number of
statements, with one audit row per batch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.core.models import AuditEvent, User
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import ControlMeasure, MeasureEvent, MeasurePlan, MeasureTest
from fangkong.people.models import Person
from fangkong.people.services import measures
from fangkong.people.services.measures import Proposal, measure_propose_many
from tests.factories import Tree
from tests.factories.measures import in_force, plan, propose
from tests.factories.tracing import bulk_persons

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def clock() -> Any:
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def _items(
    persons: list[Person], key: str = "centralised_7_home_3", source_id: str = "case-1"
) -> list[Proposal]:
    chosen = plan(key)
    return [
        Proposal(
            person=p,
            plan=chosen,
            start=TODAY,
            source_type="case_contact",
            source_id=source_id,
            generation=1,
            reason="case #1 generation 1",
        )
        for p in persons
    ]


def _shape(m: ControlMeasure) -> tuple[Any, ...]:
    return (
        m.person_id,
        m.region_id,
        m.region_path,
        m.plan_id,
        m.kind,
        m.state,
        m.phases,
        m.start_date,
        m.planned_end,
        m.test_days,
        m.generation,
        m.reason,
    )


def test_a_batch_stores_what_single_proposals_store(tree: Tree, users: dict[str, User]) -> None:
    persons = bulk_persons(tree.grid_a1, 6, prefix="批量")
    actor = users["town_a1"]
    batch = measure_propose_many(actor=actor, items=_items(persons[:3]))
    singles = [
        measures.measure_propose(
            actor=actor,
            person=p,
            plan=plan("centralised_7_home_3"),
            start=TODAY,
            source_type="case_contact",
            source_id="case-1",
            generation=1,
            reason="case #1 generation 1",
        )
        for p in persons[3:]
    ]
    assert all(m.pk for m in batch)
    stored = {m.pk: m for m in ControlMeasure.objects.all()}
    for a, b in zip(batch, singles, strict=True):
        got = stored[a.pk]
        assert _shape(got)[1:] == _shape(stored[b.pk])[1:]
        assert got.person_id == a.person_id and got.state == "proposed"
        assert list(got.tests.values_list("day", flat=True)) == list(
            stored[b.pk].tests.values_list("day", flat=True)
        )
        events = list(got.events.values_list("from_state", "to_state", "actor_id", "note"))
        assert events == [("", "proposed", actor.pk, "case #1 generation 1")]
    # one audit row for the whole batch, with the counts
    rows = AuditEvent.objects.filter(action="measure.propose_many")
    assert rows.count() == 1
    details = rows.get().details
    assert details["created"] == 3 and details["existing"] == 0
    assert details["by_plan"] == {"centralised_7_home_3": 3}
    assert not AuditEvent.objects.filter(action="measure.propose", object_id=str(batch[0].pk))


def test_a_batch_is_idempotent_per_person_and_source(tree: Tree) -> None:
    persons = bulk_persons(tree.grid_a1, 5, prefix="幂等")
    earlier = propose(
        persons[0], "home_quarantine_7", start=TODAY, source_type="case_contact", source_id="case-1"
    )
    items = _items(persons) + _items(persons[1:2])  # a repeat inside the batch too
    first = measure_propose_many(actor=None, items=items)
    assert first[0].pk == earlier.pk and first[0].plan.key == "home_quarantine_7"
    assert first[1].pk == first[-1].pk
    assert len({m.pk for m in first}) == 5
    counts = (
        ControlMeasure.objects.count(),
        MeasureTest.objects.count(),
        MeasureEvent.objects.count(),
        AuditEvent.objects.count(),
    )
    with CaptureQueriesContext(connection) as ctx:
        again = measure_propose_many(actor=None, items=items)
    assert [m.pk for m in again] == [m.pk for m in first]
    assert counts == (
        ControlMeasure.objects.count(),
        MeasureTest.objects.count(),
        MeasureEvent.objects.count(),
        AuditEvent.objects.count(),
    )
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    # another source for the same persons is another proposal
    other = measure_propose_many(actor=None, items=_items(persons, source_id="case-2"))
    assert not {m.pk for m in other} & {m.pk for m in first}


def test_a_proposal_leaves_the_measure_in_force_alone(tree: Tree, users: dict[str, User]) -> None:
    person = bulk_persons(tree.grid_a1, 1, prefix="在管")[0]
    current = in_force(person, users["town_a1"], "home_monitoring_7", start=TODAY)
    [proposed] = measure_propose_many(actor=None, items=_items([person]))
    current.refresh_from_db()
    assert current.state == "in_force" and proposed.state == "proposed"
    # the one-in-force rule applies when the proposal is started: the stronger one wins
    started = measures.measure_start(actor=users["town_a1"], measure=proposed)
    current.refresh_from_db()
    assert started.state == "in_force"
    assert (current.state, current.converted_to) == ("converted", "superseded")


def test_a_plan_without_phases_writes_nothing(tree: Tree) -> None:
    persons = bulk_persons(tree.grid_a1, 2, prefix="无阶段")
    empty = MeasurePlan.objects.create(key="empty", name="空", phases=[], test_offsets=[])
    bad = Proposal(person=persons[1], plan=empty, start=TODAY, source_type="manual", source_id="x")
    items = [*_items(persons[:1]), bad]
    with pytest.raises(FieldError) as err:
        measure_propose_many(actor=None, items=items)
    assert err.value.field == "plan"
    assert not ControlMeasure.objects.exists()
    assert measure_propose_many(actor=None, items=[]) == []


def test_statements_do_not_grow_with_the_batch(tree: Tree) -> None:
    """Ten proposals or thirty: the same statements (thirty still fit one INSERT batch)."""
    small = bulk_persons(tree.grid_a1, 10, prefix="十")
    large = bulk_persons(tree.grid_a1, 30, prefix="三十")
    warm = bulk_persons(tree.grid_a1, 1, prefix="首")
    measure_propose_many(actor=None, items=_items(warm))  # the audit chain's head row exists
    few_items, many_items = _items(small), _items(large)
    with CaptureQueriesContext(connection) as few:
        measure_propose_many(actor=None, items=few_items)
    with CaptureQueriesContext(connection) as many:
        measure_propose_many(actor=None, items=many_items)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert len(many.captured_queries) <= 16, [q["sql"][:60] for q in many.captured_queries]
    assert ControlMeasure.objects.count() == 41
    assert MeasureTest.objects.count() == 41 * 6
