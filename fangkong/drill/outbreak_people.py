"""Who the demo outbreak touches: residents per town, their households, and each case's
contact tree (close contacts, their contacts, and theirs).

Every choice comes from one `random.Random` over lists ordered by primary key, and the demo
city writes its residents in a fixed order, so the same seeded city gives the same outbreak.
Households are not stored as such: the generator writes a household as consecutive residents
sharing one address, so they are recovered by decrypting the addresses of the few grids a
contact tree reaches, never the whole city.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass

from fangkong.core import vault
from fangkong.drill.residents import REFERENCE_DATE
from fangkong.people.models import Person
from fangkong.people.services.persons import ADDRESS_PURPOSE
from fangkong.tracing.models import ExposureContext

# Ages are taken against the generator's fixed day, so who counts as "working age" never
# depends on when the demo is started.
WORKING_AGES = (20, 59)
DISTRICT_CODE_LENGTH = 6
# Where a close contact met at work lives: mostly the case's own town, sometimes the
# sibling town or the other district (so the chain graph shows "outside your jurisdiction").
COLLEAGUE_REACH = (("town", 0.75), ("district", 0.17), ("city", 0.08))
VENUE_SUFFIXES = ("生鲜超市", "家常菜馆", "健身中心", "棋牌室", "理发店", "面馆", "洗浴中心")


@dataclass(frozen=True)
class Local:
    """A resident as the outbreak planner sees them: no personal data, only where and age."""

    pk: int
    grid_id: int
    town: str  # town code
    working_age: bool


def _working_age(birth: dt.date | None) -> bool:
    if birth is None:
        return False
    age = REFERENCE_DATE.year - birth.year
    return WORKING_AGES[0] <= age <= WORKING_AGES[1]


def _town_code(region_path: str) -> str:
    """The town code out of a resident's region path (city/district/town/...)."""
    parts = region_path.strip("/").split("/")
    return parts[2] if len(parts) > 2 else parts[-1]


class Population:
    """The city's residents by town, drawn from without replacement via a shared `used` set."""

    def __init__(self, residents: list[Local]) -> None:
        self.by_pk = {r.pk: r for r in residents}
        self.by_town: dict[str, list[Local]] = defaultdict(list)
        for r in residents:
            self.by_town[r.town].append(r)
        self.towns = sorted(self.by_town)
        self.used: set[int] = set()
        self._households: dict[int, dict[int, list[int]]] = {}

    @classmethod
    def load(cls, city_path: str) -> Population:
        rows = (
            Person.objects.filter(region_path__startswith=city_path)
            .order_by("pk")
            .values_list("pk", "region_id", "region_path", "birth_date")
        )
        return cls(
            [
                Local(pk, grid_id, _town_code(path), _working_age(birth))
                for pk, grid_id, path, birth in rows
            ]
        )

    def take(self, pk: int) -> None:
        self.used.add(pk)

    def draw(self, rng: random.Random, town: str, *, working: bool = True) -> Local | None:
        """An unused resident of the town (of working age when asked and any is left)."""
        pool = self.by_town.get(town, [])
        if not pool:
            return None
        for _attempt in range(24):
            r = pool[rng.randrange(len(pool))]
            if r.pk not in self.used and (r.working_age or not working):
                self.used.add(r.pk)
                return r
        # a small city runs out of random hits: walk the pool from a random place instead
        start = rng.randrange(len(pool))
        for want_working in (True, False) if working else (False,):
            for i in range(len(pool)):
                r = pool[(start + i) % len(pool)]
                if r.pk not in self.used and (r.working_age or not want_working):
                    self.used.add(r.pk)
                    return r
        return None

    def household(self, pk: int) -> list[int]:
        """Everyone sharing the resident's address, the resident included, by primary key."""
        grid_id = self.by_pk[pk].grid_id
        if grid_id not in self._households:
            self._households[grid_id] = _grid_households(grid_id)
        return self._households[grid_id].get(pk, [pk])

    def housemates(self, pk: int) -> list[int]:
        """Unused members of the resident's household (the resident excluded)."""
        return [m for m in self.household(pk) if m != pk and m not in self.used]

    def reach_town(self, rng: random.Random, home: str) -> str:
        """The town a colleague of someone living in `home` lives in."""
        pick, reach = rng.random(), COLLEAGUE_REACH[-1][0]
        for where, share in COLLEAGUE_REACH:
            if pick < share:
                reach = where
                break
            pick -= share
        if reach == "town":
            return home
        if reach == "district":
            district = home[:DISTRICT_CODE_LENGTH]
            siblings = [t for t in self.towns if t.startswith(district) and t != home]
        else:
            siblings = [t for t in self.towns if not t.startswith(home[:DISTRICT_CODE_LENGTH])]
        return rng.choice(siblings) if siblings else home


