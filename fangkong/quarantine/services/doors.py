"""Door sensors (门磁) at homes under quarantine: fitting one to a person's home measure, the
events a vendor's platform posts (door opened, sensor offline, battery low), and the grid
worker handling the alert.

A batch of events is all or nothing, and every bad row is named with its field; an event the
platform delivers twice (same device, same event id) is stored once, so retries are safe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import IN_FORCE_STATES
from fangkong.people.models import ControlMeasure, MeasureState
from fangkong.quarantine.health import HOME_KINDS
from fangkong.quarantine.models import DoorEvent, DoorEventKind, DoorSensor
from fangkong.quarantine.services.sites import RowError

MAX_EVENTS = 1_000
CLOCK_SKEW = dt.timedelta(minutes=10)  # a device clock this far ahead is wrong, not early


def door_sensor_install(*, actor: User, measure: ControlMeasure, device_id: str) -> DoorSensor:
    authorize(actor, "quarantine.home.watch", region=measure.region_path)
    device_id = (device_id or "").strip()
    if not device_id or len(device_id) > 64:
        raise FieldError("device_id", _("give the sensor's device id (at most 64 characters)"))
    if measure.kind not in HOME_KINDS:
        raise FieldError("measure_id", _("a door sensor watches a home quarantine"))
    if measure.state not in (MeasureState.PROPOSED, *IN_FORCE_STATES):
        raise Conflict(_("the measure is finished; there is nothing to watch"))
    with transaction.atomic():
        taken = DoorSensor.objects.select_for_update().filter(device_id=device_id).first()
        if taken is not None and taken.measure.state in IN_FORCE_STATES:
            raise Conflict(_("sensor %(id)s is fitted at another home") % {"id": device_id})
        if taken is not None:
            # a sensor back from a finished quarantine is refitted: its history stays with it
            taken.measure, taken.person_id = measure, measure.person_id
            taken.region_path, taken.installed_by = measure.region_path, actor
            taken.save()
            sensor = taken
        else:
            sensor = DoorSensor.objects.create(
                device_id=device_id, measure=measure, person_id=measure.person_id,
                region_path=measure.region_path, installed_by=actor,
            )  # fmt: skip
        audit_record(
            actor=actor, action="quarantine.door.install", object_type="door_sensor",
            object_id=sensor.pk, details={"measure": measure.pk},
        )  # fmt: skip
    return sensor


@dataclass(frozen=True)
class EventIn:
    device_id: str
    event_id: str
    kind: str
    at: dt.datetime


@dataclass
class Ingested:
    stored: int
    repeated: int  # already stored by an earlier delivery


def _row_errors(
    actor: User, events: list[EventIn], sensors: dict[str, DoorSensor]
) -> list[RowError]:
    errors: list[RowError] = []
    latest = timezone.now() + CLOCK_SKEW
    for row, event in enumerate(events, start=1):
        sensor = sensors.get(event.device_id)
        if sensor is None or not allowed(
            actor, "quarantine.door.report", region=sensor.region_path
        ):
            errors.append(
                RowError(row, "device_id", _("unknown device %(id)s") % {"id": event.device_id})
            )
        if event.kind not in DoorEventKind.values:
            errors.append(RowError(row, "kind", _("unknown event kind %(k)s") % {"k": event.kind}))
        if not event.event_id.strip() or len(event.event_id) > 64:
            errors.append(RowError(row, "event_id", _("give the platform's event id")))
        if timezone.is_naive(event.at):
            errors.append(RowError(row, "at", _("give the time with its zone, e.g. +08:00")))
        elif event.at > latest:
            errors.append(RowError(row, "at", _("the time is in the future")))
    return errors


def door_events_ingest(*, actor: User, events: list[EventIn]) -> tuple[Ingested, list[RowError]]:
    """Store a batch of events from a vendor's platform, or none of them when a row is bad
    (unknown device, unknown kind, a time without zone or in the future)."""
    authorize(actor, "quarantine.door.report")
    if not events:
        return Ingested(0, 0), []
    if len(events) > MAX_EVENTS:
        raise FieldError("events", _("at most %(n)s events at a time") % {"n": MAX_EVENTS})
    sensors = {
        s.device_id: s
        for s in DoorSensor.objects.filter(device_id__in={e.device_id for e in events})
    }
    errors = _row_errors(actor, events, sensors)
    if errors:
        return Ingested(0, 0), errors
    rows = {
        (e.device_id, e.event_id): DoorEvent(
            sensor=sensors[e.device_id], event_id=e.event_id.strip(), kind=e.kind, at=e.at,
            region_path=sensors[e.device_id].region_path,
        )
        for e in events
    }  # fmt: skip
    with transaction.atomic():
        before = DoorEvent.objects.filter(sensor__in=sensors.values()).count()
        DoorEvent.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
        stored = DoorEvent.objects.filter(sensor__in=sensors.values()).count() - before
    return Ingested(stored=stored, repeated=len(events) - stored), []


def door_event_handle(*, actor: User, event: DoorEvent, note: str) -> DoorEvent:
    """The grid worker went to see: the alert is closed with what they found."""
    note = (note or "").strip()
    if not note:
        raise FieldError("note", _("say what you found"))
    authorize(actor, "quarantine.home.watch", region=event.region_path)
    with transaction.atomic():
        event = DoorEvent.objects.select_for_update().get(pk=event.pk)
        if event.handled_at is not None:
            raise Conflict(_("this alert was already handled"))
        event.handled_at, event.handled_by, event.handled_note = timezone.now(), actor, note[:255]
        event.save(update_fields=["handled_at", "handled_by", "handled_note"])
        audit_record(
            actor=actor, action="quarantine.door.handle", object_type="door_event",
            object_id=event.pk, details={"note": note[:255]},
        )  # fmt: skip
    return event
