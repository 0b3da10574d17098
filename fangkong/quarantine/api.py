"""Quarantine API (mounted at /api/v1/quarantine): sites, rooms, stays.

Reads go through the quarantine selectors, so an object outside the caller's jurisdiction
(or outside a site worker's own site) answers 404; names are masked in every answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from fangkong.core.http import (
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_dict,
    scoped,
)
from fangkong.core.models import Region
from fangkong.core.vault import mask_name
from fangkong.people.selectors.measures import measure_get_qs
from fangkong.quarantine import reserve
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.api_home import router as home_router
from fangkong.quarantine.api_releases import router as releases_router
from fangkong.quarantine.api_transfers import DbId, measures_named, site_named
from fangkong.quarantine.api_transfers import router as transfers_router
from fangkong.quarantine.models import CheckVia, HealthCheck, Room, Site, Stay
from fangkong.quarantine.services import health, sites, stays
from fangkong.quarantine.services import reserve as reserve_services

router = Router(tags=["quarantine"])
router.add_router("/transfers", transfers_router)
router.add_router("", home_router)
router.add_router("", releases_router)


class SiteIn(Schema):
    code: str
    name: str
    region_id: int
    address: str = ""
    grid_id: int | None = None
    contact_name: str = ""
    contact_phone: str = ""


class SiteOut(Schema):
    id: int
    code: str
    name: str
    region_code: str
    region_name: str
    address: str
    grid_code: str | None
    contact_name: str
    contact_phone: str
    state: str
    rooms: dict[str, int]


class SitePage(Page):
    items: list[SiteOut]


class StateIn(Schema):
    state: str
    note: str = ""


class RoomRow(Schema):
    building: str
    floor: int
    number: str
    corridor: str = ""
    side: str = ""
    position: int | None = None
    capacity: int = 1
    accessible: bool = False
    child_friendly: bool = False
    negative_pressure: bool = False


class RoomsIn(Schema):
    rooms: list[RoomRow]


class RoomOut(RoomRow):
    id: int
    site_id: int
    state: str


class RoomPage(Page):
    items: list[RoomOut]


class RoomRowError(Schema):
    row: int
    field: str
    reason: str


class RoomsAdded(Schema):
    created: int
    errors: list[RoomRowError]


class AllocateIn(Schema):
    measure_ids: list[int]
    site_id: int
    cohort: str = ""
    room_id: int | None = None


class StayOut(Schema):
    id: int
    measure_id: int
    person_id: int
    person_name: str
    site_id: int
    site_name: str
    room_id: int
    room: str
    family: str | None
    cohort: str
    state: str
    allocated_at: dt.datetime
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    note: str


class StayPage(Page):
    items: list[StayOut]


class AllocationOut(Schema):
    stays: list[StayOut]
    warnings: list[str]


BATCH_MAX = 2_000  # a batch is at most a day's waiting list of one site


class BatchIn(Schema):
    measure_ids: list[DbId] = Field(max_length=BATCH_MAX)
    site_id: int
    cohort: str = ""


class RefusedOut(Schema):
    measure_id: int
    reason: str


class BatchOut(Schema):
    stays: list[StayOut]
    refused: list[RefusedOut]
    warnings: list[str]


class NoteIn(Schema):
    note: str = ""


class ReasonIn(Schema):
    reason: str


class MoveIn(Schema):
    room_id: int
    reason: str


def site_out(site: Site) -> dict[str, Any]:
    inst = site.institution
    return {
        "id": site.pk,
        "code": inst.code,
        "name": inst.name,
        "region_code": inst.region.code,
        "region_name": inst.region.name,
        "address": inst.address,
        "grid_code": site.grid.code if site.grid else None,
        "contact_name": site.contact_name,
        "contact_phone": site.contact_phone,
        "state": site.state,
        "rooms": sel.site_room_counts(site),
    }


def room_out(room: Room) -> dict[str, Any]:
    fields = (
        "building", "floor", "number", "corridor", "side", "position", "capacity",
        "accessible", "child_friendly", "negative_pressure", "state", "site_id",
    )  # fmt: skip
    return {"id": room.pk, **{name: getattr(room, name) for name in fields}}


def stay_out(stay: Stay) -> dict[str, Any]:
    return {
        "id": stay.pk,
        "measure_id": stay.measure_id,
        "person_id": stay.person_id,
        "person_name": mask_name(stay.person.name),
        "site_id": stay.site_id,
        "site_name": stay.site.institution.name,
        "room_id": stay.room_id,
        "room": str(stay.room),
        "family": str(stay.family) if stay.family else None,
        "cohort": stay.cohort,
        "state": stay.state,
        "allocated_at": stay.allocated_at,
        "checked_in_at": stay.checked_in_at,
        "checked_out_at": stay.checked_out_at,
        "note": stay.note,
    }


def _stay(request: HttpRequest, stay_id: int) -> Stay:
    return get_scoped_or_404(sel.stay_get_qs(actor=actor_of(request)), pk=stay_id)


def _fresh(request: HttpRequest, stay: Stay) -> dict[str, Any]:
    return stay_out(get_scoped_or_404(sel.stay_get_qs(actor=actor_of(request)), pk=stay.pk))


# -- sites --------------------------------------------------------------------------------------


@router.get("/sites", response=SitePage)
@scoped
def site_list(
    request: HttpRequest, state: str | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = sel.site_list(actor=actor_of(request), state=state)
    return page_dict(qs, page=page, page_size=page_size, out=site_out)


@router.post("/sites", response={201: SiteOut, 403: ErrorOut})
@scoped
def site_create(request: HttpRequest, payload: SiteIn) -> Any:
    actor = actor_of(request)
    regions = sel.region_get_qs(actor=actor)
    region = get_scoped_or_404(regions, pk=payload.region_id)
    grid = get_scoped_or_404(regions, pk=payload.grid_id) if payload.grid_id else None
    site = sites.site_create(
        actor=actor,
        code=payload.code,
        name=payload.name,
        region=region,
        address=payload.address,
        grid=grid,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
    )
    return 201, site_out(sel.site_list(actor=actor).get(pk=site.pk))


@router.get("/sites/{int:site_id}", response=SiteOut)
@scoped
def site_get(request: HttpRequest, site_id: int) -> Any:
    return site_out(get_scoped_or_404(sel.site_list(actor=actor_of(request)), pk=site_id))


@router.post("/sites/{int:site_id}/state", response={200: SiteOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def site_set_state(request: HttpRequest, site_id: int, payload: StateIn) -> Any:
    actor = actor_of(request)
    sites.site_set_state(actor=actor, site=site_named(request, site_id), state=payload.state)
    return site_out(sel.site_list(actor=actor).get(pk=site_id))


ROOMS_ADDED = {201: RoomsAdded, 403: ErrorOut, 422: RoomsAdded}
STAY_WRITE = {200: StayOut, 403: ErrorOut, 409: ErrorOut}


# -- rooms --------------------------------------------------------------------------------------


@router.get("/sites/{int:site_id}/rooms", response=RoomPage)
@scoped
def room_list(
    request: HttpRequest, site_id: int, state: str | None = None, page: int = 1,
    page_size: int = 200,
) -> Any:  # fmt: skip
    qs = sel.room_list(actor=actor_of(request), site=site_named(request, site_id), state=state)
    return page_dict(qs, page=page, page_size=page_size, out=room_out)


@router.post("/sites/{int:site_id}/rooms", response=ROOMS_ADDED)
@scoped
def rooms_add(request: HttpRequest, site_id: int, payload: RoomsIn) -> Any:
    rows = [sites.RoomIn(**r.dict()) for r in payload.rooms]
    created, errors = sites.rooms_add(
        actor=actor_of(request), site=site_named(request, site_id), rooms=rows
    )
    answer = {"created": created, "errors": [e.__dict__ for e in errors]}
    return (422 if errors else 201), answer


@router.post("/rooms/{int:room_id}/state", response={200: RoomOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def room_set_state(request: HttpRequest, room_id: int, payload: StateIn) -> Any:
    room = get_scoped_or_404(sel.room_get_qs(actor=actor_of(request)), pk=room_id)
    room = sites.room_set_state(
        actor=actor_of(request), room=room, state=payload.state, note=payload.note
    )
    return room_out(room)


# -- stays --------------------------------------------------------------------------------------


@router.get("/stays", response=StayPage)
@scoped
def stay_list(
    request: HttpRequest, site_id: int | None = None, state: str | None = None,
    open: bool = False, page: int = 1, page_size: int = 50,
) -> Any:  # fmt: skip
    site = site_named(request, site_id) if site_id else None
    qs = sel.stay_list(actor=actor_of(request), site=site, open_only=open, state=state)
    return page_dict(qs, page=page, page_size=page_size, out=stay_out)


@router.post("/stays", response={201: AllocationOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def stays_allocate(request: HttpRequest, payload: AllocateIn) -> Any:
    actor = actor_of(request)
    measures_qs = measure_get_qs(actor=actor)
    measures = [get_scoped_or_404(measures_qs, pk=pk) for pk in dict.fromkeys(payload.measure_ids)]
    site = site_named(request, payload.site_id)
    room = None
    if payload.room_id is not None:
        room = get_scoped_or_404(sel.room_get_qs(actor=actor), pk=payload.room_id)
    done = stays.stays_allocate(
        actor=actor, measures=measures, site=site, cohort=payload.cohort, room=room
    )
    return 201, {"stays": [_fresh(request, s) for s in done.stays], "warnings": done.warnings}


@router.post("/stays/batch", response={200: BatchOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def stays_allocate_many(request: HttpRequest, payload: BatchIn) -> Any:
    """A room each for many persons at one site; those who cannot be housed are listed with
    the reason, the others are allocated."""
    actor = actor_of(request)
    wanted = measures_named(request, payload.measure_ids)
    site = site_named(request, payload.site_id)
    done = stays.stays_allocate_many(actor=actor, measures=wanted, site=site, cohort=payload.cohort)
    made = sel.stay_get_qs(actor=actor).in_bulk([s.pk for s in done.stays])
    return {
        "stays": [stay_out(made[s.pk]) for s in done.stays],
        "refused": [{"measure_id": m.pk, "reason": why} for m, why in done.refused],
        "warnings": done.warnings,
    }


@router.get("/stays/{int:stay_id}", response=StayOut)
@scoped
def stay_get(request: HttpRequest, stay_id: int) -> Any:
    return stay_out(_stay(request, stay_id))


@router.post("/stays/{int:stay_id}/check-in", response=STAY_WRITE)
@scoped
def stay_check_in(request: HttpRequest, stay_id: int) -> Any:
    stay = stays.stay_check_in(actor=actor_of(request), stay=_stay(request, stay_id))
    return _fresh(request, stay)


@router.post("/stays/{int:stay_id}/check-out", response=STAY_WRITE)
@scoped
def stay_check_out(request: HttpRequest, stay_id: int, payload: NoteIn) -> Any:
    stay = stays.stay_check_out(
        actor=actor_of(request), stay=_stay(request, stay_id), note=payload.note
    )
    return _fresh(request, stay)


@router.post("/stays/{int:stay_id}/cancel", response=STAY_WRITE)
@scoped
def stay_cancel(request: HttpRequest, stay_id: int, payload: ReasonIn) -> Any:
    stay = stays.stay_cancel(
        actor=actor_of(request), stay=_stay(request, stay_id), reason=payload.reason
    )
    return _fresh(request, stay)


@router.post("/stays/{int:stay_id}/move", response=STAY_WRITE)
@scoped
def stay_move(request: HttpRequest, stay_id: int, payload: MoveIn) -> Any:
    actor = actor_of(request)
    room = get_scoped_or_404(sel.room_get_qs(actor=actor), pk=payload.room_id)
    stay = stays.stay_move(
        actor=actor, stay=_stay(request, stay_id), room=room, reason=payload.reason
    )
    return _fresh(request, stay)


# -- reserve ------------------------------------------------------------------------------------


class PolicyOut(Schema):
    rooms_per_10k: int
    min_free_rooms: int
    set_at_region_id: int | None


class ReserveRowOut(Schema):
    region_id: int
    region_code: str
    region_name: str
    population: int
    rooms: dict[str, int]
    total: int
    usable: int
    free: int
    standby: int
    per_10k: float | None
    required: int
    meets_standard: bool
    need_24h: int
    need_72h: int
    alarm: bool
    policy: PolicyOut


class ReserveOut(Schema):
    as_of: dt.datetime
    total: ReserveRowOut
    rows: list[ReserveRowOut]


class PolicyIn(Schema):
    rooms_per_10k: int
    min_free_rooms: int


def _row_out(row: reserve.ReserveRow) -> dict[str, Any]:
    policy = row.policy
    return {
        "region_id": row.region.pk,
        "region_code": row.region.code,
        "region_name": row.region.name,
        "population": row.region.population,
        "rooms": row.rooms,
        **{k: getattr(row, k) for k in ("total", "usable", "free", "standby", "per_10k")},
        **{k: getattr(row, k) for k in ("required", "meets_standard", "need_24h", "need_72h")},
        "alarm": row.alarm,
        "policy": {
            "rooms_per_10k": policy.rooms_per_10k,
            "min_free_rooms": policy.min_free_rooms,
            "set_at_region_id": policy.set_at.pk if policy.set_at else None,
        },
    }


def _reserve_region(request: HttpRequest, region_id: int) -> Region:
    return get_scoped_or_404(sel.region_get_qs(actor=actor_of(request)), pk=region_id)


@router.get("/reserve", response=ReserveOut)
@scoped
def reserve_get(request: HttpRequest, region_id: int | None = None) -> Any:
    """Rooms by state, the reserve ratio, the 24/72 h need and the alarm, for a region (default:
    your own) and each region directly below it."""
    region = _reserve_region(request, region_id) if region_id is not None else None
    found = reserve.reserve_region(actor=actor_of(request), region=region)
    return {
        "as_of": found.as_of,
        "total": _row_out(found.total),
        "rows": [_row_out(r) for r in found.rows],
    }


@router.post(
    "/reserve/{int:region_id}/policy",
    response={200: PolicyOut, 403: ErrorOut, 422: ErrorOut},
)
@scoped
def reserve_policy_set(request: HttpRequest, region_id: int, payload: PolicyIn) -> Any:
    policy = reserve_services.reserve_policy_set(
        actor=actor_of(request),
        region=_reserve_region(request, region_id),
        rooms_per_10k=payload.rooms_per_10k,
        min_free_rooms=payload.min_free_rooms,
    )
    return {
        "rooms_per_10k": policy.rooms_per_10k,
        "min_free_rooms": policy.min_free_rooms,
        "set_at_region_id": policy.region_id,
    }


# -- daily health -------------------------------------------------------------------------------


class HealthIn(Schema):
    measure_id: DbId
    temperature: float
    symptoms: list[str] = Field(default_factory=list, max_length=20)
    slot: str | None = None


class HealthOut(Schema):
    id: int
    measure_id: int
    day: dt.date
    slot: str
    temperature: float
    symptoms: list[str]
    via: str
    flagged: bool


class HealthRowOut(Schema):
    stay_id: int
    room: str
    person_name: str
    checks: list[HealthOut]
    missed: list[str]
    flagged: bool
    tests_due: list[dt.date]


def health_out(c: HealthCheck) -> dict[str, Any]:
    return {
        "id": c.pk, "measure_id": c.measure_id, "day": c.day, "slot": c.slot,
        "temperature": float(c.temperature), "symptoms": c.symptoms, "via": c.via,
        "flagged": c.flagged,
    }  # fmt: skip


@router.post(
    "/health-checks", response={200: HealthOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}
)
@scoped
def health_check_record(request: HttpRequest, payload: HealthIn) -> Any:
    """This slot's check (morning or evening, by the local time when not given) of a person
    under a measure in force; a second report of the same slot replaces the first."""
    actor = actor_of(request)
    # a site's staff see the measure through the stay at their site
    stay = sel.stay_get_qs(actor=actor).filter(measure_id=payload.measure_id).first()
    if stay is not None:
        measure = stay.measure
    else:
        measure = get_scoped_or_404(measure_get_qs(actor=actor), pk=payload.measure_id)
    check = health.health_check_record(
        actor=actor, measure=measure, temperature=payload.temperature,
        symptoms=payload.symptoms, slot=payload.slot, via=CheckVia.STAFF,
    )  # fmt: skip
    return health_out(check)


@router.get("/sites/{int:site_id}/health", response=list[HealthRowOut])
@scoped
def site_health(request: HttpRequest, site_id: int) -> Any:
    """Everyone checked in at the site: today's checks, missed checks, tests due."""
    rows = sel.site_health(actor=actor_of(request), site=site_named(request, site_id))
    return [
        {
            "stay_id": r.stay.pk, "room": r.stay.room.number, "person_name": r.name,
            "checks": [health_out(c) for c in r.checks.values()], "missed": r.missed,
            "flagged": r.flagged, "tests_due": r.tests_due,
        }
        for r in rows
    ]  # fmt: skip
