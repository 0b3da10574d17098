"""Reads of control-measure configuration and dates: the active disease profile, the plan per
contact generation, and a measure's phases on the calendar. No writes; `measures` re-exports
these for its callers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from fangkong.people.measures_models import (
    IN_FORCE_STATES,
    ControlMeasure,
    DiseaseProfile,
    MeasurePlan,
)
from fangkong.people.models import Person

# --- configuration -------------------------------------------------------------------------


def active_profile() -> DiseaseProfile:
    profile = DiseaseProfile.objects.filter(active=True).first()
    if profile is None:
        raise LookupError("no active disease profile; activate one in the configuration")
    return profile


def plan_for_generation(*, profile: DiseaseProfile, generation: int) -> MeasurePlan | None:
    """The plan configured for contacts of this generation, or None past the maximum."""
    if generation < 1 or generation > profile.max_generation:
        return None
    key = (profile.generation_plans or {}).get(str(generation))
    if not key:
        return None
    return MeasurePlan.objects.filter(key=key, active=True).first()


# --- derived dates -------------------------------------------------------------------------


def total_days(phases: list[dict[str, Any]]) -> int:
    return sum(int(p["days"]) for p in phases)


def planned_end_for(start: dt.date, phases: list[dict[str, Any]]) -> dt.date:
    return start + dt.timedelta(days=max(total_days(phases), 1) - 1)


def test_days_for(start: dt.date, offsets: list[int], end: dt.date) -> list[dt.date]:
    days = {start + dt.timedelta(days=int(n) - 1) for n in offsets if int(n) >= 1}
    return sorted(d for d in days if d <= end)


@dataclass(frozen=True)
class PhaseOn:
    index: int
    kind: str
    start: dt.date
    end: dt.date
    day: int  # day number within the whole measure, from 1


def measure_phases(measure: ControlMeasure) -> list[PhaseOn]:
    """Every phase with its calendar dates (`day` is the phase's first day number)."""
    out, cursor, day = [], measure.start_date, 1
    for i, phase in enumerate(measure.phases):
        days = int(phase["days"])
        end = cursor + dt.timedelta(days=days - 1)
        out.append(PhaseOn(index=i, kind=phase["kind"], start=cursor, end=end, day=day))
        cursor, day = end + dt.timedelta(days=1), day + days
    return out


def measure_current_phase(measure: ControlMeasure, today: dt.date | None = None) -> PhaseOn | None:
    """The phase `today` falls in (None before the start or after the planned end)."""
    today = today or timezone.localdate()
    for phase in measure_phases(measure):
        if phase.start <= today <= phase.end:
            day = (today - measure.start_date).days + 1
            return PhaseOn(phase.index, phase.kind, phase.start, phase.end, day)
    return None


def kind_on(measure: ControlMeasure, day: dt.date) -> str:
    phase = measure_current_phase(measure, day)
    if phase is not None:
        return phase.kind
    return measure.phases[-1]["kind"] if day > measure.planned_end else measure.kind


def person_under_control(*, person: Person) -> ControlMeasure | None:
    return (
        ControlMeasure.objects.filter(person=person, state__in=IN_FORCE_STATES)
        .select_related("plan")
        .first()
    )
