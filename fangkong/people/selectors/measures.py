"""Every read of control measures; each takes the actor and returns a scoped queryset.

"Overdue" is derived in SQL from the data and today's date at query time, never stored, so
it cannot go stale when a scheduler does not run:

- release overdue: still in force after its planned end (the last day under control);
- test overdue: still in force, with a scheduled test day before today and no result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from fangkong.core import selectors as core_selectors
from fangkong.core.models import Region, User
from fangkong.core.scoping import scope_of
from fangkong.people.measures_models import (
    IN_FORCE_STATES,
    ControlMeasure,
    DiseaseProfile,
    MeasureEvent,
    MeasureKind,
    MeasurePlan,
    MeasureTest,
)

OVERDUE_CHOICES = ("any", "release", "test")


def release_overdue_q(today: dt.date) -> Q:
    return Q(state__in=IN_FORCE_STATES, planned_end__lt=today)


def test_overdue_q(today: dt.date) -> Q:
    missed = MeasureTest.objects.filter(measure=OuterRef("pk"), day__lt=today, result="")
    return Q(state__in=IN_FORCE_STATES) & Q(Exists(missed))


def with_overdue(qs: QuerySet[ControlMeasure], today: dt.date) -> QuerySet[ControlMeasure]:
    return qs.annotate(
        release_overdue=Case(
            When(release_overdue_q(today), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        test_overdue=Case(
            When(test_overdue_q(today), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def measure_list(
    *,
    actor: User,
    state: str | None = None,
    kind: str | None = None,
    region_code: str | None = None,
    overdue: bool | str | None = None,
    person_id: int | None = None,
    today: dt.date | None = None,
) -> QuerySet[ControlMeasure]:
    """Measures the actor may see, newest first, annotated with the two overdue flags.

    `state="active"` means in force or extended; `overdue` is True / "any", "release" or
    "test".
    """
    today = today or timezone.localdate()
    qs: QuerySet[ControlMeasure] = ControlMeasure.objects.visible_to(actor)
    qs = with_overdue(qs.select_related("person", "region", "plan"), today)
    if state == "active":
        qs = qs.filter(state__in=IN_FORCE_STATES)
    elif state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if region_code:
        qs = core_selectors.under_region_code(qs, actor=actor, region_code=region_code)
    if person_id:
        qs = qs.filter(person_id=person_id)
    if overdue in (True, "any"):
        qs = qs.filter(release_overdue_q(today) | test_overdue_q(today))
    elif overdue == "release":
        qs = qs.filter(release_overdue_q(today))
    elif overdue == "test":
        qs = qs.filter(test_overdue_q(today))
    return qs


def measure_get_qs(*, actor: User) -> QuerySet[ControlMeasure]:
    """For one measure's page: the same scope, with what the detail shows."""
    qs = ControlMeasure.objects.visible_to(actor).select_related(
        "person", "region", "plan", "site", "superseded_by"
    )
    return with_overdue(qs, timezone.localdate())


def measure_events(*, measure: ControlMeasure) -> QuerySet[MeasureEvent]:
    """History of a measure the caller already obtained through a scoped selector."""
    return measure.events.select_related("actor")


def measure_tests(*, measure: ControlMeasure) -> QuerySet[MeasureTest]:
    return measure.tests.all()


def measure_counts(*, actor: User, today: dt.date | None = None) -> dict[str, Any]:
    """Counts for the page and the dashboard: kind × state, per child region, and totals
    of measures in force and overdue ({"in_force", "release", "test", "any"}).

    A fixed number of queries whatever the data: one GROUP BY over kind and state, the
    child regions, and one conditional aggregate with a column per child region.
    """
    today = today or timezone.localdate()
    qs = ControlMeasure.objects.visible_to(actor)
    by_kind: dict[str, dict[str, int]] = {k: {} for k in MeasureKind.values}
    for row in qs.values("kind", "state").annotate(n=Count("id")).order_by():
        by_kind.setdefault(row["kind"], {})[row["state"]] = row["n"]
    by_region, totals = _counts_by_region(actor, qs, today)
    return {"by_kind_state": by_kind, "by_region": by_region, "totals": totals}


def _child_regions(actor: User) -> list[Region]:
    """The regions one level below the actor's home (cities for a system-wide scope)."""
    home = scope_of(actor).region_path
    if home is None:
        return []
    qs = core_selectors.region_list(actor=actor).order_by("code")
    return list(qs.filter(parent__isnull=True) if home == "" else qs.filter(parent__path=home))


def _counts_by_region(
    actor: User, qs: QuerySet[ControlMeasure], today: dt.date
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    children = _child_regions(actor)
    active = qs.filter(state__in=IN_FORCE_STATES)
    late_release, late_test = release_overdue_q(today), test_overdue_q(today)
    aggregates: dict[str, Any] = {
        "in_force": Count("id"),
        "release": Count("id", filter=late_release),
        "test": Count("id", filter=late_test),
        "any": Count("id", filter=late_release | late_test),
    }
    for i, region in enumerate(children):
        inside = Q(region_path__startswith=region.path)
        aggregates[f"a{i}"] = Count("id", filter=inside)
        aggregates[f"o{i}"] = Count("id", filter=inside & (late_release | late_test))
    totals = active.aggregate(**aggregates)
    rows = [
        {
            "code": region.code,
            "name": region.name,
            "in_force": totals[f"a{i}"] or 0,
            "overdue": totals[f"o{i}"] or 0,
        }
        for i, region in enumerate(children)
    ]
    return rows, {k: totals[k] or 0 for k in ("in_force", "release", "test", "any")}


def plan_list(*, actor: User) -> QuerySet[MeasurePlan]:
    """Plans are configuration, not personal data: every signed-in user may read them."""
    return MeasurePlan.objects.all()


def profile_active(*, actor: User) -> DiseaseProfile | None:
    return DiseaseProfile.objects.filter(active=True).first()
