"""Mass-testing API: campaigns, sampling points, tubes and the batch scan upload.

The batch endpoint parses its body by hand rather than through a Pydantic schema: 5,000
scans through model validation cost more than the database work. Overload is shed, not
queued: at most MASSTESTING_MAX_INFLIGHT_BATCHES (default 4) batches run at once in a
process; any more answer 429 with Retry-After at once, so a morning rush of uploads cannot
pile up threads and connections until the server falls over. Clients retry with the same
Idempotency-Key, which is safe.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from fangkong.core.http import actor_of, get_scoped_or_404, page_slice, scoped
from fangkong.masstesting import selectors, services
from fangkong.masstesting.ingest import MAX_SCANS, ScanIn, scan_batch_ingest
from fangkong.masstesting.models import Campaign, SamplingPoint, Tube

router = Router(tags=["masstesting"])
_INFLIGHT = threading.BoundedSemaphore(getattr(settings, "MASSTESTING_MAX_INFLIGHT_BATCHES", 4))


class ErrorOut(Schema):
    detail: str


class CampaignIn(Schema):
    name: str
    region_id: int
    pool_size: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class CampaignOut(Schema):
    id: int
    name: str
    region_id: int
    region_name: str
    pool_size: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str


class PointIn(Schema):
    name: str
    region_id: int
    institution_id: int | None = None
    grid_ids: list[int] = []
    opening_hours: str = ""
    hourly_capacity: int = 0


class PointOut(Schema):
    id: int
    campaign_id: int
    name: str
    region_id: int
    institution_id: int | None
    opening_hours: str
    hourly_capacity: int


class TubeOut(Schema):
    id: int
    campaign_id: int
    barcode: str
    point_id: int
    capacity: int
    members: int
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class CampaignPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CampaignOut]


class PointPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[PointOut]


class TubePage(Schema):
    count: int
    page: int
    page_size: int
    items: list[TubeOut]


def _campaign_out(c: Campaign) -> dict[str, Any]:
    out = {f: getattr(c, f) for f in CampaignOut.model_fields if f != "region_name"}
    return {**out, "region_name": c.region.name}


def _page(qs: Any, page: int, page_size: int, out: Any = None) -> dict[str, Any]:
    count, page, page_size, items = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "items": [out(i) for i in items] if out else list(items),
    }


@router.get("/campaigns", response=CampaignPage)
@scoped
def campaign_list(request: HttpRequest, page: int = 1, page_size: int = 50) -> Any:
    return _page(selectors.campaign_list(actor=actor_of(request)), page, page_size, _campaign_out)


@router.post("/campaigns", response={201: CampaignOut, 403: ErrorOut})
@scoped
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Any:
    actor = actor_of(request)
    region = get_scoped_or_404(selectors.region_list(actor=actor), pk=payload.region_id)
    campaign = services.campaign_create(
        actor=actor, region=region, **payload.dict(exclude={"region_id"})
    )
    return 201, _campaign_out(campaign)


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
@scoped
def campaign_get(request: HttpRequest, campaign_id: int) -> Any:
    qs = selectors.campaign_list(actor=actor_of(request))
    return _campaign_out(get_scoped_or_404(qs, pk=campaign_id))


@router.post("/campaigns/{campaign_id}/points", response={201: PointOut, 403: ErrorOut})
@scoped
def point_create(request: HttpRequest, campaign_id: int, payload: PointIn) -> Any:
    actor = actor_of(request)
    campaign = get_scoped_or_404(selectors.campaign_list(actor=actor), pk=campaign_id)
    regions = selectors.region_list(actor=actor)
    region = get_scoped_or_404(regions, pk=payload.region_id)
    institution = None
    if payload.institution_id is not None:
        institution = get_scoped_or_404(
            selectors.institution_list(actor=actor), pk=payload.institution_id
        )
    point = services.point_create(
        actor=actor,
        campaign=campaign,
        name=payload.name,
        region=region,
        institution=institution,
        grids=list(regions.filter(pk__in=payload.grid_ids)),
        opening_hours=payload.opening_hours,
        hourly_capacity=payload.hourly_capacity,
    )
    return 201, point


@router.get("/points", response=PointPage)
@scoped
def point_list(
    request: HttpRequest, campaign_id: int | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = selectors.point_list(actor=actor_of(request), campaign_id=campaign_id)
    return _page(qs, page, page_size)


@router.get("/points/{point_id}", response=PointOut)
@scoped
def point_get(request: HttpRequest, point_id: int) -> SamplingPoint:
    return get_scoped_or_404(selectors.point_list(actor=actor_of(request)), pk=point_id)


@router.get("/tubes", response=TubePage)
@scoped
def tube_list(
    request: HttpRequest, point_id: int | None = None, page: int = 1, page_size: int = 50
) -> Any:
    return _page(selectors.tube_list(actor=actor_of(request), point_id=point_id), page, page_size)


@router.get("/tubes/{tube_id}", response=TubeOut)
@scoped
def tube_get(request: HttpRequest, tube_id: int) -> Tube:
    return get_scoped_or_404(selectors.tube_list(actor=actor_of(request)), pk=tube_id)


def _parse_batch(body: bytes) -> tuple[int, list[ScanIn]]:
    try:
        data = json.loads(body)
        point_id = int(data["point_id"])
        raw = data["scans"]
        if not isinstance(raw, list):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise HttpError(422, _("The body must be {point_id, scans: [...]}")) from exc
    if len(raw) > MAX_SCANS:
        raise HttpError(422, _("At most %(n)d scans per batch") % {"n": MAX_SCANS})
    scans = []
    for item in raw:
        item = item if isinstance(item, dict) else {}
        at = item.get("scanned_at")
        scans.append(
            ScanIn(
                barcode=str(item.get("barcode") or ""),
                token=str(item.get("token") or ""),
                scanned_at=parse_datetime(at) if isinstance(at, str) else None,
                action=str(item.get("action") or "add"),
            )
        )
    return point_id, scans


@router.post("/scans/batch", response={200: dict[str, Any], 409: ErrorOut, 429: ErrorOut})
@scoped
def scan_batch(request: HttpRequest) -> Any:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        raise HttpError(422, _("The Idempotency-Key header is required (at most 128 characters)"))
    point_id, scans = _parse_batch(request.body)
    actor = actor_of(request)
    point = get_scoped_or_404(selectors.point_list(actor=actor), pk=point_id)
    if not _INFLIGHT.acquire(blocking=False):
        busy = JsonResponse(
            {"detail": _("Too many uploads in progress; retry shortly")}, status=429
        )
        busy["Retry-After"] = "2"
        return busy
    try:
        result = scan_batch_ingest(actor=actor, point=point, idempotency_key=key, scans=scans)
    finally:
        _INFLIGHT.release()
    return {
        "batch_id": result.batch_id,
        "replayed": result.replayed,
        "counts": result.counts,
        "results": result.per_scan(),
    }
