"""Closed-loop transfers (点对点闭环转运): dispatching a vehicle with a driver and a medical
escort for one or more persons under control, the chain of custody scanned at each handover,
cancelling.

A person is on at most one open transfer (a database constraint), and a site checks nobody in
while they are on one: they are in the vehicle until the receiving side scans their code. The
scan at a site's door is the site's to make, and it checks the person in when a room is
allocated to them there, so the handover and the check-in are one step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import RegistrationCode
from fangkong.masstesting.sampling.services.codes import token_from_payload
from fangkong.people.models import ControlMeasure
from fangkong.quarantine.models import (
    ALLOCATABLE_MEASURES,
    OPEN_LEG_STATES,
    OPEN_TRANSFER_STATES,
    Handover,
    HandoverKind,
    LegState,
    PlaceKind,
    Site,
    SiteState,
    Stay,
    StayState,
    Transfer,
    TransferLeg,
    TransferState,
)
from fangkong.quarantine.services.stays import stay_check_in

MAX_PERSONS = 60  # a coach; a transfer is one vehicle


@dataclass(frozen=True)
class Route:
    """Where a transfer goes: a pickup and a destination, each a kind and a place a crew can
    find (a checkpoint's name, a station's exit); a site destination names the site."""

    pickup_kind: str
    pickup_place: str
    destination_kind: str
    destination_site: Site | None = None
    destination_place: str = ""


@dataclass(frozen=True)
class Crew:
    vehicle: str
    driver: User
    escort: str


def _common_path(paths: list[str]) -> str:
    """The deepest region holding every person: the transfer is seen from there up."""
    split = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common) + "/" if common else ""


def _check_route(route: Route) -> Route:
    kinds = set(PlaceKind.values)
    if route.pickup_kind not in kinds:
        raise FieldError("pickup_kind", _("choose where the persons are picked up"))
    if not route.pickup_place.strip():
        raise FieldError("pickup_place", _("name the pickup place (never a home address)"))
    if route.destination_kind not in kinds:
        raise FieldError("destination_kind", _("choose the destination"))
    place = route.destination_place.strip()
    if route.destination_kind == PlaceKind.SITE:
        site = route.destination_site
        if site is None:
            raise FieldError("destination_site", _("choose the quarantine site"))
        if site.state != SiteState.ACTIVE:
            raise FieldError(
                "destination_site", _("%(site)s is not active; activate it first") % {"site": site}
            )
        place = place or site.institution.name
    elif not place:
        raise FieldError("destination_place", _("name the destination"))
    return Route(
        route.pickup_kind, route.pickup_place.strip()[:128], route.destination_kind,
        route.destination_site if route.destination_kind == PlaceKind.SITE else None,
        place[:128],
    )  # fmt: skip


def _check_crew(crew: Crew, region_path: str, deadline: dt.datetime) -> None:
    if not crew.vehicle.strip():
        raise FieldError("vehicle", _("give the vehicle's plate"))
    if not crew.escort.strip():
        raise FieldError("escort", _("name the medical escort; no transfer leaves without one"))
    # the driver must be someone the table lets scan on this transfer
    if not allowed(crew.driver, "quarantine.transfer.scan", region=region_path):
        raise FieldError("driver_id", _("this user cannot drive a transfer here"))
    if deadline <= timezone.now():
        raise FieldError("deadline", _("the deadline must be in the future"))


def _check_measures(measures: list[ControlMeasure]) -> None:
    if not measures:
        raise FieldError("measure_ids", _("name at least one person"))
    if len(measures) > MAX_PERSONS:
        raise FieldError(
            "measure_ids", _("at most %(n)s persons in one vehicle") % {"n": MAX_PERSONS}
        )
    for measure in measures:
        if measure.state not in ALLOCATABLE_MEASURES:
            raise Conflict(_("the measure is finished; there is nothing to transfer"))
    busy = (
        TransferLeg.objects.filter(
            person_id__in=[m.person_id for m in measures], state__in=OPEN_LEG_STATES
        )
        .select_related("transfer")
        .first()
    )
    if busy is not None:
        raise Conflict(
            _("a person is already on transfer %(code)s; complete or cancel it first")
            % {"code": busy.transfer.code}
        )


def transfer_create(
    *,
    actor: User,
    measures: list[ControlMeasure],
    route: Route,
    crew: Crew,
    deadline: dt.datetime,
    note: str = "",
) -> Transfer:
    """Dispatch one vehicle for the persons under these measures."""
    measures = list({m.pk: m for m in measures}.values())
    region_path = _common_path([m.region_path for m in measures]) if measures else ""
    authorize(actor, "quarantine.transfer.dispatch", region=region_path or None)
    _check_measures(measures)
    route = _check_route(route)
    _check_crew(crew, region_path, deadline)
    with transaction.atomic():
        transfer = Transfer.objects.create(
            code=uuid.uuid4().hex[:16], region_path=region_path,
            pickup_kind=route.pickup_kind, pickup_place=route.pickup_place,
            destination_kind=route.destination_kind, destination_site=route.destination_site,
            destination_place=route.destination_place, vehicle=crew.vehicle.strip()[:32],
            driver=crew.driver, escort=crew.escort.strip()[:64], deadline=deadline,
            created_by=actor, note=(note or "").strip()[:255],
        )  # fmt: skip
        transfer.code = f"ZY{timezone.localdate():%Y%m%d}-{transfer.pk:05d}"
        transfer.save(update_fields=["code"])
        try:
            with transaction.atomic():
                TransferLeg.objects.bulk_create(
                    TransferLeg(transfer=transfer, person_id=m.person_id, measure=m)
                    for m in measures
                )
        except IntegrityError:
            raise Conflict(_("a person was put on another transfer meanwhile; try again")) from None
        audit_record(
            actor=actor, action="quarantine.transfer.dispatch", object_type="quarantine_transfer",
            object_id=transfer.pk,
            details={"persons": [m.person_id for m in measures], "driver": crew.driver.pk},
        )  # fmt: skip
    return transfer


@dataclass(frozen=True)
class Scan:
    leg: TransferLeg
    kind: str
    checked_in: bool = False


def _leg_for(transfer: Transfer, code: str) -> TransferLeg:
    token = token_from_payload(code)
    if not token:
        raise FieldError("code", _("scan or type the person's code"))
    person_id = (
        RegistrationCode.objects.filter(token=token).values_list("person_id", flat=True).first()
    )
    leg = (
        TransferLeg.objects.select_for_update()
        .filter(transfer=transfer, person_id=person_id)
        .exclude(state=LegState.CANCELLED)
        .first()
        if person_id is not None
        else None
    )
    if leg is None:
        raise FieldError(
            "code", _("this code is not on transfer %(code)s") % {"code": transfer.code}
        )
    return leg


def _authorize_receiving(actor: User, transfer: Transfer, kind: str) -> None:
    site = transfer.destination_site
    if kind == HandoverKind.DELIVERY and site is not None:
        authorize(actor, "quarantine.stay", region=site.region_path, institution=site.institution)
    else:
        authorize(actor, "quarantine.transfer.scan", region=transfer.region_path)


def transfer_scan(*, actor: User, transfer: Transfer, code: str, place: str) -> Scan:
    """The receiving side scans a person's code: the crew at pickup, the destination at
    delivery (a site's staff at a site, which checks the person into their allocated room)."""
    place = (place or "").strip()[:128]
    if not place:
        raise FieldError("place", _("say where the handover takes place"))
    with transaction.atomic():
        # the destination site is nullable (an outer join), which PostgreSQL cannot lock
        transfer = (
            Transfer.objects.select_for_update(of=("self",))
            .select_related("destination_site__institution")
            .get(pk=transfer.pk)
        )
        if transfer.state not in OPEN_TRANSFER_STATES:
            raise Conflict(_("transfer %(code)s is closed") % {"code": transfer.code})
        leg = _leg_for(transfer, code)
        if leg.state == LegState.DELIVERED:
            raise Conflict(_("this person was already delivered"))
        kind = HandoverKind.PICKUP if leg.state == LegState.WAITING else HandoverKind.DELIVERY
        _authorize_receiving(actor, transfer, kind)
        Handover.objects.create(leg=leg, kind=kind, at=timezone.now(), place=place, by=actor)
        leg.state = LegState.ON_BOARD if kind == HandoverKind.PICKUP else LegState.DELIVERED
        leg.save(update_fields=["state"])
        checked_in = kind == HandoverKind.DELIVERY and _check_in_on_arrival(actor, transfer, leg)
        _settle(transfer)
        audit_record(
            actor=actor, action=f"quarantine.transfer.{kind}", object_type="quarantine_transfer",
            object_id=transfer.pk, details={"person": leg.person_id, "place": place},
        )  # fmt: skip
    return Scan(leg=leg, kind=kind, checked_in=checked_in)


def _check_in_on_arrival(actor: User, transfer: Transfer, leg: TransferLeg) -> bool:
    if transfer.destination_site is None:
        return False
    stay = Stay.objects.filter(
        person_id=leg.person_id, site=transfer.destination_site, state=StayState.ALLOCATED
    ).first()
    if stay is None:
        return False
    stay_check_in(actor=actor, stay=stay)
    return True


def _settle(transfer: Transfer) -> None:
    """Under way from the first pickup; completed when nobody is left waiting or on board."""
    states = set(transfer.legs.values_list("state", flat=True))
    if not states & set(OPEN_LEG_STATES):
        transfer.state, transfer.finished_at = TransferState.COMPLETED, timezone.now()
    elif states - {LegState.WAITING}:
        transfer.state = TransferState.UNDER_WAY
    transfer.save(update_fields=["state", "finished_at"])


def transfer_cancel(*, actor: User, transfer: Transfer, reason: str) -> Transfer:
    """Call the vehicle off: everyone not yet delivered is off the transfer."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("give a reason"))
    authorize(actor, "quarantine.transfer.dispatch", region=transfer.region_path)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.state not in OPEN_TRANSFER_STATES:
            raise Conflict(_("transfer %(code)s is closed") % {"code": transfer.code})
        transfer.legs.filter(state__in=OPEN_LEG_STATES).update(state=LegState.CANCELLED)
        transfer.state, transfer.finished_at = TransferState.CANCELLED, timezone.now()
        transfer.note = reason[:255]
        transfer.save(update_fields=["state", "finished_at", "note"])
        audit_record(
            actor=actor, action="quarantine.transfer.cancel", object_type="quarantine_transfer",
            object_id=transfer.pk, details={"reason": reason},
        )  # fmt: skip
    return transfer
