"""Writes of quarantine sites and rooms: register a site, add rooms, change their states.

A room's occupancy states (occupied, and awaiting disinfection after someone leaves) are set
by the stay services only; here a room is marked disinfected, taken out of service or put back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError, normalize_phone
from fangkong.quarantine.models import (
    OPEN_STAY_STATES,
    Room,
    RoomEvent,
    RoomState,
    Site,
    SiteState,
    label_of,
)

# Which activation states a site may go to from each (a stood-down site can be held in
# reserve again; a closing site can be reactivated when a wave returns).
SITE_MOVES: dict[str, tuple[str, ...]] = {
    SiteState.RESERVE: (SiteState.ACTIVE, SiteState.STOOD_DOWN),
    SiteState.ACTIVE: (SiteState.CLOSING,),
    SiteState.CLOSING: (SiteState.ACTIVE, SiteState.STOOD_DOWN),
    SiteState.STOOD_DOWN: (SiteState.RESERVE,),
}
# Room states an operator may set, from each state (occupied comes and goes with stays).
ROOM_MOVES: dict[str, tuple[str, ...]] = {
    RoomState.AVAILABLE: (RoomState.OUT_OF_SERVICE,),
    RoomState.DISINFECTION: (RoomState.AVAILABLE, RoomState.OUT_OF_SERVICE),
    RoomState.OUT_OF_SERVICE: (RoomState.AVAILABLE,),
    RoomState.OCCUPIED: (),
}
MAX_ROOMS_PER_CALL = 5000


def _clean_contact(region: Region, grid: Region | None, contact_phone: str) -> str:
    if grid is not None and (
        grid.level != RegionLevel.GRID or not grid.path.startswith(region.path)
    ):
        raise FieldError("grid_id", _("the grid must be a grid inside the site's region"))
    return normalize_phone(contact_phone, field="contact_phone") if contact_phone else ""


def _audit_site(actor: User, site: Site, inst: Institution) -> None:
    audit_record(
        actor=actor,
        action="quarantine.site.create",
        object_type="quarantine_site",
        object_id=site.pk,
        details={"code": inst.code, "region": inst.region.code},
    )


def site_create(
    *,
    actor: User,
    code: str,
    name: str,
    region: Region,
    address: str = "",
    grid: Region | None = None,
    contact_name: str = "",
    contact_phone: str = "",
) -> Site:
    """Register a quarantine site (in reserve) as a new institution of the region."""
    authorize(actor, "quarantine.site.manage", region=region)
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise FieldError("code", _("a site needs a code"))
    if not name:
        raise FieldError("name", _("a site needs a name"))
    phone = _clean_contact(region, grid, contact_phone)
    try:
        with transaction.atomic():
            inst = Institution.objects.create(
                code=code,
                name=name,
                kind=InstitutionKind.QUARANTINE_SITE,
                region=region,
                address=(address or "").strip(),
            )
            site = Site.objects.create(
                institution=inst,
                grid=grid,
                region_path=region.path,
                contact_name=(contact_name or "").strip(),
                contact_phone=phone,
            )
    except IntegrityError:
        raise FieldError("code", _("an institution with this code already exists")) from None
    _audit_site(actor, site, inst)
    return site


def site_register(
    *,
    actor: User,
    institution: Institution,
    grid: Region | None = None,
    contact_name: str = "",
    contact_phone: str = "",
) -> Site:
    """Register an institution already on file (a hotel requisitioned as a quarantine site)
    as a site, in reserve."""
    authorize(actor, "quarantine.site.manage", region=institution.region)
    if institution.kind != InstitutionKind.QUARANTINE_SITE:
        raise FieldError("institution_id", _("the institution is not a quarantine site"))
    phone = _clean_contact(institution.region, grid, contact_phone)
    try:
        with transaction.atomic():
            site = Site.objects.create(
                institution=institution,
                grid=grid,
                region_path=institution.region.path,
                contact_name=(contact_name or "").strip(),
                contact_phone=phone,
            )
    except IntegrityError:
        raise Conflict(_("this institution is already registered as a site")) from None
    _audit_site(actor, site, institution)
    return site


def site_set_state(*, actor: User, site: Site, state: str) -> Site:
    """Activate, close, stand down or hold a site in reserve. A site with people in it cannot
    be stood down."""
    authorize(actor, "quarantine.site.manage", region=site.region_path)
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        if state not in SITE_MOVES.get(site.state, ()):
            raise Conflict(
                _("a site in state “%(from)s” cannot become “%(to)s”")
                % {"from": SiteState(site.state).label, "to": label_of(SiteState, state)}
            )
        if state == SiteState.STOOD_DOWN and site.stays.filter(state__in=OPEN_STAY_STATES).exists():
            raise Conflict(_("people are still quarantined at this site"))
        before, site.state = site.state, state
        site.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor,
        action="quarantine.site.state",
        object_type="quarantine_site",
        object_id=site.pk,
        details={"from": before, "to": state},
    )
    return site


@dataclass(frozen=True)
class RoomIn:
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


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


def room_errors(index: int, room: RoomIn) -> list[RowError]:
    errors = []
    if not room.building.strip():
        errors.append(RowError(index, "building", _("a room needs its building")))
    if not room.number.strip():
        errors.append(RowError(index, "number", _("a room needs its number")))
    if not 1 <= room.capacity <= 6:
        errors.append(RowError(index, "capacity", _("capacity is 1 to 6 persons")))
    if room.side not in ("", "A", "B"):
        errors.append(RowError(index, "side", _("side is A or B (or empty)")))
    if room.side and (room.position is None or not room.corridor.strip()):
        errors.append(
            RowError(index, "position", _("a room on a side needs corridor and position"))
        )
    return errors


def rooms_add(*, actor: User, site: Site, rooms: list[RoomIn]) -> tuple[int, list[RowError]]:
    """Add rooms to a site: all or nothing. Every bad row is reported (row numbers from 1),
    a number already used in the building included; nothing is stored unless all are good."""
    authorize(actor, "quarantine.site.manage", region=site.region_path)
    if len(rooms) > MAX_ROOMS_PER_CALL:
        raise FieldError("rooms", _("at most %(n)s rooms at a time") % {"n": MAX_ROOMS_PER_CALL})
    errors: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    taken = set(site.rooms.values_list("building", "number"))
    for index, room in enumerate(rooms, start=1):
        errors += room_errors(index, room)
        key = (room.building.strip(), room.number.strip())
        if key in seen or key in taken:
            errors.append(RowError(index, "number", _("this room number is already used")))
        seen.add(key)
    if errors:
        return 0, errors
    Room.objects.bulk_create(
        [
            Room(
                site=site,
                region_path=site.region_path,
                building=r.building.strip(),
                floor=r.floor,
                number=r.number.strip(),
                corridor=r.corridor.strip(),
                side=r.side,
                position=r.position,
                capacity=r.capacity,
                accessible=r.accessible,
                child_friendly=r.child_friendly,
                negative_pressure=r.negative_pressure,
            )
            for r in rooms
        ],
        batch_size=1000,
    )
    audit_record(
        actor=actor,
        action="quarantine.rooms.add",
        object_type="quarantine_site",
        object_id=site.pk,
        details={"rooms": len(rooms)},
    )
    return len(rooms), []


def room_set_state(*, actor: User, room: Room, state: str, note: str = "") -> Room:
    """Mark a room disinfected (available again), out of service, or back in service."""
    authorize(actor, "quarantine.room.state", region=room.region_path, institution=_inst(room))
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        if state not in ROOM_MOVES.get(room.state, ()):
            raise Conflict(
                _("a room that is “%(from)s” cannot become “%(to)s”")
                % {"from": RoomState(room.state).label, "to": label_of(RoomState, state)}
            )
        room_move(actor=actor, room=room, state=state, note=note)
    return room


def room_move(*, actor: User | None, room: Room, state: str, note: str = "") -> None:
    """Record a room's new state and its history row; the caller holds the room's lock and
    has checked the move (the stay services use it for occupied and disinfection)."""
    if room.state == state:
        return
    RoomEvent.objects.create(
        room=room, actor=actor, from_state=room.state, to_state=state, note=note[:255]
    )
    room.state = state
    room.save(update_fields=["state", "updated_at"])


def _inst(room: Room) -> Institution:
    return room.site.institution
