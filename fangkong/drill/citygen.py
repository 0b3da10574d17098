"""The synthetic demo city 示范市: a seeded, deterministic jurisdiction tree with polygons,
institutions and residents.

`plan_city` decides everything in memory from the seed (so later drills can reuse or grow the
same city); `seed_city` writes it once. Each stage draws from its own `random.Random` derived
from the seed, so adding a stage later does not change what earlier stages produce.

Layout: the city's administrative extent is 30 km x 20 km around (36.07 N, 120.38 E), split
into a west and an east district. The streets (towns), communities and grids tile a built-up
core around the centre whose area follows the number of grids, so grids come out roughly
350 m across as real urban grids are; the rest of each district is hinterland that the demo
does not populate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from fangkong.core.models import RegionLevel
from fangkong.drill.geo import Projection, Quad, split_quad
from fangkong.drill.names import CITY_CODE, CITY_NAME, DISTRICTS, NameBag, ordinal
from fangkong.drill.residents import GridAddressing, road_name

DEFAULT_SIZE = 50_000
DEFAULT_SEED = 2022

CITY_WIDTH_KM, CITY_HEIGHT_KM = 30.0, 20.0
CENTRE_LAT, CENTRE_LNG = 36.07, 120.38
GRID_KM = 0.35  # typical side of an urban grid
RESIDENTS_PER_TOWN = 12_500  # a larger city gets more streets, not bigger grids

ProgressFn = Callable[[str, int, int], None]


@dataclass
class RegionPlan:
    code: str
    name: str
    level: int
    parent: RegionPlan | None
    quad: Quad
    children: list[RegionPlan] = field(default_factory=list)
    population: int = 0

    @property
    def path(self) -> str:
        return (self.parent.path if self.parent else "") + f"{self.code}/"

    def ancestor(self, level: int) -> RegionPlan:
        node: RegionPlan | None = self
        while node is not None and node.level != level:
            node = node.parent
        if node is None:
            raise LookupError(level)
        return node


@dataclass
class CityPlan:
    size: int
    seed: int
    projection: Projection
    city: RegionPlan
    regions: list[RegionPlan]  # parents before children
    grids: list[RegionPlan]
    addressing: dict[str, GridAddressing]  # by grid code


def stage_rng(seed: int, stage: str) -> random.Random:
    # str seeds hash with SHA-512 inside random, independent of PYTHONHASHSEED
    return random.Random(f"fangkong-demo:{seed}:{stage}")


def _projection() -> Projection:
    km_per_deg_lng = 111.320 * math.cos(math.radians(CENTRE_LAT))
    return Projection(
        origin_lat=CENTRE_LAT - (CITY_HEIGHT_KM / 2) / 110.574,
        origin_lng=CENTRE_LNG - (CITY_WIDTH_KM / 2) / km_per_deg_lng,
    )


def _shape(size: int, rng: random.Random) -> list[list[list[int]]]:
    """Per district, per town, per community: the number of grids."""
    towns = max(3, round(size / (RESIDENTS_PER_TOWN * len(DISTRICTS))))
    return [
        [[rng.randint(3, 6) for _ in range(rng.randint(3, 5))] for _ in range(towns)]
        for _ in DISTRICTS
    ]


def _core_halves(shape: list[list[list[int]]]) -> list[Quad]:
    """The built-up core, one quad per district, meeting on the district boundary."""
    grid_counts = [sum(sum(t) for t in d) for d in shape]
    area = sum(grid_counts) * GRID_KM**2
    height = min(CITY_HEIGHT_KM, math.sqrt(area / 1.5))  # a 3:2 core, like the city
    y0, y1 = (CITY_HEIGHT_KM - height) / 2, (CITY_HEIGHT_KM + height) / 2
    mid = CITY_WIDTH_KM / 2
    east_w = min(mid, grid_counts[0] * GRID_KM**2 / height)
    west_w = min(mid, grid_counts[1] * GRID_KM**2 / height)
    return [Quad.rect(mid, y0, mid + east_w, y1), Quad.rect(mid - west_w, y0, mid, y1)]


def plan_city(*, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> CityPlan:
    """The whole region tree with geometry and per-grid populations; touches no database."""
    rng = stage_rng(seed, "regions")
    names = NameBag(rng)
    shape = _shape(size, rng)
    city = RegionPlan(
        CITY_CODE, CITY_NAME, RegionLevel.CITY, None, Quad.rect(0, 0, CITY_WIDTH_KM, CITY_HEIGHT_KM)
    )
    regions, grids = [city], []
    district_quads = [
        Quad.rect(CITY_WIDTH_KM / 2, 0, CITY_WIDTH_KM, CITY_HEIGHT_KM),
        Quad.rect(0, 0, CITY_WIDTH_KM / 2, CITY_HEIGHT_KM),
    ]
    for (code, name), dquad, core, towns in zip(
        DISTRICTS, district_quads, _core_halves(shape), shape, strict=True
    ):
        district = RegionPlan(code, name, RegionLevel.DISTRICT, city, dquad)
        city.children.append(district)
        regions.append(district)
        town_quads = split_quad(core, [sum(t) for t in towns], rng)
        for t, (tquad, communities) in enumerate(zip(town_quads, towns, strict=True), 1):
            town = _child(district, f"{t:03d}", names.take() + "街道", RegionLevel.TOWN, tquad)
            regions.append(town)
            for c, cquad in enumerate(split_quad(tquad, communities, rng), 1):
                community = _child(
                    town, f"{c:03d}", names.take() + "社区", RegionLevel.COMMUNITY, cquad
                )
                regions.append(community)
                n_grids = communities[c - 1]
                for g, gquad in enumerate(split_quad(cquad, [1] * n_grids, rng), 1):
                    label = f"{community.name}第{ordinal(g)}网格"
                    grid = _child(community, f"G{g:02d}", label, RegionLevel.GRID, gquad)
                    regions.append(grid)
                    grids.append(grid)
    _populate(grids, size, rng)
    plan = CityPlan(size, seed, _projection(), city, regions, grids, {})
    plan.addressing = _addressing(plan, rng)
    return plan


def _child(parent: RegionPlan, suffix: str, name: str, level: int, quad: Quad) -> RegionPlan:
    node = RegionPlan(parent.code + suffix, name, level, parent, quad)
    parent.children.append(node)
    return node


def _populate(grids: list[RegionPlan], size: int, rng: random.Random) -> None:
    """Share `size` residents over the grids (largest remainder), then sum up the tree."""
    weights = [rng.uniform(0.6, 1.4) for _ in grids]
    total = sum(weights)
    exact = [size * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(grids)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    for grid, count in zip(grids, counts, strict=True):
        node: RegionPlan | None = grid
        while node is not None:
            node.population += count
            node = node.parent


def _addressing(plan: CityPlan, rng: random.Random) -> dict[str, GridAddressing]:
    out: dict[str, GridAddressing] = {}
    for grid in plan.grids:
        community = grid.ancestor(RegionLevel.COMMUNITY)
        town = grid.ancestor(RegionLevel.TOWN)
        district = grid.ancestor(RegionLevel.DISTRICT)
        index = community.children.index(grid)
        # about one grid in four is an old street addressed by house number, not by compound
        street = road_name(rng, town.name.removesuffix("街道")) if rng.random() < 0.25 else None
        out[grid.code] = GridAddressing(
            prefix=f"{district.name}{town.name}{community.name}",
            town_prefix=f"{district.name}{town.name}",
            first_building=index * 20 + 1,
            street=street,
        )
    return out


def make_faker(seed: int) -> Faker:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake
