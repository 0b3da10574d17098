"""Every read of the quarantine app, scoped to the actor: a district sees the sites in its
jurisdiction and their rooms; site staff their own site; a town its residents' stays
wherever they are quarantined, and the sites inside the town."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from fangkong.core.models import Region, User
from fangkong.core.scoping import ScopedQuerySet
from fangkong.core.vault import mask_name
from fangkong.people.models import ControlMeasure, MeasureKind
from fangkong.people.selectors.measures import measure_list
from fangkong.quarantine.board import Board, board
from fangkong.quarantine.models import (
    ALLOCATABLE_MEASURES,
    OPEN_STAY_STATES,
    Room,
    RoomState,
    Site,
    SiteState,
    Stay,
)

ROOM_COUNTS = {
    f"rooms_{state}": Count("rooms", filter=Q(rooms__state=state)) for state in RoomState.values
}


def site_list(*, actor: User, state: str | None = None) -> QuerySet[Site]:
    qs = (
        Site.objects.visible_to(actor)
        .select_related("institution", "institution__region", "grid")
        .annotate(**ROOM_COUNTS)
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("region_path", "institution__name")


def site_get_qs(*, actor: User) -> ScopedQuerySet[Site]:
    return Site.objects.visible_to(actor).select_related(
        "institution", "institution__region", "grid"
    )


def room_list(*, actor: User, site: Site, state: str | None = None) -> QuerySet[Room]:
    qs = Room.objects.visible_to(actor).filter(site=site)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("building", "floor", "number")


def room_get_qs(*, actor: User) -> ScopedQuerySet[Room]:
    return Room.objects.visible_to(actor).select_related("site", "site__institution")


def stay_list(
    *, actor: User, site: Site | None = None, open_only: bool = False, state: str | None = None
) -> QuerySet[Stay]:
    qs = Stay.objects.visible_to(actor).select_related(
        "person", "room", "site", "site__institution", "measure"
    )
    if site is not None:
        qs = qs.filter(site=site)
    if open_only:
        qs = qs.filter(state__in=OPEN_STAY_STATES)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-allocated_at", "-id")


def stay_get_qs(*, actor: User) -> ScopedQuerySet[Stay]:
    return Stay.objects.visible_to(actor).select_related(
        "person", "room", "site", "site__institution", "measure"
    )


def region_get_qs(*, actor: User) -> ScopedQuerySet[Region]:
    return Region.objects.visible_to(actor)


def site_room_counts(site: Any) -> dict[str, int]:
    """The room counts a `site_list` row carries, by state."""
    return {state: getattr(site, f"rooms_{state}", 0) for state in RoomState.values}


def site_board(*, actor: User, site: Site) -> Board:
    """The room grid of a site the actor can see: two queries, whatever its size. A room
    shows the occupants the actor may see (site staff: all; a region: its residents); an
    occupied room of someone else's resident shows as occupied, without a name."""
    rooms = Room.objects.visible_to(actor).filter(site=site)
    open_stays = (
        Stay.objects.visible_to(actor)
        .filter(site=site, state__in=OPEN_STAY_STATES)
        .select_related("person")
        .only("id", "room_id", "cohort", "state", "slot", "person__name")
        .order_by("room_id", "slot")
    )
    return board(rooms, ((s, mask_name(s.person.name)) for s in open_stays))


def awaiting_room(*, actor: User) -> QuerySet[ControlMeasure]:
    """Centralised quarantines, proposed or in force, that have no room yet (应隔尽隔: the
    list a command office works down until it is empty)."""
    housed = Stay.objects.filter(state__in=OPEN_STAY_STATES).values("measure_id")
    return (
        measure_list(actor=actor, kind=MeasureKind.CENTRALISED_QUARANTINE)
        .filter(state__in=ALLOCATABLE_MEASURES)
        .exclude(pk__in=housed)
        .order_by("start_date", "id")
    )


def active_sites(*, actor: User) -> QuerySet[Site]:
    """Sites that take people now, with their free rooms, for an allocation form."""
    return site_list(actor=actor, state=SiteState.ACTIVE)
