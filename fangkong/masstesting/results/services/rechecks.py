"""Writes on recheck tasks: the single-tube resample of a person of a positive or invalid pool,
and its cancellation. The tasks themselves are created by resolve.py when a pool results."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import (
    RecheckStatus,
    RecheckTask,
    SamplingPoint,
    Tube,
    TubeKind,
    TubeStatus,
)

MAX_BARCODE = 64
MAX_REASON = 255


def _serving_point(task: RecheckTask) -> SamplingPoint:
    """The campaign's point serving the person's grid, else the point of the pool."""
    point = (
        SamplingPoint.objects.filter(campaign_id=task.campaign_id, grids=task.region_id)
        .order_by("pk")
        .first()
    )
    return point or task.source_tube.point


def _require_sampler_of(actor: User, task: RecheckTask, point: SamplingPoint) -> None:
    authorize(actor, "recheck.sample", region=task.region_path, institution=point.institution_id)


def _locked(task: RecheckTask) -> RecheckTask:
    return (
        RecheckTask.objects.select_for_update(of=("self",))
        .select_related("source_tube__point")
        .get(pk=task.pk)
    )


@transaction.atomic
def recheck_sample(*, actor: User, task: RecheckTask, barcode: str) -> RecheckTask:
    """Record the single-tube resample: a closed 1-in-1 recheck tube linked to the task.

    An open task only (a fresh one, or one whose previous single tube was invalid).
    """
    barcode = (barcode or "").strip()
    if not barcode or len(barcode) > MAX_BARCODE:
        raise FieldError("barcode", _("A tube barcode of at most 64 characters is required"))
    task = _locked(task)
    point = _serving_point(task)
    _require_sampler_of(actor, task, point)
    if task.status != RecheckStatus.OPEN:
        raise Conflict(
            _("This recheck is %(status)s, not awaiting resampling")
            % {"status": RecheckStatus(task.status).label}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            tube = Tube.objects.create(
                campaign_id=task.campaign_id,
                barcode=barcode,
                point=point,
                capacity=1,
                members=1,
                status=TubeStatus.CLOSED,
                opened_at=now,
                closed_at=now,
                kind=TubeKind.RECHECK,
            )
    except IntegrityError:
        raise FieldError("barcode", _("This barcode is already used in the campaign")) from None
    previous = task.sample_tube_id
    task.sample_tube, task.sampled_at, task.status = tube, now, RecheckStatus.SAMPLED
    task.result, task.resulted_at = "", None
    task.save(update_fields=["sample_tube", "sampled_at", "status", "result", "resulted_at"])
    audit_record(
        actor=actor,
        action="recheck.sample",
        object_type="recheck",
        object_id=task.pk,
        details={"tube": tube.pk, "point": point.pk, "previous_tube": previous},
    )
    return task


@transaction.atomic
def recheck_cancel(*, actor: User, task: RecheckTask, reason: str) -> RecheckTask:
    """Drop a recheck that cannot be done here (moved away, died, tested elsewhere)."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("Give the reason for cancelling"))
    if len(reason) > MAX_REASON:
        raise FieldError("reason", _("At most 255 characters"))
    task = _locked(task)
    authorize(actor, "recheck.cancel", region=task.region_path)
    # Once resampled, the tube is on its way to the lab and its result must land on the task.
    if task.status != RecheckStatus.OPEN:
        raise Conflict(
            _("This recheck is %(status)s and can no longer be cancelled")
            % {"status": RecheckStatus(task.status).label}
        )
    previous = task.status
    task.status = RecheckStatus.CANCELLED
    task.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="recheck.cancel",
        object_type="recheck",
        object_id=task.pk,
        reason=reason,
        details={"from": previous},
    )
    return task
