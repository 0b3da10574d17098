"""Key-group routine testing API (mounted at /api/v1/masstesting/groups by config/api.py).

Regimes, members with derived due dates, the weekly compliance of a week and its xlsx
bulletin. Everything reads through the group selectors, so a town sees its own members,
units and regimes only; an out-of-scope regime or member answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from fangkong.core.api import FileJobOut, file_job_out
from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_slice,
    scoped,
    xlsx_response,
)
from fangkong.core.models import Region, User
from fangkong.core.validators import FieldError
from fangkong.keygroups import selectors as sel
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember, KeyGroupRegime
from fangkong.keygroups.sheets import bulletin_export
from fangkong.masstesting.planning.selectors import institution_list, region_list
from fangkong.people.selectors.persons import person_get_qs

router = Router(tags=["masstesting"])
MAX_UPLOAD = groups.MAX_IMPORT_BYTES


class RegimeIn(Schema):
    region_id: int
    key_group: str
    every_days: int
    pool_size: int = 1


class RegimePatch(Schema):
    every_days: int | None = None
    pool_size: int | None = None
    active: bool | None = None


class RegimeOut(Schema):
    id: int
    region_id: int
    region_name: str
    key_group: str
    every_days: int
    pool_size: int
    active: bool


class RoundIn(Schema):
    hours: int = 24
    starts_at: dt.datetime | None = None
    name: str = ""


class RoundOut(Schema):
    campaign_id: int
    name: str
    key_groups: list[str]
    group_pool_sizes: dict[str, int]
    starts_at: dt.datetime
    ends_at: dt.datetime


class MemberOut(Schema):
    id: int
    person_id: int
    name: str
    id_number: str
    phone: str
    key_group: str
    unit_id: int | None
    unit: str
    enrolled_on: dt.date
    every_days: int | None
    last_test: dt.datetime | None
    due_on: dt.date | None
    overdue: bool


class MemberPage(Page):
    items: list[MemberOut]
    results: list[MemberOut] = RESULTS_ALIAS


class EnrolIn(Schema):
    person_id: int
    key_group: str
    unit_id: int | None = None
    unit_name: str = ""


class MemberPatch(Schema):
    unit_id: int | None = None
    unit_name: str | None = None
    active: bool | None = None


class SyncIn(Schema):
    region_id: int


class SyncOut(Schema):
    enrolled: int


class ComplianceRowOut(Schema):
    unit_key: str
    unit: str
    key_group: str
    members: int
    tested: int
    not_tested: int
    percent: float


class LaggardOut(Schema):
    member_id: int
    name: str
    id_number: str
    phone: str
    key_group: str
    unit: str
    every_days: int
    tests_required: int
    tests_done: int
    last_test: dt.date | None


class ComplianceOut(Schema):
    week: str
    monday: dt.date
    sunday: dt.date
    region: str
    rows: list[ComplianceRowOut]
    by_group: list[ComplianceRowOut]
    total: ComplianceRowOut
    not_tested: list[LaggardOut]


def _regime_out(r: KeyGroupRegime) -> dict[str, Any]:
    return {
        "id": r.pk,
        "region_id": r.region_id,
        "region_name": r.region.name,
        "key_group": r.key_group,
        "every_days": r.every_days,
        "pool_size": r.pool_size,
        "active": r.active,
    }


def _member_out(row: sel.MemberRow) -> dict[str, Any]:
    m = row.member
    return {
        "id": m.pk,
        "person_id": m.person_id,
        "name": m.person.name,
        "id_number": m.person.id_number_mask,
        "phone": m.person.phone_mask,
        "key_group": m.key_group,
        "unit_id": m.unit_id,
        "unit": m.unit.name if m.unit else m.unit_name,
        "enrolled_on": m.enrolled_on,
        "every_days": row.every_days,
        "last_test": row.last_test,
        "due_on": row.due_on,
        "overdue": row.overdue,
    }


def _row_out(r: sel.ComplianceRow) -> dict[str, Any]:
    return {
        "unit_key": r.unit_key,
        "unit": r.unit_label,
        "key_group": r.key_group,
        "members": r.members,
        "tested": r.tested,
        "not_tested": r.not_tested,
        "percent": r.percent,
    }


def _region_or_404(actor: User, region_id: int | None) -> Region | None:
    if region_id is None:
        return None
    return get_scoped_or_404(region_list(actor=actor), pk=region_id)


def _week(week: str) -> tuple[int, int]:
    if not week:
        return sel.current_week()
    try:
        return sel.parse_week(week)
    except ValueError:
        raise FieldError("week", _("Give the week as 2026-W47")) from None


# -- regimes ----------------------------------------------------------------------------------


@router.get("/regimes", response=list[RegimeOut])
@scoped
def regimes_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_regime_out(r) for r in sel.regime_list(actor=actor_of(request))]


@router.post("/regimes", response={201: RegimeOut})
@scoped
def regimes_create(request: HttpRequest, payload: RegimeIn) -> tuple[int, dict[str, Any]]:
    actor = actor_of(request)
    region = get_scoped_or_404(region_list(actor=actor), pk=payload.region_id)
    regime = groups.regime_create(
        actor=actor,
        region=region,
        key_group=payload.key_group,
        every_days=payload.every_days,
        pool_size=payload.pool_size,
    )
    return 201, _regime_out(regime)


@router.get("/regimes/{int:regime_id}", response=RegimeOut)
@scoped
def regimes_get(request: HttpRequest, regime_id: int) -> dict[str, Any]:
    return _regime_out(get_scoped_or_404(sel.regime_list(actor=actor_of(request)), pk=regime_id))


@router.patch("/regimes/{int:regime_id}", response=RegimeOut)
@scoped
def regimes_update(request: HttpRequest, regime_id: int, payload: RegimePatch) -> dict[str, Any]:
    actor = actor_of(request)
    regime = get_scoped_or_404(sel.regime_list(actor=actor), pk=regime_id)
    regime = groups.regime_update(
        actor=actor,
        regime=regime,
        every_days=payload.every_days,
        pool_size=payload.pool_size,
        active=payload.active,
    )
    return _regime_out(regime)


@router.post("/regimes/{int:regime_id}/deactivate", response=RegimeOut)
@scoped
def regimes_deactivate(request: HttpRequest, regime_id: int) -> dict[str, Any]:
    actor = actor_of(request)
    regime = get_scoped_or_404(sel.regime_list(actor=actor), pk=regime_id)
    return _regime_out(groups.regime_deactivate(actor=actor, regime=regime))


@router.post("/regimes/{int:regime_id}/rounds", response={201: RoundOut})
@scoped
def regimes_round(
    request: HttpRequest, regime_id: int, payload: RoundIn
) -> tuple[int, dict[str, Any]]:
    actor = actor_of(request)
    regime = get_scoped_or_404(sel.regime_list(actor=actor), pk=regime_id)
    campaign = groups.routine_round_start(
        actor=actor,
        regime=regime,
        hours=payload.hours,
        starts_at=payload.starts_at,
        name=payload.name,
    )
    return 201, {
        "campaign_id": campaign.pk,
        "name": campaign.name,
        "key_groups": campaign.key_groups,
        "group_pool_sizes": campaign.group_pool_sizes,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
    }


# -- members ----------------------------------------------------------------------------------


@router.get("/members", response=MemberPage)
@scoped
def members_list(
    request: HttpRequest,
    key_group: str = "",
    unit: str = "",
    overdue: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    actor = actor_of(request)
    rules = sel.rules_for(actor=actor)
    qs = sel.member_list(actor=actor, key_group=key_group, unit=unit, overdue=overdue, rules=rules)
    count, page, page_size, items = page_slice(qs, page=page, page_size=page_size)
    rows = sel.member_rows(items, rules=rules)
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "results": [_member_out(r) for r in rows],
    }


def _member_or_404(actor: User, member_id: int) -> KeyGroupMember:
    return get_scoped_or_404(sel.member_list(actor=actor), pk=member_id)


@router.post("/members", response={201: MemberOut})
@scoped
def members_enrol(request: HttpRequest, payload: EnrolIn) -> tuple[int, dict[str, Any]]:
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=payload.person_id)
    unit = (
        get_scoped_or_404(institution_list(actor=actor), pk=payload.unit_id)
        if payload.unit_id
        else None
    )
    member = groups.member_enrol(
        actor=actor,
        person=person,
        key_group=payload.key_group,
        unit=unit,
        unit_name=payload.unit_name,
    )
    return 201, _member_row(actor, member.pk)


def _member_row(actor: User, member_id: int) -> dict[str, Any]:
    rules = sel.rules_for(actor=actor)
    member = _member_or_404(actor, member_id)
    return _member_out(sel.member_rows([member], rules=rules)[0])


@router.patch("/members/{int:member_id}", response=MemberOut)
@scoped
def members_update(request: HttpRequest, member_id: int, payload: MemberPatch) -> dict[str, Any]:
    actor = actor_of(request)
    member = get_scoped_or_404(sel.member_list(actor=actor, include_inactive=True), pk=member_id)
    unit = (
        get_scoped_or_404(institution_list(actor=actor), pk=payload.unit_id)
        if payload.unit_id
        else None
    )
    groups.member_update(
        actor=actor,
        member=member,
        unit=unit,
        unit_name=payload.unit_name if payload.unit_id is None else None,
        active=payload.active,
    )
    return _member_out(
        sel.member_rows(
            [get_scoped_or_404(sel.member_list(actor=actor, include_inactive=True), pk=member_id)],
            rules=sel.rules_for(actor=actor),
        )[0]
    )


@router.post("/members/sync", response=SyncOut)
@scoped
def members_sync(request: HttpRequest, payload: SyncIn) -> dict[str, int]:
    actor = actor_of(request)
    region = get_scoped_or_404(region_list(actor=actor), pk=payload.region_id)
    return {"enrolled": groups.members_sync(actor=actor, region=region)}


@router.post("/members/import", response={202: FileJobOut, 403: ErrorOut})
@decorate_view(upload_limit(MAX_UPLOAD))
@scoped
def members_import(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upload a member list (身份证号/重点人群/单位, xlsx or csv). The worker reads it: poll
    `GET /api/v1/jobs/{id}` until `status` is done; `result` then holds `rows`, `enrolled`,
    `updated` and the rejected rows as `errors` (row, field, reason)."""
    job = groups.members_import_submit(
        actor=actor_of(request), filename=file.name or "", content=file
    )
    return 202, file_job_out(job)


