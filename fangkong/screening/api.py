"""Screening API: risk areas, zones and screening records.

Assistance requests (api_assistance.py) and the rule table (api_rules.py) are mounted below
this router.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from fangkong.core.api import FileJobOut, file_job_out
from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_slice,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.validators import FieldError
from fangkong.screening import selectors
from fangkong.screening.api_assistance import router as assistance_router
from fangkong.screening.api_rules import router as rules_router
from fangkong.screening.models import RiskArea, ScreeningRecord, Zone
from fangkong.screening.services import areas
from fangkong.screening.services import arrivals as services

router = Router(tags=["screening"])
router.add_router("/assistance-requests", assistance_router)
router.add_router("/rules", rules_router)


# ---------------------------------------------------------------- risk areas


class RiskAreaOut(Schema):
    id: int
    division_code: str
    name: str
    level: str
    kind: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    source: str
    previous_id: int | None
    in_force: bool


class RiskAreaPage(Page):
    items: list[RiskAreaOut]
    results: list[RiskAreaOut] = RESULTS_ALIAS


class RiskAreaIn(Schema):
    division_code: str = ""
    name: str = ""
    level: str
    kind: str = "area"
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    source: str = ""


class CloseIn(Schema):
    at: dt.datetime | None = None


def area_out(a: RiskArea) -> dict[str, Any]:
    return {
        "id": a.pk,
        "division_code": a.division_code,
        "name": a.name,
        "level": a.level,
        "kind": a.kind,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "source": a.source,
        "previous_id": a.previous_id,
        "in_force": a.is_current(),
    }


def _area_data(payload: RiskAreaIn) -> areas.AreaData:
    return areas.risk_area_validate(
        name=payload.name,
        division_code=payload.division_code,
        level=payload.level,
        kind=payload.kind,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        source=payload.source,
    )


@router.get("/risk-areas", response=RiskAreaPage)
@scoped
def risk_area_list(
    request: HttpRequest,
    at: dt.datetime | None = None,
    history: bool = False,
    level: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    """Risk areas in force at `at` (default now); `history=true` lists every version."""
    qs = selectors.risk_area_list(actor=actor_of(request), at=at, history=history, level=level, q=q)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size, max_size=1000)
    return {"count": count, "page": page, "page_size": size, "results": [area_out(a) for a in rows]}


@router.post("/risk-areas", response={201: RiskAreaOut, 403: ErrorOut})
@scoped
def risk_area_create(request: HttpRequest, payload: RiskAreaIn) -> Any:
    area = areas.risk_area_create(actor=actor_of(request), data=_area_data(payload))
    return 201, area_out(area)


@router.get("/risk-areas/{int:area_id}", response=RiskAreaOut)
@scoped
def risk_area_get(request: HttpRequest, area_id: int) -> Any:
    return area_out(
        get_scoped_or_404(selectors.risk_area_get_qs(actor=actor_of(request)), pk=area_id)
    )


@router.post("/risk-areas/{int:area_id}/revise", response={201: RiskAreaOut, 403: ErrorOut})
@scoped
def risk_area_revise(request: HttpRequest, area_id: int, payload: RiskAreaIn) -> Any:
    """Close this version where the revision starts and open the revised one."""
    actor = actor_of(request)
    area = get_scoped_or_404(selectors.risk_area_get_qs(actor=actor), pk=area_id)
    if payload.valid_from is None:
        payload.valid_from = dt.datetime.now(tz=dt.UTC)
    new = areas.risk_area_revise(actor=actor, area=area, data=_area_data(payload))
    return 201, area_out(new)


@router.post("/risk-areas/{int:area_id}/close", response={200: RiskAreaOut, 403: ErrorOut})
@scoped
def risk_area_close(request: HttpRequest, area_id: int, payload: CloseIn) -> Any:
    actor = actor_of(request)
    area = get_scoped_or_404(selectors.risk_area_get_qs(actor=actor), pk=area_id)
    return area_out(areas.risk_area_close(actor=actor, area=area, at=payload.at))


@router.post("/risk-areas/import", response={202: FileJobOut, 403: ErrorOut})
@decorate_view(upload_limit(areas.MAX_IMPORT_BYTES))
@scoped
def risk_area_import(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upload an xlsx/csv risk-area list (地区代码/地区名称/风险等级/开始时间/结束时间). The
    worker reads it: poll `GET /api/v1/jobs/{id}` until `status` is done; `result` then holds
    `rows`, `created`, `revised`, `unchanged` and the rejected rows as `errors` (row, field,
    reason)."""
    job = areas.risk_areas_submit(actor=actor_of(request), filename=file.name or "", content=file)
    return 202, file_job_out(job)


# ---------------------------------------------------------------- zones


