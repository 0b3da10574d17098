"""The demo outbreak's risk areas elsewhere, zones inside the city, and arrivals: screening
records in the towns' inboxes, a few confirmed and classified by the rule table, and pending
self-declarations whose tokens can be looked up.

Place names, notices and notes are demo data written as the real units would write them
(Chinese), like the city's own place names, so they are not translated.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from fangkong.core import vault
from fangkong.core.models import Region, RegionLevel
from fangkong.drill.outbreak_stage import Stage, record_tests, release, start
from fangkong.drill.residents import ResidentMaker
from fangkong.people.models import IdType, Person
from fangkong.people.services.persons import (
    ADDRESS_PURPOSE,
    ID_PURPOSE,
    PHONE_PURPOSE,
    id_number_index,
)
from fangkong.screening.models import (
    RiskAreaKind,
    RiskLevel,
    ScreeningRecord,
    ScreeningSource,
    TravelMode,
    ZoneKind,
)
from fangkong.screening.services.areas import (
    risk_area_create,
    risk_area_revise,
    risk_area_validate,
    zone_create,
    zone_validate,
)
from fangkong.screening.services.arrivals import (
    ScreeningData,
    screening_create,
    screening_validate,
    self_declaration_submit,
)

# -- risk areas elsewhere --------------------------------------------------------------------


@dataclass(frozen=True)
class AreaSpec:
    code: str
    name: str
    level: str
    since_days: int
    until_days: int | None = None  # days ago it ended; None: still in force
    kind: str = RiskAreaKind.AREA
    lowered_days: int | None = None  # revised down to low risk this many days ago
    source: str = ""


SH_NOTICE = "上海市疫情防控工作领导小组办公室通告"
RISK_AREAS = (
    AreaSpec("310115", "上海市浦东新区", RiskLevel.HIGH, 12, source=SH_NOTICE),
    AreaSpec("310104", "上海市徐汇区", RiskLevel.MEDIUM, 9, source=SH_NOTICE),
    AreaSpec("110105", "北京市朝阳区", RiskLevel.MEDIUM, 6, source="北京市疫情防控通告"),
    AreaSpec(
        "440305", "广东省深圳市南山区", RiskLevel.HIGH, 20, lowered_days=5,
        source="深圳市疫情防控指挥部通告",
    ),
    AreaSpec("120101", "天津市和平区", RiskLevel.MEDIUM, 30, until_days=16, source="天津市通告"),
    AreaSpec(
        "", "观前街百货商场", RiskLevel.LOW, 8, kind=RiskAreaKind.CASE_PLACE,
        source="苏州市病例活动轨迹通报",
    ),
)  # fmt: skip


def seed_risk_areas(stage: Stage) -> int:
    actor = stage.cast.command_office
    for spec in RISK_AREAS:
        ended = None if spec.until_days is None else stage.now - dt.timedelta(days=spec.until_days)
        area = risk_area_create(
            actor=actor,
            data=risk_area_validate(
                name=spec.name,
                division_code=spec.code,
                level=spec.level,
                kind=spec.kind,
                valid_from=stage.now - dt.timedelta(days=spec.since_days),
                valid_to=ended,
                source=spec.source,
            ),
        )
        if spec.lowered_days is not None:
            risk_area_revise(
                actor=actor,
                area=area,
                data=risk_area_validate(
                    name=spec.name,
                    division_code=spec.code,
                    level=RiskLevel.LOW,
                    valid_from=stage.now - dt.timedelta(days=spec.lowered_days),
                    source=spec.source,
                ),
            )
    return len(RISK_AREAS)


def seed_zones(stage: Stage, *, grid: Region, since: dt.datetime) -> int:
    """A lockdown over the first case's grid and a control zone over the rest of its
    community, for the seven days from the case's report."""
    community = stage.regions[grid.code[:12]]
    others = sorted(
        r.code
        for r in stage.regions.values()
        if r.parent_id == community.pk and r.level == RegionLevel.GRID and r.pk != grid.pk
    )
    actor = stage.cast.area_writer_for(community.path)
    notice = "示范市新冠肺炎疫情防控指挥部通告（第12号）"
    zones = [(f"{grid.name}封控区", ZoneKind.LOCKDOWN, [grid.code])]
    if others:
        zones.append((f"{community.name}管控区", ZoneKind.CONTROL, others))
    for name, kind, codes in zones:
        zone_create(
            actor=actor,
            data=zone_validate(
                actor=actor,
                name=name,
                kind=kind,
                grid_codes=codes,
                valid_from=since,
                valid_to=since + dt.timedelta(days=7),
                notice=notice,
            ),
        )
    return len(zones)


# -- arrivals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    code: str
    place: str
    via: str = ""  # a place on the way, visited two days before arriving


