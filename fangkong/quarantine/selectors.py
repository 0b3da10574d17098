"""Every read of the quarantine app, scoped to the actor: a district sees the sites in its
jurisdiction and their rooms; site staff their own site; a town its residents' stays
wherever they are quarantined, and the sites inside the town."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from fangkong.core.models import Region, Role, User
from fangkong.core.scoping import ScopedQuerySet, scope_of, unscoped
from fangkong.core.vault import mask_name
from fangkong.people.measures_models import IN_FORCE_STATES, MeasureTest
from fangkong.people.models import ControlMeasure, MeasureKind
from fangkong.people.selectors.measures import measure_list
from fangkong.quarantine.board import Board, board
from fangkong.quarantine.health import CHECKED_KINDS, HOME_KINDS, missed_slots
from fangkong.quarantine.models import (
    ALLOCATABLE_MEASURES,
    OPEN_LEG_STATES,
    OPEN_STAY_STATES,
    OPEN_TRANSFER_STATES,
    DoorEvent,
    HealthCheck,
    LegState,
    Release,
    ReleaseState,
    Room,
    RoomState,
    Site,
    SiteState,
    Stay,
    StayState,
    Transfer,
    TransferLeg,
)
from fangkong.quarantine.release_rules import ReleaseCheck, release_check, site_until

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
    # released into the home phase of a "7+3": in force, but done with the site
    released = Release.objects.filter(state=ReleaseState.CONFIRMED).values("measure_id")
    return (
        measure_list(actor=actor, kind=MeasureKind.CENTRALISED_QUARANTINE)
        .filter(state__in=ALLOCATABLE_MEASURES)
        .exclude(pk__in=housed)
        .exclude(pk__in=released)
        .order_by("start_date", "id")
    )


def active_sites(*, actor: User) -> QuerySet[Site]:
    """Sites that take people now, with their free rooms, for an allocation form."""
    return site_list(actor=actor, state=SiteState.ACTIVE)


# -- transfers ----------------------------------------------------------------------------------


def _with_overdue(qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
    """Overdue is derived at query time: still open past its deadline."""
    late = Q(state__in=OPEN_TRANSFER_STATES, deadline__lt=timezone.now())
    return qs.annotate(
        overdue=Case(When(late, then=Value(True)), default=Value(False)),
        persons=Count("legs", filter=~Q(legs__state=LegState.CANCELLED)),
        delivered=Count("legs", filter=Q(legs__state=LegState.DELIVERED)),
    )


def transfer_list(
    *, actor: User, state: str | None = None, overdue: bool = False, mine: bool = False
) -> QuerySet[Transfer]:
    """Transfers the actor can see, soonest deadline first; `mine`: those the actor drives."""
    qs = _with_overdue(
        Transfer.objects.visible_to(actor).select_related("driver", "destination_site__institution")
    )
    if state == "open":
        qs = qs.filter(state__in=OPEN_TRANSFER_STATES)
    elif state and state != "all":
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state__in=OPEN_TRANSFER_STATES, deadline__lt=timezone.now())
    if mine:
        qs = qs.filter(driver=actor)
    return qs.order_by("deadline", "id")


def transfer_legs(*, actor: User, transfer: Transfer) -> list[tuple[TransferLeg, str]]:
    """The persons on a transfer (names masked) with their handovers, in two queries."""
    legs = (
        TransferLeg.objects.visible_to(actor)
        .filter(transfer=transfer)
        .select_related("person")
        .only("id", "state", "person_id", "transfer_id", "measure_id", "person__name")
        .prefetch_related("handovers__by")
    )
    return [(leg, mask_name(leg.person.name)) for leg in legs]


def drivers(*, actor: User) -> QuerySet[User]:
    """Accounts that may drive a transfer in the actor's jurisdiction, for a dispatch form."""
    scope = scope_of(actor)
    if scope.region_path is None:
        return User.objects.none()
    return User.objects.filter(
        is_active=True, role=Role.DRIVER, region__path__startswith=scope.region_path
    ).order_by("username")


