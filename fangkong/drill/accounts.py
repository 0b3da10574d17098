"""Who the demo accounts are: one per role, plus sibling towns and sibling districts so that
jurisdiction scoping can be tried by hand (town_east_1 must not see town_east_2's people)."""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.core.models import InstitutionKind, Role, WorkingGroup
from fangkong.drill.names import CITY_CODE, DISTRICTS

EAST, WEST = (code for code, _ in DISTRICTS)


@dataclass(frozen=True)
class AccountSpec:
    username: str
    role: str
    title: str  # shown as the user's display name
    region_code: str | None = None
    institution_kind: str | None = None
    working_group: str = ""


DEMO_ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("city_office", Role.COMMAND_OFFICE, "市防控办", CITY_CODE),
    AccountSpec(
        "wg_tracing", Role.WORKING_GROUP, "流调溯源专班", CITY_CODE,
        working_group=WorkingGroup.TRACING,
    ),
    AccountSpec(
        "wg_transport", Role.WORKING_GROUP, "转运专班", CITY_CODE,
        working_group=WorkingGroup.TRANSPORT,
    ),
    AccountSpec("district_east", Role.DISTRICT, "东港区防控办", EAST),
    AccountSpec("district_west", Role.DISTRICT, "西湖区防控办", WEST),
    AccountSpec("town_east_1", Role.TOWN, "街道防控办（东港区一）", f"{EAST}001"),
    AccountSpec("town_east_2", Role.TOWN, "街道防控办（东港区二）", f"{EAST}002"),
    AccountSpec("community_1", Role.COMMUNITY, "社区工作站", f"{EAST}001001"),
    AccountSpec("grid_1", Role.GRID_WORKER, "网格员", f"{EAST}001001G01"),
    AccountSpec(
        "sampler_1", Role.SAMPLER, "采样员", institution_kind=InstitutionKind.SAMPLING_POINT
    ),
    AccountSpec("lab_1", Role.LAB, "检测机构", institution_kind=InstitutionKind.LAB),
    AccountSpec(
        "sentinel_1", Role.SENTINEL, "发热门诊哨点", institution_kind=InstitutionKind.FEVER_CLINIC
    ),
    AccountSpec(
        "quarantine_1", Role.QUARANTINE_SITE, "隔离点工作人员",
        institution_kind=InstitutionKind.QUARANTINE_SITE,
    ),
    AccountSpec("driver_1", Role.DRIVER, "转运驾驶员", CITY_CODE),
    AccountSpec("market_1", Role.MARKET_REGULATOR, "市场监管局", CITY_CODE),
    AccountSpec("inspector_1", Role.INSPECTOR, "督查组", CITY_CODE),
    AccountSpec("dept_transport", Role.DEPARTMENT, "市交通运输局", CITY_CODE),
    AccountSpec("dept_health", Role.DEPARTMENT, "市卫生健康委", CITY_CODE),
    AccountSpec("sysadmin", Role.SYSTEM_ADMIN, "系统管理员"),
)  # fmt: skip
