"""Home quarantine API, under /api/v1/quarantine: door sensors fitted to home measures, the
events a vendor's platform posts (all or nothing, every bad row named, retries stored once),
handling an alert, and the roll-up of missed check-ins and open alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from fangkong.core.http import ErrorOut, actor_of, get_scoped_or_404, scoped
from fangkong.people.selectors.measures import measure_get_qs
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.api_transfers import DbId
from fangkong.quarantine.reserve import home_region
from fangkong.quarantine.services import doors

router = Router(tags=["quarantine"])


class SensorIn(Schema):
    measure_id: DbId
    device_id: str = Field(max_length=64)


class SensorOut(Schema):
    id: int
    device_id: str
    measure_id: int


class DoorEventIn(Schema):
    device_id: str = Field(max_length=64)
    event_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    at: dt.datetime


class DoorEventsIn(Schema):
    events: list[DoorEventIn] = Field(max_length=doors.MAX_EVENTS)


class RowErrorOut(Schema):
    row: int
    field: str
    reason: str


class DoorEventsOut(Schema):
    stored: int
    repeated: int


class DoorRefusedOut(Schema):
    detail: str
    errors: list[RowErrorOut]


class HandleIn(Schema):
    note: str = Field(max_length=255)


class HandledOut(Schema):
    id: int
    handled_at: dt.datetime
    note: str


class RollupOut(Schema):
    region_id: int
    region_code: str
    region_name: str
    under_watch: int
    missed: int
    alerts: int


@router.post("/door-sensors", response={201: SensorOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def door_sensor_install(request: HttpRequest, payload: SensorIn) -> Any:
    actor = actor_of(request)
    measure = get_scoped_or_404(measure_get_qs(actor=actor), pk=payload.measure_id)
    sensor = doors.door_sensor_install(actor=actor, measure=measure, device_id=payload.device_id)
    return 201, {"id": sensor.pk, "device_id": sensor.device_id, "measure_id": sensor.measure_id}


@router.post("/door-events", response={200: DoorEventsOut, 403: ErrorOut, 422: DoorRefusedOut})
@scoped
def door_events_ingest(request: HttpRequest, payload: DoorEventsIn) -> Any:
    """Events from a door-sensor platform: `opened`, `offline`, `battery_low`, each with the
    platform's event id and the time with its zone. One bad row refuses the batch."""
    events = [doors.EventIn(e.device_id, e.event_id, e.kind, e.at) for e in payload.events]
    done, errors = doors.door_events_ingest(actor=actor_of(request), events=events)
    if errors:
        rows = [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors]
        return 422, {"detail": errors[0].reason, "errors": rows}
    return {"stored": done.stored, "repeated": done.repeated}


@router.post(
    "/door-events/{int:event_id}/handle",
    response={200: HandledOut, 403: ErrorOut, 409: ErrorOut},
)
@scoped
def door_event_handle(request: HttpRequest, event_id: int, payload: HandleIn) -> Any:
    actor = actor_of(request)
    event = get_scoped_or_404(sel.door_event_get_qs(actor=actor), pk=event_id)
    done = doors.door_event_handle(actor=actor, event=event, note=payload.note)
    return {"id": done.pk, "handled_at": done.handled_at, "note": done.handled_note}


@router.get("/home/rollup", response=list[RollupOut])
@scoped
def home_rollup(request: HttpRequest) -> Any:
    """Your jurisdiction first, then each region below it: persons under home watch,
    check-ins missed today, door alerts open."""
    actor = actor_of(request)
    region = home_region(actor)
    rows = sel.home_rollup(actor=actor, region=region) if region is not None else []
    return [
        {
            "region_id": r.region.pk, "region_code": r.region.code,
            "region_name": r.region.name, "under_watch": r.under_watch, "missed": r.missed,
            "alerts": r.alerts,
        }
        for r in rows
    ]  # fmt: skip