def awaiting_transfer(*, actor: User) -> QuerySet[ControlMeasure]:
    """Persons allocated a room but not yet there and not on a vehicle: the dispatch list."""
    allocated = Stay.objects.filter(state="allocated").values("measure_id")
    moving = TransferLeg.objects.filter(state__in=OPEN_LEG_STATES).values("person_id")
    return (
        measure_list(actor=actor, kind=MeasureKind.CENTRALISED_QUARANTINE)
        .filter(pk__in=allocated)
        .exclude(person_id__in=moving)
        .order_by("start_date", "id")
    )


# -- daily health -------------------------------------------------------------------------------


@dataclass
class HealthRow:
    stay: Stay
    name: str  # masked
    checks: dict[str, HealthCheck]  # by slot, today's
    missed: list[str]
    tests_due: list[dt.date]  # test days up to today without a result: sampling tasks

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.checks.values())


def _day_checks(
    actor: User, measure_ids: list[int], day: dt.date
) -> defaultdict[int, dict[str, HealthCheck]]:
    """The day's checks of these measures, by measure and slot: one query."""
    checks: defaultdict[int, dict[str, HealthCheck]] = defaultdict(dict)
    for check in HealthCheck.objects.visible_to(actor).filter(measure_id__in=measure_ids, day=day):
        checks[check.measure_id][check.slot] = check
    return checks


def site_health(*, actor: User, site: Site, day: dt.date | None = None) -> list[HealthRow]:
    """Everyone checked in at the site with the day's checks, the checks missed and the
    tests due: three queries whatever the number of rooms."""
    day = day or timezone.localdate()
    stays = list(
        Stay.objects.visible_to(actor)
        .filter(site=site, state="checked_in")
        .select_related("person", "room", "measure")
        .order_by("room__building", "room__floor", "room__number", "slot")
    )
    measure_ids = [s.measure_id for s in stays]
    checks = _day_checks(actor, measure_ids, day)
    due: dict[int, list[dt.date]] = defaultdict(list)
    tests = MeasureTest.objects.filter(measure_id__in=measure_ids, day__lte=day, result="")
    for measure_id, test_day in tests.order_by("day").values_list("measure_id", "day"):
        due[measure_id].append(test_day)
    return [
        HealthRow(
            stay=s, name=mask_name(s.person.name), checks=checks[s.measure_id],
            missed=missed_slots(day, set(checks[s.measure_id])), tests_due=due[s.measure_id],
        )
        for s in stays
    ]  # fmt: skip


def checked_measure(*, person_id: int) -> ControlMeasure | None:
    """The measure in force whose daily checks the person reports by their own link.
    Unscoped on purpose: the link's secret is the credential (the page shows only masks)."""
    with unscoped("a person's own link opens their own measure"):
        return (
            ControlMeasure.objects.filter(
                person_id=person_id, state__in=IN_FORCE_STATES, kind__in=CHECKED_KINDS
            )
            .order_by("-start_date")
            .first()
        )


# -- home quarantine ----------------------------------------------------------------------------


@dataclass
class HomeRow:
    measure: ControlMeasure
    name: str  # masked
    checks: dict[str, HealthCheck]
    missed: list[str]
    alerts: list[DoorEvent]  # not yet handled

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.checks.values())


def _home_measures(actor: User) -> QuerySet[ControlMeasure]:
    return measure_list(actor=actor).filter(kind__in=HOME_KINDS, state__in=IN_FORCE_STATES)


def home_watch(*, actor: User, limit: int = 500) -> list[HomeRow]:
    """Persons under home quarantine or monitoring in the actor's jurisdiction: today's
    checks, the checks missed, the door alerts not yet handled. Four queries."""
    day = timezone.localdate()
    measures = list(_home_measures(actor).select_related("person", "region")[:limit])
    ids = [m.pk for m in measures]
    checks = _day_checks(actor, ids, day)
    alerts: dict[int, list[DoorEvent]] = defaultdict(list)
    open_alerts = DoorEvent.objects.visible_to(actor).filter(
        sensor__measure_id__in=ids, handled_at__isnull=True
    )
    for event in open_alerts.select_related("sensor"):
        alerts[event.sensor.measure_id].append(event)
    rows = [
        HomeRow(
            measure=m, name=mask_name(m.person.name), checks=checks[m.pk],
            missed=missed_slots(day, set(checks[m.pk])), alerts=alerts[m.pk],
        )
        for m in measures
    ]  # fmt: skip
    # alerts first, then missed checks: the grid worker's round starts where it matters
    return sorted(rows, key=lambda r: (not r.alerts, not (r.missed or r.flagged)))