HIGH = Origin("310115", "上海市浦东新区")
MEDIUM_SH = Origin("310104", "上海市徐汇区")
MEDIUM_BJ = Origin("110105", "北京市朝阳区")
LOWERED = Origin("440305", "广东省深圳市南山区")
ENDED = Origin("120101", "天津市和平区")
NO_RISK = Origin("330106", "浙江省杭州市西湖区")
CASE_PLACE = Origin("320508", "江苏省苏州市姑苏区", via="苏州市姑苏区观前街百货商场")
PENDING_ORIGINS = (HIGH, MEDIUM_SH, MEDIUM_BJ, MEDIUM_BJ, LOWERED, NO_RISK, CASE_PLACE, ENDED)


class Fate(StrEnum):
    PENDING = "pending"  # waits in the town's inbox
    PROPOSED = "proposed"  # confirmed; the rule table's measure is proposed
    STARTED = "started"  # ... and in force from the arrival day, tests up to date
    MISSED_TEST = "missed_test"  # ... with yesterday's test not done (overdue)
    RELEASED = "released"  # ... and already over and released
    RELEASE_DUE = "release_due"  # ... over but not released (overdue)
    RECORD_ONLY = "record_only"  # confirmed; no rule applies, so no measure


@dataclass(frozen=True)
class ArrivalSpec:
    origin: Origin
    days_ago: int  # negative: declared ahead of arriving
    source: str
    mode: str
    fate: Fate
    returning: bool  # a resident coming home (else a visitor the city does not know yet)


S, T, F = ScreeningSource, TravelMode, Fate
CONFIRMED = (
    ArrivalSpec(HIGH, 2, S.CHECKPOINT, T.TRAIN, F.STARTED, True),
    ArrivalSpec(HIGH, 4, S.BIG_DATA, T.FLIGHT, F.MISSED_TEST, False),
    ArrivalSpec(HIGH, 0, S.CHECKPOINT, T.FLIGHT, F.PROPOSED, False),
    ArrivalSpec(MEDIUM_BJ, 1, S.DOOR_TO_DOOR, T.TRAIN, F.STARTED, True),
    ArrivalSpec(MEDIUM_SH, 3, S.WORKPLACE, T.CAR, F.STARTED, False),
    ArrivalSpec(CASE_PLACE, 4, S.DOOR_TO_DOOR, T.CAR, F.RELEASED, True),
    ArrivalSpec(CASE_PLACE, 5, S.BIG_DATA, T.BUS, F.RELEASE_DUE, False),
    ArrivalSpec(NO_RISK, 1, S.WORKPLACE, T.TRAIN, F.RECORD_ONLY, False),
    ArrivalSpec(LOWERED, 2, S.FEVER_CLINIC, T.FLIGHT, F.RECORD_ONLY, True),
    ArrivalSpec(MEDIUM_BJ, 0, S.PHARMACY, T.TRAIN, F.PROPOSED, True),
    ArrivalSpec(ENDED, 3, S.CHECKPOINT, T.CAR, F.RECORD_ONLY, False),
)
PENDING_SOURCES = (
    S.CHECKPOINT, S.CHECKPOINT, S.BIG_DATA, S.DOOR_TO_DOOR, S.WORKPLACE, S.FEVER_CLINIC,
    S.PHARMACY,
)  # fmt: skip
PENDING_MODES = (T.TRAIN, T.TRAIN, T.FLIGHT, T.CAR, T.BUS, T.SHIP)
# pending records per town, in town order: the two demo towns get most of the work
PENDING_PER_TOWN = (7, 7, 3, 3, 3, 2)
SELF_DECLARATIONS = (
    (MEDIUM_BJ, -1, 0),  # origin, days ago, index of the town
    (HIGH, 0, 0),
    (NO_RISK, -2, 1),
)


@dataclass(frozen=True)
class Identity:
    name: str
    id_number: str
    phone: str
    address: str
    destination: Region


