"""Stays: a room allocated to a person under a centralised quarantine measure, check-in,
room change, check-out and cancelling an allocation.

Allocation locks the site's row, so allocations into one site run one after another and the
cohort rules see every room taken before them; the database's constraints (one open stay per
person, one per room slot, slot 1 outside a family) hold even if that ever failed. The measure
records the site through people's own service, so the measure and the room never disagree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.models import ControlMeasure, MeasureKind
from fangkong.people.services.measures import measure_assign_site, measure_assign_site_many
from fangkong.quarantine.allocation import (
    SHARED_CORRIDOR,
    Choice,
    FreeRooms,
    Occupancy,
    RoomSlot,
    choose,
)
from fangkong.quarantine.models import (
    ALLOCATABLE_MEASURES,
    OPEN_LEG_STATES,
    OPEN_STAY_STATES,
    Release,
    ReleaseState,
    Room,
    RoomEvent,
    RoomState,
    Site,
    SiteState,
    Stay,
    StayState,
    TransferLeg,
)
from fangkong.quarantine.services.sites import room_move


@dataclass
class Allocation:
    stays: list[Stay]
    # why the room is not the one the cohort rules wanted, when it is not
    warnings: list[str] = field(default_factory=list)


SLOT_FIELDS = ("pk", "building", "floor", "number", "corridor", "side", "position", "capacity")


def _check_measure(measure: ControlMeasure) -> None:
    if measure.kind != MeasureKind.CENTRALISED_QUARANTINE:
        raise FieldError("measure_id", _("only a centralised quarantine is served at a site"))
    if measure.state not in ALLOCATABLE_MEASURES:
        raise Conflict(_("the measure is finished; there is nothing to allocate"))
    if measure.pk in _released({measure.pk}):
        raise Conflict(_("released from the site; the measure goes on at home"))
    open_stay = Stay.objects.filter(person_id=measure.person_id, state__in=OPEN_STAY_STATES)
    found = open_stay.select_related("site__institution", "room").first()
    if found is not None:
        raise Conflict(
            _("this person already has room %(room)s at %(site)s")
            % {"room": found.room, "site": found.site}
        )


def _released(measure_ids: set[int]) -> set[int]:
    """Measures whose person was released from a site into a home phase ("7+3"): still in
    force and centralised by kind, but never housed again."""
    done = Release.objects.filter(measure_id__in=measure_ids, state=ReleaseState.CONFIRMED)
    return set(done.values_list("measure_id", flat=True))


def _lock_site(site: Site) -> Site:
    site = Site.objects.select_for_update().select_related("institution").get(pk=site.pk)
    if site.state != SiteState.ACTIVE:
        raise Conflict(_("%(site)s is not active; activate it first") % {"site": site})
    return site


def _free_rooms(site: Site, room: Room | None) -> list[RoomSlot]:
    taken = Stay.objects.filter(site=site, state__in=OPEN_STAY_STATES).values("room_id")
    qs = Room.objects.filter(site=site, state=RoomState.AVAILABLE).exclude(pk__in=taken)
    if room is not None:
        qs = qs.filter(pk=room.pk)
    return [RoomSlot(*row) for row in qs.values_list(*SLOT_FIELDS)]


def _occupancy(site: Site) -> Occupancy:
    stays = Stay.objects.filter(site=site, state__in=OPEN_STAY_STATES)
    fields = [f"room__{f}" for f in SLOT_FIELDS]
    rows = stays.values_list(*fields, "cohort")
    return Occupancy((RoomSlot(*row[:-1]), row[-1]) for row in rows)


def _no_room(site: Site, size: int, room: Room | None) -> Conflict:
    if room is not None:
        return Conflict(_("room %(room)s is not free") % {"room": room})
    counts = dict.fromkeys(RoomState.values, 0)
    for state in Room.objects.filter(site=site).values_list("state", flat=True):
        counts[state] += 1
    return Conflict(
        _(
            "no free room for %(n)s at %(site)s: %(occupied)s occupied, %(dis)s awaiting "
            "disinfection, %(out)s out of service, %(free)s free but too small"
        )
        % {
            "n": size,
            "site": site,
            "occupied": counts[RoomState.OCCUPIED],
            "dis": counts[RoomState.DISINFECTION],
            "out": counts[RoomState.OUT_OF_SERVICE],
            "free": counts[RoomState.AVAILABLE],
        }
    )


def _warning(choice: Choice) -> str | None:
    if choice.rank < SHARED_CORRIDOR:
        return None
    others = "、".join(choice.others)
    if choice.rank == SHARED_CORRIDOR:
        return _(
            "no corridor free of other cohorts was left: room %(room)s shares its corridor "
            "with cohort %(others)s"
        ) % {"room": choice.room.number, "others": others}
    return _(
        "no room away from other cohorts was left: room %(room)s faces a room of cohort "
        "%(others)s; stagger their door openings"
    ) % {"room": choice.room.number, "others": others}


def stays_allocate(
    *,
    actor: User,
    measures: list[ControlMeasure],
    site: Site,
    cohort: str = "",
    room: Room | None = None,
) -> Allocation:
    """Allocate one room at an active site: to one person, or to a family (several measures,
    one room big enough for all of them, allocated explicitly together).

    `cohort` names the arrival cohort (default: the measure's start date); `room` asks for a
    particular room, which must then be free."""
    if not measures:
        raise FieldError("measure_ids", _("name at least one measure"))
    authorize(actor, "quarantine.allocate", region=site.region_path)
    if room is not None and room.site_id != site.pk:
        raise FieldError("room_id", _("the room is not at this site"))
    cohort = (cohort or measures[0].start_date.isoformat()).strip()[:64]
    with transaction.atomic():
        site = _lock_site(site)
        for measure in measures:
            _check_measure(measure)
        choice = choose(
            _free_rooms(site, room), _occupancy(site), cohort,
            size=len(measures),
        )  # fmt: skip
        if choice is None:
            raise _no_room(site, len(measures), room)
        chosen = Room.objects.select_for_update().get(pk=choice.room.id)
        stays = _insert_stays(actor, measures, site, chosen, cohort)
        room_move(actor=actor, room=chosen, state=RoomState.OCCUPIED, note=_("allocated"))
        for measure in measures:
            measure_assign_site(actor=actor, measure=measure, site_id=site.institution_id)
        _audit(actor, "quarantine.allocate", stays, {"room": chosen.pk, "cohort": cohort})
    warning = _warning(choice)
    return Allocation(stays=stays, warnings=[warning] if warning else [])


@dataclass
class Batch:
    """What `stays_allocate_many` did: the stays made, the measures refused and why."""

    stays: list[Stay]
    refused: list[tuple[ControlMeasure, str]]
    warnings: list[str] = field(default_factory=list)


def stays_allocate_many(
    *, actor: User, measures: list[ControlMeasure], site: Site, cohort: str = ""
) -> Batch:
    """A room each for many persons at one active site, in the order given (a bus from a
    checkpoint, a site filled from the waiting list).

    The same rules as `stays_allocate`, with every choice made in memory under one site
    lock and the rows written in a few set-based statements: the stays, the rooms' state and
    history, the measures' site, and one audit row for the batch. A measure that cannot be
    housed (not a centralised quarantine, finished, already housed, no room left) is refused
    with the reason; the others are allocated."""
    authorize(actor, "quarantine.allocate", region=site.region_path)
    with transaction.atomic():
        site = _lock_site(site)
        wanted, refused = _allocatable(measures)
        free = FreeRooms(_free_rooms(site, None))
        occupancy = _occupancy(site)
        placed: list[tuple[ControlMeasure, Choice, str]] = []
        unhoused: list[ControlMeasure] = []
        for measure in wanted:
            own = (cohort or measure.start_date.isoformat()).strip()[:64]
            choice = free.best(occupancy, own, 1)
            if choice is None:
                unhoused.append(measure)
                continue
            free.take(choice.room)
            occupancy.add(choice.room, own)
            placed.append((measure, choice, own))
        stays = _insert_batch(actor, site, placed)
        if unhoused:
            # counted after the batch's own rooms are taken, so the figures add up
            full = str(_no_room(site, 1, None))
            refused.extend((m, full) for m in unhoused)
        warnings = [w for _m, choice, _c in placed if (w := _warning(choice))]
    return Batch(stays=stays, refused=refused, warnings=warnings)


def _allocatable(
    measures: list[ControlMeasure],
) -> tuple[list[ControlMeasure], list[tuple[ControlMeasure, str]]]:
    # re-read under lock: the caller's copies may be older than a release or a cancel
    fresh = ControlMeasure.objects.select_for_update().in_bulk({m.pk for m in measures})
    measures = [fresh.get(pk, m) for pk, m in {m.pk: m for m in measures}.items()]
    housed = set(
        Stay.objects.filter(
            person_id__in={m.person_id for m in measures}, state__in=OPEN_STAY_STATES
        ).values_list("person_id", flat=True)
    )
    released = _released({m.pk for m in measures})
    wanted: list[ControlMeasure] = []
    refused: list[tuple[ControlMeasure, str]] = []
    for measure in measures:
        if measure.kind != MeasureKind.CENTRALISED_QUARANTINE:
            refused.append((measure, _("only a centralised quarantine is served at a site")))
        elif measure.pk in released:
            refused.append((measure, _("released from the site; the measure goes on at home")))
        elif measure.state not in ALLOCATABLE_MEASURES:
            refused.append((measure, _("the measure is finished; there is nothing to allocate")))
        elif measure.person_id in housed:
            refused.append((measure, _("this person already has a room")))
        else:
            housed.add(measure.person_id)
            wanted.append(measure)
    return wanted, refused


def _insert_batch(
    actor: User, site: Site, placed: list[tuple[ControlMeasure, Choice, str]]
) -> list[Stay]:
    if not placed:
        return []
    stays = [
        Stay(
            measure=m, person_id=m.person_id, region_path=m.region_path, site=site,
            room_id=choice.room.id, slot=1, cohort=own, allocated_by=actor,
        )
        for m, choice, own in placed
    ]  # fmt: skip
    room_ids = [choice.room.id for _m, choice, _c in placed]
    try:
        with transaction.atomic():
            Stay.objects.bulk_create(stays)
    except IntegrityError:
        raise Conflict(_("the room or the person was taken meanwhile; try again")) from None
    moved = Room.objects.filter(pk__in=room_ids, state=RoomState.AVAILABLE).update(
        state=RoomState.OCCUPIED, updated_at=timezone.now()
    )
    if moved != len(room_ids):
        # a room went out of service after it was read: nothing of the batch is kept
        raise Conflict(_("the room or the person was taken meanwhile; try again"))
    note = _("allocated")
    RoomEvent.objects.bulk_create(
        RoomEvent(room_id=pk, actor=actor, from_state=RoomState.AVAILABLE,
                  to_state=RoomState.OCCUPIED, note=note)
        for pk in room_ids
    )  # fmt: skip
    measure_assign_site_many(
        actor=actor, measures=[m for m, _c, _o in placed], site_id=site.institution_id
    )
    audit_record(
        actor=actor,
        action="quarantine.allocate_many",
        object_type="quarantine_site",
        object_id=site.pk,
        details={"stays": [[s.pk, s.person_id, s.room_id] for s in stays]},
    )
    return stays


def _insert_stays(
    actor: User, measures: list[ControlMeasure], site: Site, room: Room, cohort: str
) -> list[Stay]:
    family = uuid.uuid4() if len(measures) > 1 else None
    stays = [
        Stay(
            measure=m,
            person_id=m.person_id,
            region_path=m.region_path,
            site=site,
            room=room,
            slot=slot,
            family=family,
            cohort=cohort,
            allocated_by=actor,
        )
        for slot, m in enumerate(measures, start=1)
    ]
    try:
        with transaction.atomic():
            Stay.objects.bulk_create(stays)
    except IntegrityError:
        # the allocator checked first; a concurrent writer outside the site lock lost here
        raise Conflict(_("the room or the person was taken meanwhile; try again")) from None
    return stays


def _audit(actor: User | None, action: str, stays: list[Stay], details: dict[str, object]) -> None:
    for stay in stays:
        audit_record(
            actor=actor,
            action=action,
            object_type="quarantine_stay",
            object_id=stay.pk,
            details={"person": stay.person_id, **details},
        )


def _locked_stay(actor: User, stay: Stay, action: str) -> Stay:
    authorize(actor, action, region=stay.site.region_path, institution=stay.site.institution)
    return Stay.objects.select_for_update().select_related("room", "site").get(pk=stay.pk)


def _room_left(actor: User | None, room: Room, note: str, to: str = RoomState.DISINFECTION) -> None:
    """The last person out leaves the room to be disinfected before anyone else comes in
    (`to` is available when nobody ever entered: an allocation withdrawn)."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    if not Stay.objects.filter(room=room, state__in=OPEN_STAY_STATES).exists():
        room_move(actor=actor, room=room, state=to, note=note)


def _withdraw(actor: User | None, stay: Stay, note: str) -> None:
    """An allocation not yet entered is cancelled; its room is free again at once."""
    stay.state, stay.note = StayState.CANCELLED, note[:255]
    stay.save(update_fields=["state", "note"])
    _room_left(actor, stay.room, note, to=RoomState.AVAILABLE)


def _leave(actor: User | None, stay: Stay, note: str, room_note: str) -> None:
    """A checked-in person is out; the room awaits disinfection."""
    stay.state, stay.checked_out_at, stay.note = StayState.CHECKED_OUT, timezone.now(), note
    stay.save(update_fields=["state", "checked_out_at", "note"])
    _room_left(actor, stay.room, room_note)


def _not_in_transit(stay: Stay) -> None:
    """Nobody is in two places: a person on a transfer is in the vehicle until the receiving
    side scans their code (which, at this site, checks them in)."""
    leg = (
        TransferLeg.objects.filter(person_id=stay.person_id, state__in=OPEN_LEG_STATES)
        .select_related("transfer")
        .first()
    )
    if leg is not None:
        raise Conflict(
            _(
                "this person is on transfer %(code)s to %(place)s; they are received by "
                "scanning their code on arrival"
            )
            % {"code": leg.transfer.code, "place": leg.transfer.destination_place}
        )


def stay_check_in(*, actor: User, stay: Stay) -> Stay:
    with transaction.atomic():
        stay = _locked_stay(actor, stay, "quarantine.stay")
        if stay.state != StayState.ALLOCATED:
            raise Conflict(_("only an allocated stay can be checked in"))
        _not_in_transit(stay)
        stay.state, stay.checked_in_at = StayState.CHECKED_IN, timezone.now()
        stay.save(update_fields=["state", "checked_in_at"])
        _audit(actor, "quarantine.check_in", [stay], {"room": stay.room_id})
    return stay


def stay_check_out(*, actor: User, stay: Stay, note: str = "") -> Stay:
    """The person leaves (released, transferred to hospital, converted to home quarantine)."""
    with transaction.atomic():
        stay = _locked_stay(actor, stay, "quarantine.stay")
        if stay.state != StayState.CHECKED_IN:
            raise Conflict(_("only a checked-in person can be checked out"))
        _leave(actor, stay, (note or "").strip()[:255], _("checked out"))
        _audit(actor, "quarantine.check_out", [stay], {"room": stay.room_id})
    return stay


def stay_cancel(*, actor: User, stay: Stay, reason: str) -> Stay:
    """Withdraw an allocation before check-in; the room was never entered, so it is free
    again at once, and the measure no longer names the site."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("give a reason"))
    authorize(actor, "quarantine.allocate", region=stay.site.region_path)
    with transaction.atomic():
        stay = Stay.objects.select_for_update().select_related("room", "site").get(pk=stay.pk)
        if stay.state != StayState.ALLOCATED:
            raise Conflict(_("only an allocation not yet checked in can be cancelled"))
        _withdraw(actor, stay, reason)
        measure_assign_site(actor=actor, measure=stay.measure, site_id=None)
        _audit(actor, "quarantine.cancel", [stay], {"reason": reason})
    return stay


def stay_move(*, actor: User, stay: Stay, room: Room, reason: str) -> Stay:
    """Move a checked-in person (alone) to another free room of the same site; the room
    left goes to disinfection."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("give a reason"))
    if room.site_id != stay.site_id:
        raise FieldError("room_id", _("the room is not at this site"))
    with transaction.atomic():
        stay = _locked_stay(actor, stay, "quarantine.stay")
        if stay.state != StayState.CHECKED_IN or stay.family is not None:
            raise Conflict(_("only a checked-in person staying alone can change rooms"))
        target = Room.objects.select_for_update().get(pk=room.pk)
        busy = Stay.objects.filter(room=target, state__in=OPEN_STAY_STATES).exists()
        if target.state != RoomState.AVAILABLE or busy:
            raise Conflict(_("room %(room)s is not free") % {"room": target})
        left = stay.room
        stay.room = target
        stay.save(update_fields=["room"])
        room_move(actor=actor, room=target, state=RoomState.OCCUPIED, note=reason)
        _room_left(actor, left, reason)
        moved = {"from": left.pk, "to": target.pk, "reason": reason}
        _audit(actor, "quarantine.move", [stay], moved)
    return stay


def stay_release_home(*, actor: User, stay: Stay, note: str) -> Stay:
    """Out of the site into the home phase of the measure ("7+3"), which stays in force.
    Authorised by the release's confirmation (quarantine.release.confirm), which calls it."""
    stay = Stay.objects.select_for_update().select_related("room", "site").get(pk=stay.pk)
    if stay.state != StayState.CHECKED_IN:
        raise Conflict(_("only a checked-in person can be checked out"))
    _leave(actor, stay, note[:255], note)
    _audit(actor, "quarantine.check_out", [stay], {"released": True})
    return stay


def stays_follow_measure(
    *, measure: ControlMeasure, actor: User | None, successor: ControlMeasure | None = None
) -> None:
    """The measure behind a stay has ended (people's `measure_ended`, same transaction).

    A centralised quarantine that replaced it keeps the person in their room; otherwise an
    allocation not yet entered is withdrawn (the room is free at once) and a checked-in person
    is checked out (the room awaits disinfection). The measure's decision already authorised
    this, so no quarantine permission is asked here."""
    stay = (
        Stay.objects.select_for_update()
        .filter(measure=measure, state__in=OPEN_STAY_STATES)
        .select_related("room", "site")
        .first()
    )
    if stay is None:
        return
    if successor is not None and successor.kind == MeasureKind.CENTRALISED_QUARANTINE:
        stay.measure = successor
        stay.save(update_fields=["measure"])
        measure_assign_site(actor=actor, measure=successor, site_id=stay.site.institution_id)
        _audit(actor, "quarantine.follow", [stay], {"measure": successor.pk})
        return
    note = _("the measure ended (%(state)s)") % {"state": measure.get_state_display()}
    if stay.state == StayState.ALLOCATED:
        _withdraw(actor, stay, note)
        action = "quarantine.cancel"
    else:
        _leave(actor, stay, note[:255], note)
        action = "quarantine.check_out"
    _audit(actor, action, [stay], {"measure_ended": measure.state})
