"""A command structure over the test tree: the city's office, district A's office with its
departments, and one unit per town, each with a user who acts for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from fangkong.command.models import Unit, UnitKind, UnitMember
from fangkong.core.models import Region, Role, User
from tests.factories import Tree, UserFactory


@dataclass
class Structure:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


SPEC = (
    # key, name, kind, region attribute, superior key, role, aliases
    ("city_office", "市防控办", UnitKind.OFFICE, "city", None, Role.COMMAND_OFFICE, ()),
    ("office_a", "东城区防控办", UnitKind.OFFICE, "district_a", "city_office", Role.DISTRICT, ()),
    ("transport_a", "东城区交通局", UnitKind.DEPARTMENT, "district_a", "office_a",
     Role.DEPARTMENT, ("区交通局", "交通局")),
    ("health_a", "东城区卫健局", UnitKind.DEPARTMENT, "district_a", "office_a", Role.DEPARTMENT,
     ("区卫健局", "卫健局")),
    ("police_a", "东城区公安分局", UnitKind.DEPARTMENT, "district_a", "office_a",
     Role.DEPARTMENT, ("公安分局",)),
    ("town_a1", "东街街道", UnitKind.TOWN, "town_a1", "office_a", Role.TOWN, ()),
    ("town_a2", "南街街道", UnitKind.TOWN, "town_a2", "office_a", Role.TOWN, ()),
    ("office_b", "西城区防控办", UnitKind.OFFICE, "district_b", "city_office", Role.DISTRICT, ()),
    ("town_b1", "西街街道", UnitKind.TOWN, "town_b1", "office_b", Role.TOWN, ()),
)  # fmt: skip


def command_structure(tree: Tree, users: dict[str, User] | None = None) -> Structure:
    """Units and one member each; where `users` has a user of the same key, it acts too."""
    made = Structure()
    for key, name, kind, where, superior, role, aliases in SPEC:
        region: Region = getattr(tree, where)
        unit = Unit.objects.create(
            code=f"U-{key}", name=name, kind=kind, region=region,
            superior=made.units[superior] if superior else None, aliases=list(aliases),
            duties={"general": f"{name}的职责"},
        )  # fmt: skip
        member = UserFactory(username=f"u_{key}", role=role, region=region)
        UnitMember.objects.create(unit=unit, user=member)
        made.units[key], made.users[key] = unit, member
    return made


def add_inspectors(cs: Structure, tree: Tree) -> None:
    """A supervision team in each district, each with one inspector."""
    for key, where, name in (("insp_a", "district_a", "东城区督查组"),
                             ("insp_b", "district_b", "西城区督查组")):  # fmt: skip
        region = getattr(tree, where)
        unit = Unit.objects.create(code=f"U-{key}", name=name, kind=UnitKind.WORKING_GROUP,
                                   region=region)  # fmt: skip
        user = UserFactory(username=f"u_{key}", role=Role.INSPECTOR, region=region)
        UnitMember.objects.create(unit=unit, user=user)
        cs.units[key], cs.users[key] = unit, user