class Arrivals:
    """Makes people arrive: residents coming home, or visitors with fresh documents."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.rng = stage.rng("arrivals")
        self.maker = ResidentMaker(stage.rng("visitors"))

    def identity(self, town: str, *, returning: bool, first_community: bool = False) -> Identity:
        if returning:
            found = self.stage.pop.draw(self.rng, town)
            if found is not None:
                return self.resident(found.pk)
        return self._visitor(town, first_community=first_community)

    def resident(self, pk: int) -> Identity:
        person = Person.objects.select_related("region").get(pk=pk)
        return Identity(
            name=person.name,
            id_number=vault.decrypt(person.id_number_ct, purpose=ID_PURPOSE),
            phone=vault.decrypt(person.phone_ct, purpose=PHONE_PURPOSE) if person.phone_ct else "",
            address=vault.decrypt(person.address_ct, purpose=ADDRESS_PURPOSE),
            destination=person.region,
        )

    def _visitor(self, town: str, *, first_community: bool) -> Identity:
        rng, maker = self.rng, self.maker
        communities = sorted(
            r.code
            for r in self.stage.regions.values()
            if r.code.startswith(town) and r.level == RegionLevel.COMMUNITY
        )
        code = communities[0] if first_community else rng.choice(communities)
        community = self.stage.regions[code]
        district, street = self.stage.regions[town[:6]], self.stage.regions[town]
        male = rng.random() < 0.5
        while True:
            id_number = maker.resident_id(age=rng.randint(20, 65), male=male)
            # a visitor must be new to the city, not a resident's document drawn again
            if not Person.objects.filter(id_number_bidx=id_number_index(id_number)).exists():
                break
        door = f"{rng.randint(1, 18)}0{rng.randint(1, 3)}"
        return Identity(
            name=maker.name(male=male),
            id_number=id_number,
            phone=maker.mobile(),
            address=(
                f"{district.name}{street.name}{community.name}"
                f"{rng.randint(1, 40)}号楼{rng.randint(1, 3)}单元{door}室"
            ),
            destination=community,
        )

    def arrival_at(self, days_ago: int) -> dt.datetime:
        return self.stage.at(days_ago, self.rng.randint(7, 21), self.rng.choice((0, 15, 30, 45)))

    def validated(
        self, who: Identity, origin: Origin, *, days_ago: int, source: str, mode: str
    ) -> ScreeningData:
        arrival = self.arrival_at(days_ago)
        route = []
        if origin.via:
            when = timezone.localdate(arrival) - dt.timedelta(days=2)
            route = [{"place": origin.via, "code": "", "date": when.isoformat()}]
        return screening_validate(
            name=who.name,
            id_type=IdType.RESIDENT_ID,
            id_number=who.id_number,
            phone=who.phone,
            address=who.address,
            source=source,
            destination=who.destination,
            origin_code=origin.code,
            origin_place=origin.place,
            route=route,
            arrival_at=arrival,
            travel_mode=mode,
        )

    def screen(self, town: str, spec: ArrivalSpec) -> ScreeningRecord:
        who = self.identity(town, returning=spec.returning)
        data = self.validated(
            who, spec.origin, days_ago=spec.days_ago, source=spec.source, mode=spec.mode
        )
        actor = self.stage.cast.for_path(who.destination.path, action="screening.decide")
        record = screening_create(actor=actor, data=data, confirm=spec.fate != Fate.PENDING)
        if record.measure is not None:
            follow_measure(self.stage, record, spec.fate)
        return record


def follow_measure(stage: Stage, record: ScreeningRecord, fate: Fate) -> None:
    """Carry a classified record's measure as far as its fate says."""
    if fate in (Fate.PROPOSED, Fate.RECORD_ONLY) or record.measure is None:
        return
    arrived = timezone.localdate(record.arrival_at) if record.arrival_at else stage.today
    measure = start(stage, record.measure, arrived)
    if measure is None:
        return
    record_tests(stage, measure, miss_last=fate == Fate.MISSED_TEST)
    if fate == Fate.RELEASED:
        release(stage, measure)


def seed_screenings(stage: Stage, arrivals: Arrivals, towns: list[str]) -> int:
    """Confirmed records spread over every town, then each town's pending inbox."""
    rng = arrivals.rng
    count = 0
    for i, spec in enumerate(CONFIRMED):
        arrivals.screen(towns[i % len(towns)], spec)
        count += 1
    for town, n in zip(towns, _pending_counts(len(towns)), strict=True):
        for _ in range(n):
            spec = ArrivalSpec(
                origin=rng.choice(PENDING_ORIGINS),
                days_ago=rng.randint(-2, 3),
                source=rng.choice(PENDING_SOURCES),
                mode=rng.choice(PENDING_MODES),
                fate=Fate.PENDING,
                returning=rng.random() < 0.4,
            )
            arrivals.screen(town, spec)
            count += 1
    return count


def _pending_counts(towns: int) -> list[int]:
    counts = list(PENDING_PER_TOWN[:towns])
    return counts + [2] * (towns - len(counts))


def seed_self_declarations(arrivals: Arrivals, towns: list[str]) -> list[str]:
    """Pending self-declarations as the public page makes them; their tokens, for the QR
    look-up, in the order made."""
    tokens = []
    for origin, days_ago, town_index in SELF_DECLARATIONS:
        # the first community of a demo town, so its community account sees the record too
        town = towns[town_index % len(towns)]
        who = arrivals.identity(town, returning=False, first_community=True)
        data = arrivals.validated(
            who, origin, days_ago=days_ago, source=ScreeningSource.SELF_DECLARATION, mode=T.TRAIN
        )
        tokens.append(self_declaration_submit(data=data).token)
    return tokens


def pick_town_order(rng: random.Random, towns: list[str]) -> list[str]:
    """The demo towns first (they get the most pending records), the rest shuffled."""
    head, rest = towns[:2], towns[2:]
    rng.shuffle(rest)
    return head + rest