# -- compliance -------------------------------------------------------------------------------


@router.get("/compliance", response=ComplianceOut)
@scoped
def compliance(
    request: HttpRequest, week: str = "", region_id: int | None = None
) -> dict[str, Any]:
    actor = actor_of(request)
    year, number = _week(week)
    c = sel.weekly_compliance(
        actor=actor, year=year, week=number, region=_region_or_404(actor, region_id)
    )
    return {
        "week": c.label,
        "monday": c.monday,
        "sunday": c.sunday,
        "region": c.region_name,
        "rows": [_row_out(r) for r in c.rows],
        "by_group": [_row_out(r) for r in c.by_group],
        "total": _row_out(c.total),
        "not_tested": [
            {
                "member_id": lag.member_id,
                "name": lag.name,
                "id_number": lag.id_number,
                "phone": lag.phone,
                "key_group": lag.key_group,
                "unit": lag.unit_label,
                "every_days": lag.every_days,
                "tests_required": lag.tests_required,
                "tests_done": lag.tests_in_window,
                "last_test": lag.last_test,
            }
            for lag in c.laggards
        ],
    }


@router.get("/compliance.xlsx")
@scoped
def compliance_xlsx(
    request: HttpRequest, week: str = "", region_id: int | None = None
) -> HttpResponse:
    actor = actor_of(request)
    year, number = _week(week)
    filename, data = bulletin_export(
        actor=actor, year=year, week=number, region=_region_or_404(actor, region_id)
    )
    return xlsx_response(data, f"{filename}")