class ZoneOut(Schema):
    id: int
    name: str
    kind: str
    region_code: str
    region_name: str
    grid_codes: list[str]
    polygon: dict[str, Any] | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    notice: str
    previous_id: int | None
    in_force: bool


class ZonePage(Page):
    items: list[ZoneOut]
    results: list[ZoneOut] = RESULTS_ALIAS


class ZoneIn(Schema):
    name: str
    kind: str
    grid_codes: list[str] = []
    polygon: dict[str, Any] | None = None
    region_code: str = ""
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    notice: str = ""


def zone_out(z: Zone) -> dict[str, Any]:
    return {
        "id": z.pk,
        "name": z.name,
        "kind": z.kind,
        "region_code": z.region.code,
        "region_name": z.region.name,
        "grid_codes": sorted(g.code for g in z.grids.all()),
        "polygon": z.polygon,
        "valid_from": z.valid_from,
        "valid_to": z.valid_to,
        "notice": z.notice,
        "previous_id": z.previous_id,
        "in_force": z.is_current(),
    }


def _zone_data(request: HttpRequest, payload: ZoneIn) -> areas.ZoneData:
    return areas.zone_validate(
        actor=actor_of(request),
        name=payload.name,
        kind=payload.kind,
        grid_codes=payload.grid_codes,
        polygon=payload.polygon,
        region_code=payload.region_code,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        notice=payload.notice,
    )


