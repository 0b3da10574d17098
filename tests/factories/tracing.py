"""Bulk builders for tracing tests: hundreds of persons and exposures without per-row cost.

`make_person` in tests/factories/__init__.py saves one person at a time; the scenario needs 421, so
they are built with `person_build` (encryption included) and written with one bulk_create.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

from django.utils import timezone
from stdnum.cn import ric

from fangkong.core.models import Region, User
from fangkong.people.models import Person
from fangkong.people.services.persons import person_build, person_validate
from fangkong.tracing.models import Case, Exposure
from fangkong.tracing.services.cases import case_create

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
_serial = itertools.count(1)


def unique_resident_id() -> str:
    """A valid resident ID never handed out before in this test process."""
    n = next(_serial)
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=n // 900)
    body = f"110105{birth:%Y%m%d}{n % 900 + 100:03d}"
    return body + ric.calc_check_digit(body + "0")


def bulk_persons(region: Region, count: int, *, prefix: str = "", seed: int = 1) -> list[Person]:
    rng = random.Random(seed)
    built = []
    for i in range(count):
        name = prefix or (
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", GIVEN[i % 20]))
        )
        building, unit, room = rng.randrange(1, 99), rng.randrange(1, 6), rng.randrange(101, 999)
        data = person_validate(
            name=f"{name}{i}" if prefix else name,
            id_type="resident_id",
            id_number=unique_resident_id(),
            phone=f"139{rng.randrange(10**8):08d}",
            address=f"东街{building}号{unit}单元{room}",
        )
        built.append(person_build(data=data, region=region, actor=None, source="test"))
    return Person.objects.bulk_create(built)


def link(
    a: Person, b: Person, *, day: dt.date, context: str = "household", case: Case | None = None
) -> Exposure:
    lo, hi = sorted((a.pk, b.pk))
    return Exposure(
        person_a_id=lo,
        person_b_id=hi,
        context=context,
        day=day,
        case=case,
        region_path=(case.region_path if case else a.region_path),
    )


def confirmed_case(
    *, actor: User, person: Person, onset: dt.date | None = None, **extra: object
) -> Case:
    today = timezone.localdate()
    return case_create(
        actor=actor,
        person=person,
        kind="confirmed",
        report_date=today,
        onset_date=onset or today - dt.timedelta(days=1),
        source="local",
        status="confirmed",
        **extra,  # type: ignore[arg-type]
    )


@dataclass
class Scenario:
    """One index person with a fan-out tree of contacts (20 × 5 × 3 by default)."""

    root: Person
    levels: list[list[Person]] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)

    @property
    def everyone(self) -> list[Person]:
        return [p for level in self.levels for p in level]


def build_scenario(
    region: Region,
    *,
    fanout: tuple[int, ...] = (20, 5, 3),
    day: dt.date | None = None,
    regions: dict[int, Region] | None = None,
) -> Scenario:
    """A tree: the root touches fanout[0] persons, each of them fanout[1] new ones, and so on.

    `regions` puts the persons of chosen levels (1-based generation) in another region.
    Exposures are written (bulk) but belong to no case yet.
    """
    day = day or timezone.localdate()
    root = bulk_persons(region, 1, prefix="病例", seed=0)[0]
    scenario = Scenario(root=root)
    parents = [root]
    for generation, width in enumerate(fanout, start=1):
        where = (regions or {}).get(generation, region)
        persons = bulk_persons(
            where, len(parents) * width, prefix=f"第{generation}代", seed=generation
        )
        for i, person in enumerate(persons):
            scenario.exposures.append(link(parents[i // width], person, day=day))
        scenario.levels.append(persons)
        parents = persons
    scenario.exposures = Exposure.objects.bulk_create(scenario.exposures)
    return scenario
