"""factory_boy factories and a small two-district jurisdiction tree for tests."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import factory
from stdnum.cn import ric

from fangkong.core.models import Institution, Region, RegionLevel, Role, User
from fangkong.people.models import Person
from fangkong.people.services.persons import person_build, person_validate

PASSWORD = "correct-horse-battery-9"


def make_resident_id(
    rng: random.Random | None = None, *, birth: dt.date | None = None, place: str = "110105"
) -> str:
    rng = rng or random.Random()
    birth = birth or dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    body = f"{place}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    code = factory.Sequence(lambda n: f"9{n:05d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = RegionLevel.CITY
    parent = None


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.TOWN
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


@dataclass
class Tree:
    city: Region
    district_a: Region
    district_b: Region
    town_a1: Region
    town_a2: Region
    town_b1: Region
    community_a1: Region
    community_a2: Region
    community_b1: Region
    grid_a1: Region
    grid_a2: Region
    grid_b1: Region
    lab: Institution


def _child(parent: Region, suffix: str, name: str, level: int) -> Region:
    return Region.objects.create(code=parent.code + suffix, name=name, level=level, parent=parent)


def build_tree() -> Tree:
    city = Region.objects.create(code="990100", name="示范市", level=RegionLevel.CITY)
    district_a = Region.objects.create(
        code="990101", name="东城区", level=RegionLevel.DISTRICT, parent=city
    )
    district_b = Region.objects.create(
        code="990102", name="西城区", level=RegionLevel.DISTRICT, parent=city
    )
    town_a1 = _child(district_a, "001", "东街街道", RegionLevel.TOWN)
    town_a2 = _child(district_a, "002", "南街街道", RegionLevel.TOWN)
    town_b1 = _child(district_b, "001", "西街街道", RegionLevel.TOWN)
    community_a1 = _child(town_a1, "001", "东一社区", RegionLevel.COMMUNITY)
    community_a2 = _child(town_a2, "001", "南一社区", RegionLevel.COMMUNITY)
    community_b1 = _child(town_b1, "001", "西一社区", RegionLevel.COMMUNITY)
    grids = [
        _child(c, "G01", f"{c.name}第一网格", RegionLevel.GRID)
        for c in (community_a1, community_a2, community_b1)
    ]
    lab = Institution.objects.create(code="LAB1", name="示范检测所", kind="lab", region=city)
    return Tree(
        city,
        district_a,
        district_b,
        town_a1,
        town_a2,
        town_b1,
        community_a1,
        community_a2,
        community_b1,
        grids[0],
        grids[1],
        grids[2],
        lab,
    )


def make_person(
    region: Region,
    *,
    name: str = "张三",
    id_number: str | None = None,
    phone: str = "13800138000",
    address: str = "东街1号3单元502",
    key_group: str = "",
    tags: list[str] | None = None,
) -> Person:
    data = person_validate(
        name=name,
        id_type="resident_id",
        id_number=id_number or make_resident_id(),
        phone=phone,
        address=address,
        key_group=key_group,
        tags=tags,
    )
    person = person_build(data=data, region=region, actor=None, source="test")
    person.save()
    return person