@router.get("/zones", response=ZonePage)
@scoped
def zone_list(
    request: HttpRequest,
    history: bool = False,
    kind: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    qs = selectors.zone_list(actor=actor_of(request), history=history, kind=kind)
    count, page, size, rows = page_slice(
        qs.prefetch_related("grids"), page=page, page_size=page_size, max_size=500
    )
    return {"count": count, "page": page, "page_size": size, "results": [zone_out(z) for z in rows]}


@router.post("/zones", response={201: ZoneOut, 403: ErrorOut})
@scoped
def zone_create(request: HttpRequest, payload: ZoneIn) -> Any:
    zone = areas.zone_create(actor=actor_of(request), data=_zone_data(request, payload))
    return 201, zone_out(zone)


@router.get("/zones/{int:zone_id}", response=ZoneOut)
@scoped
def zone_get(request: HttpRequest, zone_id: int) -> Any:
    return zone_out(get_scoped_or_404(selectors.zone_get_qs(actor=actor_of(request)), pk=zone_id))


@router.post("/zones/{int:zone_id}/revise", response={201: ZoneOut, 403: ErrorOut})
@scoped
def zone_revise(request: HttpRequest, zone_id: int, payload: ZoneIn) -> Any:
    actor = actor_of(request)
    zone = get_scoped_or_404(selectors.zone_get_qs(actor=actor), pk=zone_id)
    if payload.valid_from is None:
        payload.valid_from = dt.datetime.now(tz=dt.UTC)
    new = areas.zone_revise(actor=actor, zone=zone, data=_zone_data(request, payload))
    return 201, zone_out(new)


@router.post("/zones/{int:zone_id}/close", response={200: ZoneOut, 403: ErrorOut})
@scoped
def zone_close(request: HttpRequest, zone_id: int, payload: CloseIn) -> Any:
    actor = actor_of(request)
    zone = get_scoped_or_404(selectors.zone_get_qs(actor=actor), pk=zone_id)
    return zone_out(areas.zone_close(actor=actor, zone=zone, at=payload.at))


# ---------------------------------------------------------------- screening records


class RouteStop(Schema):
    place: str = ""
    code: str = ""
    date: str = ""


class MeasureBrief(Schema):
    id: int
    kind: str
    state: str
    start_date: dt.date
    planned_end: dt.date


class ScreeningOut(Schema):
    id: int
    source: str
    status: str
    name: str
    id_type: str
    id_number: str
    phone: str
    address: str
    origin_code: str
    origin_place: str
    route: list[RouteStop]
    arrival_at: dt.datetime | None
    travel_mode: str
    destination_code: str
    destination_name: str
    note: str
    person_id: int | None
    rule_id: int | None
    classification: dict[str, Any]
    measure: MeasureBrief | None
    reject_reason: str
    decided_at: dt.datetime | None
    created_at: dt.datetime


class ScreeningPage(Page):
    items: list[ScreeningOut]
    results: list[ScreeningOut] = RESULTS_ALIAS


class ScreeningIn(Schema):
    name: str
    id_type: str = "resident_id"
    id_number: str
    phone: str = ""
    address: str = ""
    source: str
    origin_code: str = ""
    origin_place: str = ""
    route: list[RouteStop] = []
    arrival_at: dt.datetime | None = None
    travel_mode: str = ""
    destination_code: str
    note: str = ""
    confirm: bool = False


class TokenIn(Schema):
    token: str


class RejectIn(Schema):
    reason: str


class ConflictOut(Schema):
    detail: str
    status: str | None = None


def screening_out(r: ScreeningRecord, *, actor: Any) -> dict[str, Any]:
    """Masked view: identity numbers, phone and address only ever as masks."""
    m = r.measure
    return {
        "id": r.pk,
        "source": r.source,
        "status": r.status,
        "name": r.name,
        "id_type": r.id_type,
        "id_number": r.id_number_mask,
        "phone": r.phone_mask,
        "address": r.address_mask,
        "origin_code": r.origin_code,
        "origin_place": r.origin_place,
        "route": r.route,
        "arrival_at": r.arrival_at,
        "travel_mode": r.travel_mode,
        "destination_code": r.destination.code,
        "destination_name": r.destination.name,
        "note": r.note,
        "person_id": selectors.visible_person_id(actor=actor, person=r.person),
        "rule_id": r.rule_id,
        "classification": r.classification,
        "measure": None
        if m is None
        else {
            "id": m.pk,
            "kind": m.kind,
            "state": m.state,
            "start_date": m.start_date,
            "planned_end": m.planned_end,
        },
        "reject_reason": r.reject_reason,
        "decided_at": r.decided_at,
        "created_at": r.created_at,
    }


@router.get("/screenings", response=ScreeningPage)
@scoped
def screening_list(
    request: HttpRequest,
    status: str | None = None,
    source: str | None = None,
    region: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    qs = selectors.screening_list(
        actor=actor_of(request), status=status, source=source, region_code=region
    )
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [screening_out(r, actor=actor_of(request)) for r in rows],
    }


@router.post("/screenings", response={201: ScreeningOut, 403: ErrorOut})
@scoped
def screening_create(request: HttpRequest, payload: ScreeningIn) -> Any:
    """Record a screening (checkpoint, door-to-door, big-data push...); `confirm` classifies
    it at once."""
    actor = actor_of(request)
    destination = (
        selectors.destination_choices(actor=actor).filter(code=payload.destination_code).first()
    )
    if destination is None:
        raise FieldError("destination_code", _("unknown region or outside your jurisdiction"))
    data = services.screening_validate(
        name=payload.name,
        id_type=payload.id_type,
        id_number=payload.id_number,
        phone=payload.phone,
        address=payload.address,
        source=payload.source,
        destination=destination,
        origin_code=payload.origin_code,
        origin_place=payload.origin_place,
        route=[s.dict() for s in payload.route],
        arrival_at=payload.arrival_at,
        travel_mode=payload.travel_mode,
        note=payload.note,
    )
    record = services.screening_create(
        actor=actor, data=data, confirm=payload.confirm, client_ip=client_ip(request)
    )
    return 201, screening_out(
        get_scoped_or_404(selectors.screening_get_qs(actor=actor), pk=record.pk), actor=actor
    )


@router.post("/screenings/lookup", response=ScreeningOut)
@scoped
def screening_lookup(request: HttpRequest, payload: TokenIn) -> Any:
    """The record behind a self-declaration QR code (POST body, never a URL)."""
    qs = selectors.screening_by_token(actor=actor_of(request), token=payload.token)
    return screening_out(get_scoped_or_404(qs), actor=actor_of(request))


@router.get("/screenings/{int:record_id}", response=ScreeningOut)
@scoped
def screening_get(request: HttpRequest, record_id: int) -> Any:
    qs = selectors.screening_get_qs(actor=actor_of(request))
    return screening_out(get_scoped_or_404(qs, pk=record_id), actor=actor_of(request))


@router.post(
    "/screenings/{int:record_id}/confirm",
    response={200: ScreeningOut, 403: ErrorOut, 409: ConflictOut},
)
@scoped
def screening_confirm(request: HttpRequest, record_id: int) -> Any:
    """Confirm: match or register the person, classify by the rule table, propose the measure."""
    actor = actor_of(request)
    record = get_scoped_or_404(selectors.screening_get_qs(actor=actor), pk=record_id)
    services.screening_confirm(actor=actor, record=record, client_ip=client_ip(request))
    return screening_out(
        get_scoped_or_404(selectors.screening_get_qs(actor=actor), pk=record_id), actor=actor
    )


@router.post(
    "/screenings/{int:record_id}/reject",
    response={200: ScreeningOut, 403: ErrorOut, 409: ConflictOut},
)
@scoped
def screening_reject(request: HttpRequest, record_id: int, payload: RejectIn) -> Any:
    actor = actor_of(request)
    record = get_scoped_or_404(selectors.screening_get_qs(actor=actor), pk=record_id)
    services.screening_reject(
        actor=actor, record=record, reason=payload.reason, client_ip=client_ip(request)
    )
    return screening_out(
        get_scoped_or_404(selectors.screening_get_qs(actor=actor), pk=record_id), actor=actor
    )
