"""The daily-report API (mounted at /api/v1/command/reports): templates, each unit's duties
for a day with the known figures pre-filled, submissions (a zero report in one call), the
reports in scope, and completeness and timeliness per unit, day and week. A template or unit
the caller cannot see is 404 in a path and a 422 naming the field in a body."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from fangkong.command import selectors as sel
from fangkong.command import selectors_reports as rsel
from fangkong.command.models import DailyReport, ReportTemplate, Unit
from fangkong.command.services import reports
from fangkong.core.http import (
    DbId,
    ErrorOut,
    actor_of,
    get_scoped_or_404,
    page_dict,
    region_named,
    scoped,
)
from fangkong.core.validators import FieldError

router = Router(tags=["command"])
REFUSALS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class FieldSpecIn(Schema):
    key: str = Field(max_length=40)
    label: str = Field("", max_length=100)
    figure: str = Field("", max_length=40)


class TemplateIn(Schema):
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    region_code: str = Field(max_length=32)
    unit_kinds: list[str] = Field(max_length=10)
    cutoff: dt.time
    weekdays: list[int] | None = Field(None, max_length=7)
    fields: list[FieldSpecIn] = Field(max_length=40)
    starts_on: dt.date | None = None


class TemplateOut(Schema):
    id: int
    code: str
    name: str
    region_code: str
    unit_kinds: list[str]
    cutoff: dt.time
    weekdays: list[int]
    fields: list[dict[str, str]]
    starts_on: dt.date
    active: bool


class ActiveIn(Schema):
    active: bool


def template_out(t: ReportTemplate) -> dict[str, Any]:
    return {
        "id": t.pk, "code": t.code, "name": t.name, "region_code": t.region.code,
        "unit_kinds": t.unit_kinds, "cutoff": t.cutoff, "weekdays": t.weekdays,
        "fields": t.fields, "starts_on": t.starts_on, "active": t.active,
    }  # fmt: skip


def _template(request: HttpRequest, template_id: int) -> ReportTemplate:
    found: ReportTemplate = get_scoped_or_404(
        rsel.template_list(actor=actor_of(request)), pk=template_id
    )
    return found


@router.get("/templates", response=list[TemplateOut])
@scoped
def template_list(request: HttpRequest) -> Any:
    return [template_out(t) for t in rsel.template_list(actor=actor_of(request))]


@router.post("/templates", response={201: TemplateOut, **REFUSALS})
@scoped
def template_create(request: HttpRequest, payload: TemplateIn) -> Any:
    actor = actor_of(request)
    region = region_named(actor, payload.region_code)
    template = reports.template_create(
        actor=actor, region=region, code=payload.code, name=payload.name,
        unit_kinds=payload.unit_kinds, cutoff=payload.cutoff, weekdays=payload.weekdays,
        fields=[reports.FieldSpec(f.key, f.label, f.figure) for f in payload.fields],
        starts_on=payload.starts_on,
    )  # fmt: skip
    return 201, template_out(_template(request, template.pk))


@router.get("/templates/{int:template_id}", response=TemplateOut)
@scoped
def template_get(request: HttpRequest, template_id: int) -> Any:
    return template_out(_template(request, template_id))


@router.post("/templates/{int:template_id}/active", response={200: TemplateOut, **REFUSALS})
@scoped
def template_active(request: HttpRequest, template_id: int, payload: ActiveIn) -> Any:
    template = reports.template_set_active(
        actor=actor_of(request), template=_template(request, template_id), active=payload.active
    )
    return template_out(template)


# -- duties and submissions -------------------------------------------------------------------


class DutyOut(Schema):
    template_id: int
    template: str
    unit_id: int
    unit: str
    day: dt.date
    due_at: dt.datetime
    state: str
    fields: list[dict[str, str]]
    known: dict[str, int]
    report_id: int | None
    values: dict[str, int] | None
    zero: bool | None


class ReportIn(Schema):
    template_id: DbId
    unit_id: DbId
    day: dt.date
    zero: bool = False
    values: dict[str, int | str] = Field(default={}, max_length=40)
    note: str = Field("", max_length=2000)


class ReportOut(Schema):
    id: int
    template_id: int
    template: str
    unit_id: int
    unit: str
    day: dt.date
    zero: bool
    values: dict[str, int]
    prefilled: dict[str, int]
    note: str
    submitted_at: dt.datetime
    on_time: bool
    revised_at: dt.datetime | None


class ReportPage(Schema):
    items: list[ReportOut]
    count: int
    page: int
    page_size: int


def report_out(r: DailyReport) -> dict[str, Any]:
    return {
        "id": r.pk, "template_id": r.template_id, "template": r.template.name,
        "unit_id": r.unit_id, "unit": r.unit.name, "day": r.day, "zero": r.zero,
        "values": r.values, "prefilled": r.prefilled, "note": r.note,
        "submitted_at": r.submitted_at, "on_time": r.on_time, "revised_at": r.revised_at,
    }  # fmt: skip


def duty_out(d: rsel.Duty, now: dt.datetime) -> dict[str, Any]:
    r = d.report
    return {
        "template_id": d.template.pk, "template": d.template.name, "unit_id": d.unit.pk,
        "unit": d.unit.name, "day": d.day, "due_at": d.due, "state": d.state(now),
        "fields": d.template.fields, "known": d.known, "report_id": r.pk if r else None,
        "values": r.values if r else None, "zero": r.zero if r else None,
    }  # fmt: skip


@router.get("/due", response=list[DutyOut])
@scoped
def duties(request: HttpRequest, day: dt.date | None = None) -> Any:
    now = timezone.now()
    found = rsel.my_duties(actor=actor_of(request), day=day or timezone.localdate(), now=now)
    return [duty_out(d, now) for d in found]


def _body_unit(request: HttpRequest, unit_id: int) -> Unit:
    found = sel.unit_list(actor=actor_of(request)).filter(pk=unit_id).first()
    if found is None:
        raise FieldError("unit_id", _("no such unit: %(id)s") % {"id": unit_id})
    return found


def _body_template(request: HttpRequest, template_id: int) -> ReportTemplate:
    found = rsel.template_list(actor=actor_of(request)).filter(pk=template_id).first()
    if found is None:
        raise FieldError("template_id", _("no such report template: %(id)s") % {"id": template_id})
    return found


@router.post("/", response={200: ReportOut, **REFUSALS})
@scoped
def report_submit(request: HttpRequest, payload: ReportIn) -> Any:
    report = reports.report_submit(
        actor=actor_of(request), unit=_body_unit(request, payload.unit_id),
        template=_body_template(request, payload.template_id), day=payload.day,
        values=payload.values, zero=payload.zero, note=payload.note,
    )  # fmt: skip
    return report_out(report)


@router.get("/", response=ReportPage)
@scoped
def report_list(
    request: HttpRequest,
    day: dt.date | None = None,
    unit_id: DbId | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    qs = rsel.report_list(actor=actor_of(request), day=day, unit_id=unit_id)
    return page_dict(qs, page=page, page_size=page_size, out=report_out)


# -- completeness and timeliness --------------------------------------------------------------


class UnitRecordOut(Schema):
    unit_id: int
    unit: str
    template_id: int
    expected: int
    submitted: int
    on_time: int
    completeness: float | None
    timeliness: float | None
    missing: list[dt.date]
    late: list[dt.date]


class DayRecordOut(Schema):
    day: dt.date
    expected: int
    submitted: int
    on_time: int
    zero: int
    completeness: float | None
    timeliness: float | None


class ComplianceOut(Schema):
    start: dt.date
    end: dt.date
    units: list[UnitRecordOut]
    days: list[DayRecordOut]
    weeks: list[DayRecordOut]


def _day_out(d: rsel.DayRecord) -> dict[str, Any]:
    return {
        "day": d.day, "expected": d.expected, "submitted": d.submitted, "on_time": d.on_time,
        "zero": d.zero, "completeness": d.completeness, "timeliness": d.timeliness,
    }  # fmt: skip


def _unit_record_out(u: rsel.UnitRecord) -> dict[str, Any]:
    return {
        "unit_id": u.unit.pk, "unit": u.unit.name, "template_id": u.template.pk,
        "expected": u.expected, "submitted": u.submitted, "on_time": u.on_time,
        "completeness": u.completeness, "timeliness": u.timeliness,
        "missing": u.missing, "late": u.late,
    }  # fmt: skip


def compliance_out(c: rsel.Compliance) -> dict[str, Any]:
    return {
        "start": c.start, "end": c.end, "units": [_unit_record_out(u) for u in c.units],
        "days": [_day_out(d) for d in c.days],
        "weeks": [_day_out(w) for w in rsel.by_week(c).values()],
    }  # fmt: skip


@router.get("/compliance", response={200: ComplianceOut, 422: ErrorOut})
@scoped
def compliance(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    template_id: DbId | None = None,
) -> Any:
    today = timezone.localdate()
    end = end or today
    start = start or end - dt.timedelta(days=6)
    try:
        found = rsel.compliance(actor=actor_of(request), start=start, end=end,
                                now=timezone.now(), template_id=template_id)  # fmt: skip
    except ValueError as exc:
        raise FieldError("start", str(exc)) from None
    return compliance_out(found)
