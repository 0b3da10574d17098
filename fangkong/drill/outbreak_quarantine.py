"""The demo outbreak's quarantine: the city's requisitioned hotels registered as sites with
their floors of rooms, one site per district active (and the demo site account's own), and
every centralised quarantine of the outbreak housed — those in force checked in, proposals
allocated and waiting to arrive. A room out of service and two rooms left to disinfect after
a room change give the board every colour; two persons whose days are served are released
(one confirmed, one waiting for confirmation). All through the quarantine services, as the
command office."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.utils import timezone

from fangkong.core.errors import Conflict
from fangkong.core.models import Institution, InstitutionKind, RegionLevel, User
from fangkong.drill.outbreak_stage import Stage
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.people.measures_models import IN_FORCE_STATES, MeasureTest
from fangkong.people.models import ControlMeasure, MeasureState
from fangkong.people.services.measure_results import measure_record_test
from fangkong.quarantine import selectors as qsel
from fangkong.quarantine.health import HOME_KINDS
from fangkong.quarantine.models import RoomState, Site, SiteState, Stay, Transfer
from fangkong.quarantine.release_rules import site_until
from fangkong.quarantine.services import doors, health, releases, sites, stays, transfers

DRIVER_ACCOUNT = "driver_1"

SITE_ACCOUNT = "quarantine_1"
ROOMS_PER_FLOOR = 20  # two corridors of five facing pairs
MAX_FLOORS = 12


def _floor_rooms(floor: int) -> list[sites.RoomIn]:
    rooms = []
    for corridor in ("1", "2"):
        for side in ("A", "B"):
            for pos in range(1, ROOMS_PER_FLOOR // 4 + 1):
                number = f"{floor}{corridor}{'0' if side == 'A' else '5'}{pos}"
                rooms.append(
                    sites.RoomIn(
                        building="1",
                        floor=floor,
                        number=number,
                        corridor=corridor,
                        side=side,
                        position=pos,
                        # the corridor's last pair are family rooms; the first floor's
                        # first rooms are accessible
                        capacity=2 if pos == ROOMS_PER_FLOOR // 4 else 1,
                        accessible=floor == 1 and pos == 1,
                        child_friendly=pos == ROOMS_PER_FLOOR // 4,
                    )
                )
    return rooms


def _register(office: User, inst: Institution) -> Site:
    site = sites.site_register(
        actor=office, institution=inst, contact_name="值班经理", contact_phone=""
    )
    floors = max(2, min(MAX_FLOORS, inst.capacity // ROOMS_PER_FLOOR))
    rooms = [room for floor in range(1, floors + 1) for room in _floor_rooms(floor)]
    sites.rooms_add(actor=office, site=site, rooms=rooms)
    return site


def seed_quarantine(stage: Stage) -> dict[str, int]:
    office = stage.cast.command_office
    city_path = next(r.path for r in stage.regions.values() if r.level == RegionLevel.CITY)
    districts = [r.path for r in stage.regions.values() if r.level == RegionLevel.DISTRICT]

    def _district(path: str) -> str:
        return next((d for d in districts if path.startswith(d)), city_path)

    own = User.objects.filter(username=SITE_ACCOUNT, is_demo=True).first()
    institutions = Institution.objects.filter(
        kind=InstitutionKind.QUARANTINE_SITE, region__path__startswith=city_path
    ).select_related("region")
    by_district: dict[str, list[Site]] = defaultdict(list)
    for inst in institutions.order_by("code"):
        site = _register(office, inst)
        district = _district(inst.region.path)
        first = not by_district[district]
        if first or (own is not None and own.institution_id == inst.pk):
            site = sites.site_set_state(actor=office, site=site, state=SiteState.ACTIVE)
        by_district[district].append(site)
    housed = _house(office, by_district, _district)
    _incidents(office, own)
    moving = _transfers(office, own)
    released = _releases(office, own)
    _health(own)
    _home(office)
    return {
        "quarantine_sites": len(institutions), "housed": housed, "transfers": moving,
        "releases": released,
    }  # fmt: skip


def _house(
    office: User, by_district: dict[str, list[Site]], district_of: Callable[[str], str]
) -> int:
    """Every centralised quarantine of the outbreak gets a room in its district's active
    site (any active site when its district's is full)."""
    active = [s for group in by_district.values() for s in group if s.state == SiteState.ACTIVE]
    waiting: dict[str, list[ControlMeasure]] = {}
    for measure in qsel.awaiting_room(actor=office):
        waiting.setdefault(district_of(measure.region_path), []).append(measure)
    housed = 0
    for district, measures in waiting.items():
        local = [s for s in by_district.get(district, []) if s in active]
        for site in [*local, *(s for s in active if s not in local)]:
            if not measures:
                break
            done = stays.stays_allocate_many(actor=office, measures=measures, site=site)
            for stay in done.stays:
                if stay.measure.state != MeasureState.PROPOSED:
                    stays.stay_check_in(actor=office, stay=stay)
            housed += len(done.stays)
            measures = [m for m, _why in done.refused]
    return housed


def _incidents(office: User, own: User | None) -> None:
    """A broken room and two room changes at the demo site account's site."""
    site = None
    if own is not None and own.institution_id is not None:
        site = Site.objects.filter(institution_id=own.institution_id).first()
    if site is None:
        return
    free = list(site.rooms.filter(state=RoomState.AVAILABLE, capacity=1).order_by("-floor"))
    if len(free) < 3:
        return
    sites.room_set_state(
        actor=office, room=free[0], state=RoomState.OUT_OF_SERVICE, note="空调故障，待维修"
    )
    moved = Stay.objects.filter(site=site, state="checked_in", family__isnull=True)[:2]
    for stay, target in zip(list(moved), free[1:3], strict=False):
        stays.stay_move(actor=office, stay=stay, room=target, reason="卫生间漏水，换房")


def _transfers(office: User, own: User | None) -> int:
    """Three vehicles to the demo site account's site from the persons allocated a room there
    and not yet arrived: one completed (picked up at the checkpoint, received at the door, so
    checked in), one under way with one of two persons delivered, one overdue."""
    driver = User.objects.filter(username=DRIVER_ACCOUNT, is_demo=True).first()
    if own is None or own.institution_id is None or driver is None:
        return 0
    site = Site.objects.filter(institution_id=own.institution_id).first()
    waiting = list(
        Stay.objects.filter(site=site, state="allocated").select_related("measure", "person")
    )
    if site is None or len(waiting) < 4:
        return 0
    now = timezone.now()

    def dispatch(group: list[Stay], plate: str, hours: int) -> Transfer:
        return transfers.transfer_create(
            actor=office,
            measures=[s.measure for s in group],
            route=transfers.Route(
                pickup_kind="checkpoint",
                pickup_place="沈海高速东港收费站卡口",
                destination_kind="site",
                destination_site=site,
            ),
            crew=transfers.Crew(vehicle=plate, driver=driver, escort="随车医生 周"),
            deadline=now + dt.timedelta(hours=hours),
        )

    def scan(by: User, transfer: Transfer, stay: Stay, place: str) -> None:
        code = registration_code_for(person=stay.person).token
        transfers.transfer_scan(actor=by, transfer=transfer, code=code, place=place)

    done = dispatch(waiting[:1], "浙C·Z0101", 2)
    scan(driver, done, waiting[0], "收费站卡口")
    scan(own, done, waiting[0], "隔离点大门")
    going = dispatch(waiting[1:3], "浙C·Z0102", 2)
    for stay in waiting[1:3]:
        scan(driver, going, stay, "收费站卡口")
    scan(own, going, waiting[1], "隔离点大门")
    late = dispatch(waiting[3:4], "浙C·Z0103", 1)
    # dispatched three hours ago with a two-hour limit: overdue now
    Transfer.objects.filter(pk=late.pk).update(deadline=now - dt.timedelta(hours=1))
    return 3


def _releases(office: User, own: User | None) -> int:
    """Two persons whose days at a site are served (the demo site's own first): the lab's
    negative results in, one released by the command office (its notice printable), one
    proposed and waiting for confirmation."""
    guests = (
        Stay.objects.filter(state="checked_in", measure__state__in=IN_FORCE_STATES)
        .select_related("measure", "site__institution")
        .order_by("measure__start_date", "id")
    )
    today = timezone.localdate()
    mine = own.institution_id if own is not None else None
    due = [s for s in guests if site_until(s.measure)[0] <= today]
    due.sort(key=lambda s: s.site.institution_id != mine)
    proposed = []
    for stay in due[:4]:
        for test in MeasureTest.objects.filter(measure=stay.measure, day__lte=today, result=""):
            measure_record_test(measure=stay.measure, on=test.day, result="negative")
        by = own if own is not None and stay.site.institution_id == mine else office
        try:
            proposed.append(releases.release_propose(actor=by, stay=stay, note="期满，核酸均阴性"))
        except Conflict:  # a result of the outbreak's own (positive, invalid) stands
            continue
        if len(proposed) == 2:
            break
    if proposed:
        releases.release_confirm(actor=office, release=proposed[0])
    return len(proposed)


def _health(own: User | None) -> None:
    """This morning's checks at the demo site, by its staff: everyone in force but two
    (missed), one with a fever and a cough for the site doctor."""
    if own is None or own.institution_id is None:
        return
    guests = Stay.objects.filter(
        site__institution_id=own.institution_id, state="checked_in",
        measure__state__in=IN_FORCE_STATES,
    ).select_related("measure").order_by("room__number")  # fmt: skip
    for i, stay in enumerate(list(guests)[2:]):
        fever = i == 0
        health.health_check_record(
            actor=own, measure=stay.measure, temperature="37.9" if fever else f"36.{i % 8}",
            symptoms=["cough"] if fever else [], via="staff", slot="am",
        )  # fmt: skip


def _home(office: User) -> None:
    """Home quarantine across the city: this morning's check-ins reported by the persons'
    links, two missed, and a door sensor that reported the door opened."""
    homes = list(
        ControlMeasure.objects.filter(kind__in=HOME_KINDS, state__in=IN_FORCE_STATES).order_by(
            "id"
        )[:12]
    )
    if not homes:
        return
    for measure in homes[2:]:
        health.health_check_record(
            actor=None, measure=measure, temperature="36.4", symptoms=[], via="self", slot="am"
        )
    doors.door_sensor_install(actor=office, measure=homes[0], device_id="DEMO-DS-0001")
    opened = timezone.now() - dt.timedelta(minutes=40)
    doors.door_events_ingest(
        actor=office, events=[doors.EventIn("DEMO-DS-0001", "demo-1", "opened", opened)]
    )
