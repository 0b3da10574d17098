"""Synthetic residents: households with plausible names, ages, IDs, phones and addresses.

Everything is drawn from one `random.Random`, so a seed always yields the same people. The
output is plain field values; fangkong.people.services.persons validates and encrypts them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from faker.providers.company.zh_CN import Provider as CompanyProvider
from faker.providers.person.zh_CN import Provider as PersonProvider
from stdnum.cn import ric

from fangkong.drill.names import ROAD_SUFFIXES
from fangkong.people.models import KeyGroup

# Ages are computed against a fixed day rather than today so a seed is reproducible forever.
REFERENCE_DATE = dt.date(2025, 1, 1)

# Birthplace (first six digits of a resident ID). Each code is valid in python-stdnum's
# division database for every birth year 1920-2025; the fictional 9901xx codes are not real
# divisions, so residents are "born elsewhere", as most of a real city's people are.
BIRTHPLACES = (
    "110101", "110102", "110105", "110108", "310101", "310104", "310110",
    "120101", "120102", "120103", "120104", "120105", "120106",
)  # fmt: skip

# Mainland mobile prefixes every 8-digit suffix of which phonenumbers accepts as valid.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "198", "199",
)  # fmt: skip

# Share of people by 5-year age band, after China's 2020 census (bands 0-4 ... 95-99).
AGE_BAND_WEIGHTS = (
    5.5, 6.3, 6.0, 5.2, 5.3, 6.6, 8.8, 7.0, 6.7, 8.0,
    8.6, 7.1, 5.2, 5.4, 3.8, 2.3, 1.5, 0.7, 0.25, 0.05,
)  # fmt: skip
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_WEIGHTS = (25, 30, 21, 13, 7, 4)

KEY_GROUP_SHARE = 0.07  # of working-age adults
KEY_GROUP_OCCUPATIONS: dict[str, tuple[str, ...]] = {
    KeyGroup.COLD_CHAIN: ("冷库搬运工", "冷链运输司机", "进口冷链食品销售员"),
    KeyGroup.MEDICAL: ("医生", "护士", "药剂师", "检验技师"),
    KeyGroup.DELIVERY: ("外卖骑手", "快递员"),
    KeyGroup.TRANSPORT: ("公交司机", "出租车司机", "地铁站务员"),
    KeyGroup.PORT: ("港口装卸工", "海关关员", "引航员"),
    KeyGroup.QUARANTINE_STAFF: ("隔离点工作人员",),
    KeyGroup.MARKET: ("农贸市场摊主", "超市理货员"),
    KeyGroup.SCHOOL: ("教师", "保育员"),
    KeyGroup.ELDERLY_CARE: ("养老院护理员",),
    KeyGroup.CONSTRUCTION: ("建筑工人", "钢筋工"),
    KeyGroup.SERVICE: ("酒店服务员", "餐厅服务员", "美容美发师"),
}
KEY_GROUP_WEIGHTS = (6, 10, 12, 8, 5, 2, 8, 10, 4, 20, 15)
OCCUPATIONS = (
    "公司职员", "工人", "个体经营者", "公务员", "工程师", "销售人员", "自由职业",
    "会计", "厨师", "司机", "无业",
)  # fmt: skip

_SURNAMES = tuple(PersonProvider.last_names)
_SURNAME_CUM = tuple(itertools.accumulate(PersonProvider.last_names.values()))
_GIVEN = {
    True: tuple(PersonProvider.first_names_male),
    False: tuple(PersonProvider.first_names_female),
}
_SINGLE = {male: tuple(n for n in names if len(n) == 1) for male, names in _GIVEN.items()}
# Company prefixes that read as a shop or hotel name (no 电子 / 计算机 / 公司 ...).
_TRADE_WORDS = ("电子", "计算机", "公司", "网络", "数字", "国际", "科技", "信息", "传媒")
SHOP_PREFIXES = tuple(
    p
    for p in CompanyProvider.company_prefixes
    if len(p) <= 3 and not any(w in p for w in _TRADE_WORDS)
)


@dataclass(frozen=True)
class Resident:
    name: str
    id_number: str
    phone: str
    address: str
    occupation: str
    key_group: str


@dataclass(frozen=True)
class GridAddressing:
    """What a grid's residents' addresses are made of."""

    prefix: str  # "<district><town><community>"
    town_prefix: str  # "<district><town>", for street-number addresses
    first_building: int
    street: str | None  # set for old-town grids addressed by street number


class ResidentMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._ids: set[str] = set()
        self._phones: set[str] = set()

    # -- identity -------------------------------------------------------------------------
    def name(self, *, male: bool, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
        given = rng.choice(_GIVEN[male])
        if len(given) == 1 and rng.random() < 0.55:
            # two single characters make the common three-character name (王建伟, 李秀丽)
            given += rng.choice(_SINGLE[male])
        return surname + given

    def age(self, *, minimum: int = 0) -> int:
        while True:
            band = self.rng.choices(range(20), weights=AGE_BAND_WEIGHTS)[0]
            age = band * 5 + self.rng.randrange(5)
            if age >= minimum:
                return age

    def resident_id(self, *, age: int, male: bool) -> str:
        rng = self.rng
        while True:
            days = int((age + rng.uniform(0.01, 0.99)) * 365.25)
            birth = REFERENCE_DATE - dt.timedelta(days=days)
            # the 17th digit is odd for men and even for women (GB 11643)
            seq = rng.randrange(500) * 2 + (1 if male else 0)
            body = f"{rng.choice(BIRTHPLACES)}{birth:%Y%m%d}{seq:03d}"
            value = body + ric.calc_check_digit(body + "0")
            if value not in self._ids:
                self._ids.add(value)
                return value

    def mobile(self) -> str:
        """A unique mainland mobile number in E.164 form."""
        while True:
            value = f"+86{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            if value not in self._phones:
                self._phones.add(value)
                return value

    def work(self, age: int) -> tuple[str, str]:
        """(occupation, key group) fitting the age."""
        rng = self.rng
        if age < 7:
            return "学龄前儿童", ""
        if age < 18 or (age < 23 and rng.random() < 0.5):
            return "学生", ""
        if age >= 60 and rng.random() < 0.85:
            return "退休人员", ""
        if rng.random() < KEY_GROUP_SHARE:
            group = rng.choices(tuple(KEY_GROUP_OCCUPATIONS), weights=KEY_GROUP_WEIGHTS)[0]
            return rng.choice(KEY_GROUP_OCCUPATIONS[group]), str(group)
        return rng.choice(OCCUPATIONS), ""

    # -- households -----------------------------------------------------------------------
    def grid_households(self, count: int) -> list[list[tuple[int, bool]]]:
        """(age, male) per member, household by household, for `count` people.

        Ages are drawn from the census distribution first and only then grouped, so the city's
        age pyramid is right whatever the household rules: a head, a spouse of about the same
        age, children young enough to be the head's, then other adults.
        """
        rng = self.rng
        ages = [self.age() for _ in range(count)]
        if ages and max(ages) < 20:
            ages[0] = self.age(minimum=20)
        adults = sorted(a for a in ages if a >= 20)
        minors = [a for a in ages if a < 20]
        rng.shuffle(minors)
        households: list[list[tuple[int, bool]]] = []
        while adults:
            size = rng.choices(HOUSEHOLD_SIZES, weights=HOUSEHOLD_WEIGHTS)[0]
            head, head_male = adults.pop(rng.randrange(len(adults))), rng.random() < 0.55
            members = [(head, head_male)]
            if size >= 2 and adults:
                near = bisect.bisect_left(adults, head + (-2 if head_male else 2))
                members.append((adults.pop(min(near, len(adults) - 1)), not head_male))
            while len(members) < size:
                child = _pop_child(minors, head)
                if child is not None:
                    members.append((child, rng.random() < 0.52))
                elif adults:
                    members.append((adults.pop(rng.randrange(len(adults))), rng.random() < 0.5))
                else:
                    break
            households.append(members)
        parents = [h for h in households if 22 <= h[0][0] <= 60] or households
        for age in minors:
            rng.choice(parents).append((age, rng.random() < 0.52))
        return households

    def grid_residents(self, where: GridAddressing, count: int) -> Iterator[Resident]:
        """Exactly `count` residents, household by household."""
        floors = self.rng.choice((6, 6, 11, 18))
        rooms_per_floor, units = self.rng.choice((2, 2, 3)), self.rng.choice((1, 2, 3))
        per_building = floors * rooms_per_floor * units
        for n, members in enumerate(self.grid_households(count)):
            address = self._address(where, n, floors, rooms_per_floor, per_building)
            surname = self.rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
            head_phone = ""
            for i, (age, male) in enumerate(members):
                # head and children share the family name; the spouse keeps their own
                own = None if i == 1 else surname
                # children under 16 are reached through the head of the household's phone
                phone = self.mobile() if age >= 16 or not head_phone else head_phone
                head_phone = head_phone or phone
                occupation, key_group = self.work(age)
                yield Resident(
                    name=self.name(male=male, surname=own),
                    id_number=self.resident_id(age=age, male=male),
                    phone=phone,
                    address=address,
                    occupation=occupation,
                    key_group=key_group,
                )

    def _address(
        self, where: GridAddressing, n: int, floors: int, rooms_per_floor: int, per_building: int
    ) -> str:
        building, rest = divmod(n, per_building)
        unit, rest = divmod(rest, floors * rooms_per_floor)
        floor, room = divmod(rest, rooms_per_floor)
        door = (floor + 1) * 100 + room + 1
        if where.street is not None:
            return f"{where.town_prefix}{where.street}{where.first_building + building}号{door}室"
        return f"{where.prefix}{where.first_building + building}号楼{unit + 1}单元{door}室"


def _pop_child(minors: list[int], head_age: int) -> int | None:
    """Take a minor who could be the head's child (18-45 years younger), if any is left."""
    for i, age in enumerate(minors):
        if 18 <= head_age - age <= 45:
            return minors.pop(i)
    return None


def road_name(rng: random.Random, word: str) -> str:
    return word + rng.choice(ROAD_SUFFIXES)
