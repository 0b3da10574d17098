"""Concurrent batches on PostgreSQL: each (person, source) is proposed once, with one history
event and one set of test rows, whoever wins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from fangkong.core.models import AuditEvent
from fangkong.people.measures_models import ControlMeasure, MeasureEvent, MeasureTest
from fangkong.people.services import measures
from fangkong.people.services.measures import Proposal, measure_propose_many
from tests.factories import build_tree
from tests.factories.measures import plan
from tests.factories.tracing import bulk_persons
from tests.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def persons() -> Any:
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite cannot share a database between threads")
    return bulk_persons(build_tree().grid_a1, 20, prefix="并发")


def test_concurrent_batches_propose_each_person_once(persons: Any) -> None:
    seven_three = plan("centralised_7_home_3")
    items = [
        Proposal(
            person=p,
            plan=seven_three,
            start=TODAY,
            source_type="case_contact",
            source_id="case-7",
            generation=1,
        )
        for p in persons
    ]

    def work(i: int) -> Any:
        if i == 3:  # a single proposal for one of the same persons joins the race
            return [
                measures.measure_propose(
                    actor=None,
                    person=persons[5],
                    plan=seven_three,
                    start=TODAY,
                    source_type="case_contact",
                    source_id="case-7",
                ).pk
            ]
        # reversed order in one writer: the locks are taken in id order all the same
        batch = items if i % 2 else list(reversed(items))
        return sorted(m.pk for m in measure_propose_many(actor=None, items=batch))

    results, errors = together(4, work)
    assert errors == []
    stored = set(ControlMeasure.objects.values_list("pk", flat=True))
    assert len(stored) == 20
    assert all(set(r) <= stored for r in results)
    assert MeasureEvent.objects.count() == 20
    assert MeasureTest.objects.count() == 20 * 6
    batches = AuditEvent.objects.filter(action="measure.propose_many")
    singles = AuditEvent.objects.filter(action="measure.propose").count()
    assert sum(b.details["created"] for b in batches) + singles == 20
