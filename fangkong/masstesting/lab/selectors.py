"""Reads of transport and lab, every one scoped to the actor.

Tubes and boxes are visible to the sampling point's institution and to the lab they were
handed to (their scope_institution_field names both), and to the regions above the point.
"""

from __future__ import annotations

from fangkong.core.models import Institution, InstitutionKind, User
from fangkong.core.scoping import ScopedQuerySet, unscoped
from fangkong.masstesting.models import (
    BoxStatus,
    ResultBatch,
    SamplingPoint,
    TransferBox,
    Tube,
    TubeStatus,
)


def box_list(
    *, actor: User, status: str | None = None, point_id: int | None = None
) -> ScopedQuerySet[TransferBox]:
    qs = TransferBox.objects.select_related("point", "lab").visible_to(actor)
    if status in BoxStatus.values:
        qs = qs.filter(status=status)
    return qs.filter(point_id=point_id) if point_id else qs


def lab_tube_list(
    *,
    actor: User,
    status: str | None = None,
    result: str | None = None,
    awaiting_result: bool = False,
) -> ScopedQuerySet[Tube]:
    """Tubes handed over to a lab (a lab user: only its own), newest receipt first."""
    qs = Tube.objects.select_related("box").visible_to(actor).filter(lab__isnull=False)
    if status in TubeStatus.values:
        qs = qs.filter(status=status)
    if result is not None:
        qs = qs.filter(result=result)
    if awaiting_result:
        qs = qs.filter(result="", received_at__isnull=False)
    return qs.order_by("-received_at", "-id")


def packable_tubes(*, actor: User, point_id: int) -> ScopedQuerySet[Tube]:
    """Closed tubes of a point not yet in a box: what can be packed."""
    qs = Tube.objects.visible_to(actor).filter(point_id=point_id)
    return qs.filter(status=TubeStatus.CLOSED, box__isnull=True).order_by("closed_at", "id")


def result_batch_list(*, actor: User) -> ScopedQuerySet[ResultBatch]:
    qs = ResultBatch.objects.select_related("lab", "uploaded_by").visible_to(actor)
    return qs.order_by("-received_at", "-id")


def transport_points(*, actor: User) -> ScopedQuerySet[SamplingPoint]:
    return SamplingPoint.objects.select_related("campaign", "region").visible_to(actor)


def lab_choices(*, point: SamplingPoint, lab_id: int | None = None) -> list[Institution]:
    """Labs a box from `point` may go to (or the one of them with `lab_id`): the testing
    laboratories of the campaign's city.

    A lab directory, not data of the actor's jurisdiction (a district's boxes go to a city
    lab): the caller has already read `point` through a scoped selector."""
    city = point.campaign.region.path.split("/", 1)[0] + "/"
    qs = Institution.objects.filter(kind=InstitutionKind.LAB, region__path__startswith=city)
    if lab_id is not None:
        qs = qs.filter(pk=lab_id)
    with unscoped("the lab directory of the campaign's city, for a point read in scope"):
        return list(qs.order_by("name"))