def _grid_households(grid_id: int) -> dict[int, list[int]]:
    members: dict[str, list[int]] = defaultdict(list)
    for pk, address_ct in (
        Person.objects.filter(region_id=grid_id).order_by("pk").values_list("pk", "address_ct")
    ):
        address = vault.decrypt(address_ct, purpose=ADDRESS_PURPOSE) if address_ct else f"#{pk}"
        members[address].append(pk)
    return {pk: group for group in members.values() for pk in group}


# -- contact trees ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fanout:
    """How many contacts each level has: (low, high) per person of the level before."""

    first: tuple[int, int]
    second: tuple[int, int]
    third: tuple[int, int]

    def of(self, generation: int) -> tuple[int, int]:
        return (self.first, self.second, self.third)[generation - 1]


# A full-size city shows trees like a real cluster; a test-size city keeps them small so
# five cases never run out of residents.
FULL_FANOUT = Fanout((8, 16), (2, 4), (1, 3))
SMALL_FANOUT = Fanout((2, 4), (1, 2), (1, 1))
FULL_FANOUT_FROM = 20_000  # residents


@dataclass(frozen=True)
class Contact:
    person: int
    via: int  # the person one step nearer the case
    generation: int
    context: str
    place: str
    day: dt.date


@dataclass
class TreeSpec:
    root: int
    first_context: str  # how the case met the people outside their household
    first_place: str
    days: list[dt.date]  # the days exposures may fall on, oldest first
    first_days: list[dt.date] | None = None  # the case's own contacts, when fewer days


class TreePlanner:
    def __init__(
        self, pop: Population, rng: random.Random, places: dict[str, list[str]], fanout: Fanout
    ) -> None:
        self.pop, self.rng, self.places, self.fanout = pop, rng, places, fanout

    def _venue(self, town: str) -> str:
        names = self.places.get(town) or [town]
        return self.rng.choice(names)

    def _day(self, days: list[dt.date], after: dt.date | None) -> dt.date:
        # a contact's own contacts are met on or after the day they themselves were exposed
        later = [d for d in days if after is None or d >= after]
        return self.rng.choice(later or days)

    def _level(
        self, spec: TreeSpec, sources: list[Contact | None], generation: int
    ) -> list[Contact]:
        out: list[Contact] = []
        for source in sources:
            via = spec.root if source is None else source.person
            after = None if source is None else source.day
            days = (spec.first_days or spec.days) if source is None else spec.days
            count = self.rng.randint(*self.fanout.of(generation))
            for pk in self.pop.housemates(via)[:count]:
                self.pop.take(pk)
                day = self._day(days, after)
                out.append(Contact(pk, via, generation, ExposureContext.HOUSEHOLD, "", day))
            while sum(c.via == via for c in out) < count:
                contact = self._outside(spec, via, generation, days, after)
                if contact is None:
                    break
                out.append(contact)
        return out

    def _outside(
        self, spec: TreeSpec, via: int, generation: int, days: list[dt.date], after: dt.date | None
    ) -> Contact | None:
        """Someone met outside the household: at work, at a venue, or on the way."""
        home = self.pop.by_pk[via].town
        if generation == 1:
            context, place = spec.first_context, spec.first_place
            town = self.pop.reach_town(self.rng, home)
        elif generation == 2:
            context, place, town = ExposureContext.VENUE, self._venue(home), home
        else:
            context, place = ExposureContext.WORKPLACE, self._venue(home)
            town = self.pop.reach_town(self.rng, home)
        found = self.pop.draw(self.rng, town, working=context == ExposureContext.WORKPLACE)
        if found is None:
            return None
        return Contact(found.pk, via, generation, context, place, self._day(days, after))

    def tree(self, spec: TreeSpec) -> list[Contact]:
        """Generations 1, 2 and 3 of one case, each person drawn once in the whole outbreak."""
        self.pop.take(spec.root)
        first = self._level(spec, [None], 1)
        second = self._level(spec, list(first), 2)
        third = self._level(spec, list(second), 3)
        return first + second + third


def venue_names(town_names: dict[str, str]) -> dict[str, list[str]]:
    """Everyday places per town (data, like the place names of the city, so not translated)."""
    return {
        code: [f"{name.removesuffix('街道')}{suffix}" for suffix in VENUE_SUFFIXES]
        for code, name in town_names.items()
    }
