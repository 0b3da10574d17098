"""Concurrent writers on PostgreSQL: one measure per source, never two in force."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection

from fangkong.core.models import Role
from fangkong.people.measures_models import ControlMeasure
from fangkong.people.services import measures
from tests.factories import UserFactory, build_tree, make_person
from tests.factories.measures import plan, propose
from tests.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def person() -> Any:
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite cannot share a database between threads")
    return make_person(build_tree().grid_a1)


def test_concurrent_duplicate_proposals_make_one_measure(person: Any, monkeypatch: Any) -> None:
    seven_three = plan("centralised_7_home_3")
    looked = threading.Barrier(4)
    real = measures._existing

    def slow_existing(key: dict[str, Any]) -> Any:
        found = real(key)
        if found is None:
            looked.wait(timeout=10)  # every writer has seen "none yet" before anyone inserts
        return found

    monkeypatch.setattr(measures, "_existing", slow_existing)
    results, errors = together(
        4,
        lambda i: (
            measures.measure_propose(
                actor=None,
                person=person,
                plan=seven_three,
                start=TODAY,
                source_type="screening",
                source_id="same-record",
            ).pk
        ),
    )
    assert errors == []
    assert len(set(results)) == 1
    assert ControlMeasure.objects.filter(person=person).count() == 1


def test_concurrent_starts_leave_one_measure_in_force(person: Any) -> None:
    op = UserFactory(role=Role.TOWN, region=person.region.parent.parent)
    proposals = [propose(person, "home_quarantine_7", start=TODAY) for _ in range(4)]
    results, errors = together(
        4, lambda i: measures.measure_start(actor=op, measure=proposals[i]).state
    )
    assert errors == []
    assert sorted(results) == ["cancelled", "cancelled", "cancelled", "in_force"]
    assert ControlMeasure.objects.filter(person=person, state="in_force").count() == 1
