"""Reads of recheck tasks; personal data, so only roles that work with named people see any
(a lab or sampler sees none), each within its jurisdiction by the task's grid path."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
    When,
)

from fangkong.core.models import User
from fangkong.core.scoping import ScopedQuerySet
from fangkong.masstesting.models import (
    RECHECK_OUTSTANDING,
    Campaign,
    RecheckStatus,
    RecheckTask,
    Scan,
)

STATUS_FILTERS = ("outstanding", *RecheckStatus.values)


def recheck_list(
    *,
    actor: User,
    campaign_id: int | None = None,
    status: str | None = None,
    grid_id: int | None = None,
) -> ScopedQuerySet[RecheckTask]:
    """Tasks the actor may see, by grid then person. `status="outstanding"`: open or sampled."""
    qs = RecheckTask.objects.visible_to(actor).select_related(
        "person", "region", "source_tube", "sample_tube"
    )
    qs = _filtered(qs, campaign_id=campaign_id, grid_id=grid_id)
    if status == "outstanding":
        qs = qs.filter(status__in=RECHECK_OUTSTANDING)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("region_path", "status", "person_id", "pk")


def _filtered(
    qs: ScopedQuerySet[RecheckTask], *, campaign_id: int | None, grid_id: int | None
) -> ScopedQuerySet[RecheckTask]:
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    if grid_id:
        qs = qs.filter(region_id=grid_id)
    return qs


def recheck_status_counts(
    *, actor: User, campaign_id: int | None = None, grid_id: int | None = None
) -> dict[str, int]:
    """Tasks per status in the actor's scope (one query), plus "outstanding"."""
    qs = _filtered(RecheckTask.objects.visible_to(actor), campaign_id=campaign_id, grid_id=grid_id)
    rows = qs.order_by().values("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(RecheckStatus.values, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    counts["outstanding"] = sum(counts[s] for s in RECHECK_OUTSTANDING)
    return counts


def recheck_grids(*, actor: User, campaign_id: int | None = None) -> QuerySet[Any, dict[str, Any]]:
    """(region id, name, path, outstanding) per grid that has tasks, for the grid filter."""
    qs = _filtered(RecheckTask.objects.visible_to(actor), campaign_id=campaign_id, grid_id=None)
    return (
        qs.order_by("region_path")
        .values("region_id", "region__name", "region_path")
        .annotate(n=Count("pk"))
    )


def recheck_campaigns(*, actor: User) -> ScopedQuerySet[Campaign]:
    return Campaign.objects.visible_to(actor).select_related("region")


# Where a person of a campaign stands, from their pool and (if any) their recheck task: one
# row per scan, as the campaign has one scan per person.
PERSON_STATUSES = (
    "awaiting_result",
    "negative",
    "recheck_pending",
    "positive",
    "invalid",
    "recheck_cancelled",
)


def campaign_person_status_counts(*, actor: User, campaign_id: int) -> dict[str, int]:
    """People of a campaign in the actor's scope by latest status, in one aggregate query.

    The latest result is derived, never stored: the recheck's result when it has one, else
    "recheck_pending" for a member of a positive or invalid pool, else the pool's result.
    """
    task = "tube__rechecks"
    qs = (
        Scan.objects.visible_to(actor)
        .filter(campaign_id=campaign_id)
        .annotate(task=FilteredRelation(task, condition=Q(tube__rechecks__person=F("person"))))
        .annotate(
            status=Case(
                When(task__status=RecheckStatus.CANCELLED, then=Value("recheck_cancelled")),
                When(task__status=RecheckStatus.RESULTED, then=F("task__result")),
                When(task__id__isnull=False, then=Value("recheck_pending")),
                When(tube__result="", then=Value("awaiting_result")),
                default=F("tube__result"),
                output_field=CharField(),
            )
        )
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(PERSON_STATUSES, 0)
    counts.update({r["status"]: r["n"] for r in qs})
    return counts