@dataclass
class HomeRollup:
    region: Region
    under_watch: int = 0
    missed: int = 0  # check-ins missed today (one per person and slot)
    alerts: int = 0  # door alerts not yet handled


def home_rollup(*, actor: User, region: Region) -> list[HomeRollup]:
    """Per region directly below `region`, and the region itself first: persons under home
    watch, today's missed check-ins, open door alerts. A fixed number of queries."""
    day = timezone.localdate()
    children = list(Region.objects.visible_to(actor).filter(parent=region).order_by("code"))
    total = HomeRollup(region)
    rows = {c.code: HomeRollup(c) for c in children}

    def targets(path: str) -> list[HomeRollup]:
        code = region.child_code(path)
        return [total, rows[code]] if code in rows else [total]

    measures = _home_measures(actor).filter(region_path__startswith=region.path)
    due = missed_slots(day, set())
    for path, n in measures.order_by().values_list("region_path").annotate(n=Count("id")):
        for t in targets(path):
            t.under_watch += n
            t.missed += n * len(due)
    done = (
        HealthCheck.objects.visible_to(actor)
        .filter(measure__in=measures, day=day, slot__in=due)
        .order_by()
        .values_list("region_path")
        .annotate(n=Count("id"))
    )
    for path, n in done:
        for t in targets(path):
            t.missed -= n
    alerts = (
        DoorEvent.objects.visible_to(actor)
        .filter(region_path__startswith=region.path, handled_at__isnull=True)
        .order_by()
        .values_list("region_path")
        .annotate(n=Count("id"))
    )
    for path, n in alerts:
        for t in targets(path):
            t.alerts += n
    return [total, *rows.values()]


def door_event_get_qs(*, actor: User) -> ScopedQuerySet[DoorEvent]:
    return DoorEvent.objects.visible_to(actor).select_related("sensor")


# -- releases -----------------------------------------------------------------------------------


@dataclass
class DueRow:
    stay: Stay
    name: str  # masked
    check: ReleaseCheck
    release: Release | None  # the latest proposal, if any


def release_due(*, actor: User, site: Site, ahead_days: int = 1) -> list[DueRow]:
    """Everyone checked in at the site whose days there end by `ahead_days` from today (or
    have ended), with the verdict on their release and the latest proposal: three queries."""
    today = timezone.localdate()
    stays = list(
        Stay.objects.visible_to(actor)
        .filter(site=site, state=StayState.CHECKED_IN)
        .select_related("person", "room", "measure")
        .order_by("room__building", "room__floor", "room__number", "slot")
    )
    horizon = today + dt.timedelta(days=ahead_days)
    stays = [s for s in stays if site_until(s.measure)[0] <= horizon]
    ids = [s.measure_id for s in stays]
    tests: defaultdict[int, list[MeasureTest]] = defaultdict(list)
    for test in MeasureTest.objects.filter(measure_id__in=ids):
        tests[test.measure_id].append(test)
    latest: dict[int, Release] = {}
    for release in (
        Release.objects.visible_to(actor).filter(stay__in=stays).order_by("proposed_at", "id")
    ):
        latest[release.stay_id] = release
    rows = [
        DueRow(stay=s, name=mask_name(s.person.name),
               check=release_check(s.measure, tests[s.measure_id], today),
               release=latest.get(s.pk))
        for s in stays
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r.check.site_until, not r.check.met))


def release_list(
    *, actor: User, state: str | None = None, site: Site | None = None
) -> QuerySet[Release]:
    qs = Release.objects.visible_to(actor).select_related(
        "site__institution", "person", "stay__room"
    )
    if state:
        qs = qs.filter(state=state)
    if site is not None:
        qs = qs.filter(site=site)
    return qs


def release_get_qs(*, actor: User) -> ScopedQuerySet[Release]:
    return Release.objects.visible_to(actor).select_related(
        "site__institution", "person", "stay__room", "measure"
    )


def release_by_token(token: str) -> Release | None:
    """The release a notice's QR code names. Unscoped on purpose: the random secret is the
    credential, and the page it serves shows only validity and dates."""
    if not token or len(token) > 48:
        return None
    with unscoped("a notice's QR code verifies the notice"):
        return Release.objects.filter(token=token).first()
