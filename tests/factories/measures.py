"""Helpers for control-measure tests: plans by key, proposed and started measures."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools

from django.apps import apps

from fangkong.core.models import User
from fangkong.people.measures_models import ControlMeasure, MeasurePlan
from fangkong.people.models import Person
from fangkong.people.services import measures

_seq = itertools.count(1)


def ensure_default_plans() -> None:
    """Re-seed the plans and profile of migration 0003.

    Tests on `transactional_db` (the browser tests) run after a flush that empties every
    table, data migrations included.
    """
    seed = importlib.import_module("fangkong.people.migrations.0003_default_measure_plans")
    seed.forwards(apps, None)


def plan(key: str) -> MeasurePlan:
    """One of the plans seeded by migration 0003 (7+3, home quarantine 7, ...)."""
    found = MeasurePlan.objects.filter(key=key).first()
    if found is None:  # a flushed database (transactional tests): seed it again
        ensure_default_plans()
        found = MeasurePlan.objects.get(key=key)
    return found


def propose(
    person: Person,
    key: str = "centralised_7_home_3",
    *,
    start: dt.date,
    source_id: str | None = None,
    source_type: str = "manual",
    actor: User | None = None,
) -> ControlMeasure:
    return measures.measure_propose(
        actor=actor,
        person=person,
        plan=plan(key),
        start=start,
        source_type=source_type,
        source_id=source_id or f"t{next(_seq)}",
    )


def in_force(
    person: Person,
    actor: User,
    key: str = "centralised_7_home_3",
    *,
    start: dt.date,
    source_id: str | None = None,
) -> ControlMeasure:
    measure = propose(person, key, start=start, source_id=source_id)
    return measures.measure_start(actor=actor, measure=measure)
