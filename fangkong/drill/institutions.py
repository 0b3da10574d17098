"""Institutions of the demo city: clinics, pharmacies, labs, quarantine sites, schools,
enterprises and cold stores, warehouses, checkpoints, markets and sampling points.

Every institution sits in a grid (its physical location), so the jurisdiction scope of the
district, town, community and grid above it reaches it through the region path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker

from fangkong.core.models import InstitutionKind, RegionLevel
from fangkong.drill.citygen import CityPlan, RegionPlan, make_faker, stage_rng
from fangkong.drill.names import CHECKPOINT_KINDS, COLD_STORE_WORDS, SCHOOL_KINDS, ordinal
from fangkong.drill.residents import SHOP_PREFIXES, road_name

CODE_PREFIX = {
    InstitutionKind.FEVER_CLINIC: "FC",
    InstitutionKind.CLINIC: "CL",
    InstitutionKind.HOSPITAL: "HO",
    InstitutionKind.PHARMACY: "PH",
    InstitutionKind.LAB: "LB",
    InstitutionKind.QUARANTINE_SITE: "QS",
    InstitutionKind.SCHOOL: "SC",
    InstitutionKind.ENTERPRISE: "EN",
    InstitutionKind.COLD_STORE: "CS",
    InstitutionKind.WAREHOUSE: "WH",
    InstitutionKind.CHECKPOINT: "CP",
    InstitutionKind.SAMPLING_POINT: "SP",
    InstitutionKind.MARKET: "MK",
}


@dataclass(frozen=True)
class InstitutionPlan:
    code: str
    name: str
    kind: str
    grid_code: str
    address: str
    lat: float
    lng: float
    capacity: int


class _Builder:
    def __init__(self, plan: CityPlan, rng: random.Random, fake: Faker) -> None:
        self.plan, self.rng, self.fake = plan, rng, fake
        self.out: list[InstitutionPlan] = []
        self.numbers: dict[str, int] = {}

    def shop(self) -> str:
        return self.rng.choice(SHOP_PREFIXES)

    def add(self, kind: str, name: str, area: RegionPlan, capacity: int = 0) -> None:
        """Place an institution in a random grid of `area`, at a point inside that grid."""
        grid = area
        while grid.children:
            grid = self.rng.choice(grid.children)
        self.numbers[kind] = self.numbers.get(kind, 0) + 1
        town = grid.ancestor(RegionLevel.TOWN)
        district = grid.ancestor(RegionLevel.DISTRICT)
        street = road_name(self.rng, town.name.removesuffix("街道"))
        lng, lat = self.plan.projection.to_lnglat(
            grid.quad.point(self.rng.uniform(0.2, 0.8), self.rng.uniform(0.2, 0.8))
        )
        self.out.append(
            InstitutionPlan(
                code=f"{CODE_PREFIX[InstitutionKind(kind)]}{self.numbers[kind]:05d}",
                name=name,
                kind=kind,
                grid_code=grid.code,
                address=f"{district.name}{town.name}{street}{self.rng.randint(1, 300)}号",
                lat=lat,
                lng=lng,
                capacity=capacity,
            )
        )


def plan_institutions(plan: CityPlan) -> list[InstitutionPlan]:
    b = _Builder(plan, stage_rng(plan.seed, "institutions"), make_faker(plan.seed))
    city = plan.city
    K = InstitutionKind
    b.add(K.HOSPITAL, f"{city.name}第一人民医院", city, capacity=1200)
    b.add(K.FEVER_CLINIC, f"{city.name}第一人民医院发热门诊", city, capacity=60)
    b.add(K.LAB, f"{city.name}疾病预防控制中心检测中心", city, capacity=30_000)
    b.add(K.WAREHOUSE, f"{city.name}应急物资储备库", city)
    for district in city.children:
        _district(b, district)
        for town in district.children:
            _town(b, town)
            for community in town.children:
                b.add(K.SAMPLING_POINT, f"{community.name}核酸采样点", community, capacity=3000)
                if b.rng.random() < 0.5:
                    b.add(K.PHARMACY, f"{b.shop()}大药房（{community.name}店）", community)
    return b.out


def _district(b: _Builder, district: RegionPlan) -> None:
    K, rng = InstitutionKind, b.rng
    short = district.name.removesuffix("区")
    b.add(K.HOSPITAL, f"{district.name}人民医院", district, capacity=rng.randint(300, 800))
    b.add(K.FEVER_CLINIC, f"{district.name}人民医院发热门诊", district, capacity=30)
    b.add(K.LAB, f"{b.shop()}医学检测中心", district, capacity=rng.choice((10_000, 20_000)))
    for _ in range(2):
        rooms = rng.randint(12, 30) * 10
        b.add(K.QUARANTINE_SITE, f"{short}{b.shop()}隔离酒店", district, capacity=rooms)
    b.add(K.WAREHOUSE, f"{district.name}应急物资储备库", district)
    b.add(K.CHECKPOINT, f"{short}{rng.choice(CHECKPOINT_KINDS)}防疫检查站", district)
    for _ in range(rng.randint(2, 3)):
        word = rng.choice(COLD_STORE_WORDS)
        b.add(K.COLD_STORE, f"{b.shop()}{word}有限公司冷库", district, capacity=rng.randint(5, 50))
    b.add(K.MARKET, f"{short}{b.shop()}农贸市场", district)


def _town(b: _Builder, town: RegionPlan) -> None:
    K, rng = InstitutionKind, b.rng
    short = town.name.removesuffix("街道")
    b.add(K.CLINIC, f"{town.name}社区卫生服务中心", town)
    b.add(K.PHARMACY, f"{b.shop()}大药房（{short}店）", town)
    for n in range(1, rng.randint(2, 3) + 1):
        kind = rng.choice(SCHOOL_KINDS)
        b.add(K.SCHOOL, f"{short}第{ordinal(n)}{kind}", town, capacity=rng.randint(300, 1500))
    for _ in range(rng.randint(1, 3)):
        b.add(K.ENTERPRISE, b.fake.company(), town, capacity=rng.randint(20, 500))
