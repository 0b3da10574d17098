"""Every read of the screening domain; each takes the actor and returns a scoped queryset."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from fangkong.core.models import Region, RegionLevel, User
from fangkong.core.scoping import ScopedQuerySet, scope_of
from fangkong.core.selectors import under_region_code
from fangkong.screening.models import (
    AssistanceItem,
    AssistanceRequest,
    AssistanceRowError,
    ClassificationRule,
    RiskArea,
    ScreeningRecord,
    Zone,
    current_q,
)

# Lists show masks only; not even loading the ciphertext keeps it out of memory and logs.
CIPHERTEXT = ("id_number_ct", "phone_ct", "address_ct")


def risk_area_list(
    *,
    actor: User,
    at: dt.datetime | None = None,
    history: bool = False,
    level: str | None = None,
    q: str | None = None,
) -> QuerySet[RiskArea]:
    """Areas in force at `at` (default now); with `history`, every version ever recorded."""
    qs = RiskArea.objects.visible_to(actor)
    if not history:
        qs = qs.filter(current_q(at or timezone.now()))
    if level:
        qs = qs.filter(level=level)
    if q:
        text = q.strip()
        qs = qs.filter(Q(name__contains=text) | Q(division_code__startswith=text))
    return qs


def risk_area_get_qs(*, actor: User) -> QuerySet[RiskArea]:
    return RiskArea.objects.visible_to(actor).select_related("previous", "created_by")


def risk_area_versions(*, actor: User, area: RiskArea) -> list[RiskArea]:
    """The whole chain of versions an area belongs to, oldest first."""
    qs = RiskArea.objects.visible_to(actor)
    chain = [area]
    while chain[0].previous_id:
        prev = qs.filter(pk=chain[0].previous_id).first()
        if prev is None:
            break
        chain.insert(0, prev)
    nxt = qs.filter(previous=chain[-1]).first()
    while nxt is not None:
        chain.append(nxt)
        nxt = qs.filter(previous=nxt).first()
    return chain


def zone_list(
    *, actor: User, at: dt.datetime | None = None, history: bool = False, kind: str | None = None
) -> QuerySet[Zone]:
    qs = Zone.objects.visible_to(actor).select_related("region")
    if not history:
        qs = qs.filter(current_q(at or timezone.now()))
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def zone_get_qs(*, actor: User) -> QuerySet[Zone]:
    return Zone.objects.visible_to(actor).select_related("region").prefetch_related("grids")


def rule_list(*, actor: User, active_only: bool = False) -> QuerySet[ClassificationRule]:
    qs = ClassificationRule.objects.visible_to(actor).select_related("plan")
    return qs.filter(active=True) if active_only else qs


def screening_list(
    *,
    actor: User,
    status: str | None = None,
    source: str | None = None,
    region_code: str | None = None,
) -> QuerySet[ScreeningRecord]:
    qs = (
        ScreeningRecord.objects.visible_to(actor)
        .select_related("destination", "measure", "person")
        .defer(*CIPHERTEXT, *(f"person__{name}" for name in CIPHERTEXT))
    )
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    return under_region_code(
        qs, actor=actor, region_code=region_code, path_field="destination_path"
    )


def screening_get_qs(*, actor: User) -> QuerySet[ScreeningRecord]:
    return (
        ScreeningRecord.objects.visible_to(actor)
        .select_related("destination", "destination__parent", "measure", "person", "rule")
        .defer(*CIPHERTEXT)
    )


def visible_person_id(*, actor: User, person: Any) -> int | None:
    """The id of a matched person only when they live in the caller's jurisdiction.

    Records and assistance rows are matched by blind index across all jurisdictions, so the
    matched person may be registered elsewhere: their id (like their registered name) would
    tell the caller that the document exists there (issue 8). Outsiders get None.
    """
    if person is None or not scope_of(actor).covers(person.region_path):
        return None
    return int(person.pk)


def screening_by_token(*, actor: User, token: str) -> QuerySet[ScreeningRecord]:
    """The record a self-declared QR code names, if it is in the caller's jurisdiction."""
    return screening_get_qs(actor=actor).filter(token=(token or "").strip())


def screening_counts(*, actor: User, source: str | None = None) -> dict[str, int]:
    """Records per status in the caller's jurisdiction (one query)."""
    qs = ScreeningRecord.objects.visible_to(actor)
    if source:
        qs = qs.filter(source=source)
    rows = qs.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def pending_by_source(*, actor: User) -> dict[str, int]:
    qs = ScreeningRecord.objects.visible_to(actor).filter(status="pending")
    rows = qs.order_by().values("source").annotate(n=Count("id"))
    return {row["source"]: row["n"] for row in rows}


def destination_choices(*, actor: User) -> QuerySet[Region]:
    """Towns, communities and grids a staff member may file a screening record under."""
    return Region.objects.visible_to(actor).filter(level__gte=RegionLevel.TOWN)


def assistance_request_list(*, actor: User) -> QuerySet[AssistanceRequest]:
    return AssistanceRequest.objects.visible_to(actor).select_related("region", "created_by")


def assistance_item_list(
    *, actor: User, request_id: uuid.UUID | None = None, placed: bool | None = None
) -> QuerySet[AssistanceItem]:
    """Items visible to the caller: the towns see the rows assigned to them even when the
    request itself was imported above them."""
    qs = AssistanceItem.objects.visible_to(actor).select_related("region", "person", "screening")
    if request_id is not None:
        qs = qs.filter(request_id=request_id)
    if placed is not None:
        qs = qs.filter(placed=placed)
    return qs.defer(*(f"person__{name}" for name in CIPHERTEXT))


def assistance_error_list(*, actor: User, request_id: uuid.UUID) -> QuerySet[AssistanceRowError]:
    """Row errors of one request, visible exactly when the request is."""
    requests = assistance_request_list(actor=actor).filter(pk=request_id).values("pk")
    qs: ScopedQuerySet[AssistanceRowError] = ScopedQuerySet(model=AssistanceRowError).filter(
        request__in=requests
    )
    qs._scoped_for = actor.pk or 0
    return qs.order_by("row", "id")


def assistance_town_counts(*, actor: User, request_id: uuid.UUID) -> list[dict[str, Any]]:
    """How many of a request's rows went to each town (None: the importer's queue)."""
    rows = (
        AssistanceItem.objects.visible_to(actor)
        .filter(request_id=request_id)
        .order_by()
        .values("town__code", "town__name")
        .annotate(n=Count("id"))
        .order_by("town__code")
    )
    return list(rows)
