"""The room reserve and the rooms needed soon, per jurisdiction: reads only, scoped to the
actor, a fixed number of queries whatever the size of the city.

For a region and each region below it: the rooms of its sites by state (sites stood down are
no longer part of the reserve), the usable rooms per 10,000 registered residents against the
standard, the free rooms at active sites, and the need —

- next 24 h: centralised quarantines (proposed or in force) with no room, starting by tomorrow;
- next 72 h: those starting within three days, plus close contacts still being traced who have
  no measure yet (they will be proposed one when they are reached).

Free rooms below the region's alarm threshold, or below the 24 h need, raise the alarm the
command office's home page lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from fangkong.core.errors import NotFound
from fangkong.core.models import Region, User, ancestor_paths
from fangkong.core.selectors import region_children, region_roots
from fangkong.people.measures_models import IN_FORCE_STATES
from fangkong.people.models import ControlMeasure
from fangkong.quarantine.models import ReservePolicy, Room, RoomState, SiteState
from fangkong.quarantine.selectors import awaiting_room
from fangkong.tracing.models import CaseContact, TraceStatus

CLOSE_CONTACT = 1


@dataclass(frozen=True)
class Policy:
    rooms_per_10k: int
    min_free_rooms: int
    # the region whose policy this is; None: the deployment's defaults
    set_at: Region | None = None


@dataclass
class ReserveRow:
    region: Region
    policy: Policy
    rooms: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RoomState.values, 0))
    free: int = 0  # available rooms at active sites: what can be allocated now
    standby: int = 0  # available rooms at reserve sites: what activating them would add
    need_24h: int = 0
    need_72h: int = 0

    @property
    def total(self) -> int:
        return sum(self.rooms.values())

    @property
    def usable(self) -> int:
        return self.total - self.rooms[RoomState.OUT_OF_SERVICE]

    @property
    def per_10k(self) -> float | None:
        if not self.region.population:
            return None
        return self.usable * 10_000 / self.region.population

    @property
    def required(self) -> int:
        """Rooms the standard asks of this region's registered population."""
        return -(-self.region.population * self.policy.rooms_per_10k // 10_000)

    @property
    def meets_standard(self) -> bool:
        return self.usable >= self.required

    @property
    def alarm(self) -> bool:
        # a region that holds no site (most towns) is housed by the one above it
        if not self.total:
            return False
        return self.free < self.policy.min_free_rooms or self.free < self.need_24h


RowsOf = Callable[[str], list[ReserveRow]]


@dataclass
class Reserve:
    region: Region
    total: ReserveRow
    rows: list[ReserveRow]  # one per region directly below, in code order
    as_of: dt.datetime


def default_policy() -> Policy:
    return Policy(settings.QUARANTINE_ROOMS_PER_10K, settings.QUARANTINE_MIN_FREE_ROOMS)


def policies_for(regions: Iterable[Region]) -> dict[int, Policy]:
    """Each region's policy: its own, else the nearest above it, else the defaults."""
    regions = list(regions)
    paths = {p for r in regions for p in ancestor_paths(r.path, include_self=True)}
    stored = {
        p.region_path: p
        for p in ReservePolicy.objects.filter(region_path__in=paths).select_related("region")
    }
    fallback = default_policy()
    found: dict[int, Policy] = {}
    for region in regions:
        found[region.pk] = fallback
        for path in reversed(ancestor_paths(region.path, include_self=True)):
            if path in stored:
                own = stored[path]
                found[region.pk] = Policy(own.rooms_per_10k, own.min_free_rooms, own.region)
                break
    return found


def reserve_region(*, actor: User, region: Region | None = None, forecast: bool = True) -> Reserve:
    """The reserve of `region` (default: the actor's own) and of each region below it; the
    caller has looked `region` up in the actor's scope. Without `forecast` the 72 h need
    leaves out the close contacts still being traced (the alarm does not use it, and the home
    page should not pay for it)."""
    if region is None:
        region = home_region(actor)
        if region is None:
            raise NotFound()
    children = list(region_children(actor=actor, region=region))
    policies = policies_for([region, *children])
    total = ReserveRow(region, policies[region.pk])
    rows = {c.code: ReserveRow(c, policies[c.pk]) for c in children}

    def rows_of(path: str) -> list[ReserveRow]:
        code = region.child_code(path)
        return [total, rows[code]] if code in rows else [total]

    _count_rooms(actor, region, rows_of)
    _count_need(actor, region, rows_of, forecast)
    return Reserve(region=region, total=total, rows=list(rows.values()), as_of=timezone.now())


def _count_rooms(actor: User, region: Region, rows_of: RowsOf) -> None:
    rooms = (
        Room.objects.visible_to(actor)
        .filter(region_path__startswith=region.path)
        .exclude(site__state=SiteState.STOOD_DOWN)
        .order_by()
        .values("region_path", "site__state", "state")
        .annotate(n=Count("id"))
    )
    for row in rooms:
        for target in rows_of(row["region_path"]):
            target.rooms[row["state"]] += row["n"]
            if row["state"] == RoomState.AVAILABLE:
                if row["site__state"] == SiteState.ACTIVE:
                    target.free += row["n"]
                elif row["site__state"] == SiteState.RESERVE:
                    target.standby += row["n"]


def _count_need(actor: User, region: Region, rows_of: RowsOf, forecast: bool) -> None:
    today = timezone.localdate()
    waiting = (
        awaiting_room(actor=actor)
        .filter(region_path__startswith=region.path)
        .order_by()
        .values("region_path")
        .annotate(
            d1=Count("id", filter=Q(start_date__lte=today + dt.timedelta(days=1))),
            d3=Count("id", filter=Q(start_date__lte=today + dt.timedelta(days=3))),
        )
    )
    for row in waiting:
        for target in rows_of(row["region_path"]):
            target.need_24h += row["d1"]
            target.need_72h += row["d3"]
    if not forecast:
        return
    for path, n in _untraced_close_contacts(actor, region):
        for target in rows_of(path):
            target.need_72h += n


def _untraced_close_contacts(actor: User, region: Region) -> list[tuple[str, int]]:
    """Close contacts not yet reached (no measure proposed, none in force), per region of
    the case that traces them, each person once however many cases they were found through
    in that region."""
    in_force = ControlMeasure.objects.filter(
        person_id=OuterRef("person_id"), state__in=IN_FORCE_STATES
    )
    rows = (
        CaseContact.objects.visible_to(actor)
        .filter(
            region_path__startswith=region.path,
            generation=CLOSE_CONTACT,
            trace_status=TraceStatus.PENDING,
            measure__isnull=True,
        )
        .filter(~Exists(in_force))
        .order_by()
        .values("region_path")
        .annotate(n=Count("person_id", distinct=True))
    )
    return [(r["region_path"], r["n"]) for r in rows]


def home_region(actor: User) -> Region | None:
    """Where the reserve page opens: the actor's jurisdiction, or for site staff (who have
    none) the region of their site, whose rooms alone they see."""
    root = region_roots(actor=actor).first()
    if root is None and actor.institution is not None:
        root = actor.institution.region
    return root


def alarms(*, actor: User) -> list[ReserveRow]:
    """The regions of the actor's jurisdiction (its own and those directly below) whose free
    rooms are below their threshold or their next day's need."""
    root = home_region(actor)
    if root is None:
        return []
    reserve = reserve_region(actor=actor, region=root, forecast=False)
    return [row for row in [reserve.total, *reserve.rows] if row.alarm]
