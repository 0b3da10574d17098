"""Reads of daily reports: each unit's duties for a day (with its known figures pre-filled),
the reports in scope, and completeness and timeliness per unit, per day and per week.

What was expected is derived: every active unit a template applies to, on every reporting
day whose cut-off has passed. A pair without a report is missing — a failure, never an
implied zero; a report after the cut-off counts as submitted but not on time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet

from fangkong.command.figures import known_figures
from fangkong.command.models import DailyReport, ReportTemplate, Unit
from fangkong.command.selectors import my_units, unit_list
from fangkong.core.models import User, ancestor_paths
from fangkong.core.scoping import scope_of

MAX_DAYS = 62


def template_list(*, actor: User, active: bool | None = None) -> QuerySet[ReportTemplate]:
    """Templates in the actor's jurisdiction and those of the jurisdictions above it (which
    the actor's units report under)."""
    qs = ReportTemplate.objects.visible_to(actor)
    path = scope_of(actor).region_path
    if path:
        qs = qs | ReportTemplate.objects.filter(region_path__in=ancestor_paths(path))
    qs = qs.select_related("region")
    return qs.filter(active=active) if active is not None else qs


def report_list(
    *, actor: User, day: dt.date | None = None, unit_id: int | None = None
) -> QuerySet[DailyReport]:
    qs = DailyReport.objects.visible_to(actor).select_related(
        "template", "unit", "unit__region", "submitted_by"
    )
    if day is not None:
        qs = qs.filter(day=day)
    return qs.filter(unit_id=unit_id) if unit_id is not None else qs


@dataclass
class Duty:
    """One unit's report for one day: submitted, late, still due, or missing."""

    template: ReportTemplate
    unit: Unit
    day: dt.date
    due: dt.datetime
    report: DailyReport | None = None
    known: dict[str, int] = field(default_factory=dict)

    def state(self, now: dt.datetime) -> str:
        if self.report is not None:
            return "on_time" if self.report.on_time else "late"
        return "due" if now <= self.due else "missing"


def my_duties(*, actor: User, day: dt.date, now: dt.datetime) -> list[Duty]:
    """The reports the actor's units owe for `day`, the known figures of those not yet in."""
    units = list(my_units(actor=actor))
    templates = [t for t in template_list(actor=actor, active=True) if t.is_reporting_day(day)]
    found = {
        (r.template_id, r.unit_id): r
        for r in DailyReport.objects.visible_to(actor).filter(
            day=day, unit__in=units, template__in=templates
        )
    }
    duties = []
    for unit in units:
        for template in templates:
            if not template.applies_to(unit):
                continue
            duty = Duty(template, unit, day, template.due_at(day))
            duty.report = found.get((template.pk, unit.pk))
            if duty.report is None:
                duty.known = known_figures(template, unit, day)
            duties.append(duty)
    return duties


class _Rates:
    """Completeness (submitted / due) and timeliness (on time / due) of a tally."""

    expected: int
    submitted: int
    on_time: int

    @property
    def completeness(self) -> float | None:
        return self.submitted / self.expected if self.expected else None

    @property
    def timeliness(self) -> float | None:
        return self.on_time / self.expected if self.expected else None


@dataclass
class UnitRecord(_Rates):
    """One unit's compliance with one template over a span of days."""

    unit: Unit
    template: ReportTemplate
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    missing: list[dt.date] = field(default_factory=list)
    late: list[dt.date] = field(default_factory=list)


@dataclass
class DayRecord(_Rates):
    day: dt.date
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    zero: int = 0


@dataclass
class Compliance:
    start: dt.date
    end: dt.date
    units: list[UnitRecord]
    days: list[DayRecord]

    @property
    def missing(self) -> list[tuple[UnitRecord, dt.date]]:
        return [(u, d) for u in self.units for d in u.missing]


def _span(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError("the span ends before it starts")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    return [start + dt.timedelta(days=n) for n in range(days)]


def compliance(
    *,
    actor: User,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    template_id: int | None = None,
    region_path: str | None = None,
) -> Compliance:
    """Completeness and timeliness of every unit in scope, and of every day, over
    [start, end]; a day counts only once its cut-off has passed. Three queries."""
    days = _span(start, end)
    templates = list(template_list(actor=actor, active=True))
    if template_id is not None:
        templates = [t for t in templates if t.pk == template_id]
    units = unit_list(actor=actor).filter(active=True)
    if region_path:
        units = units.filter(region__path__startswith=region_path)
    reports = {
        (r.template_id, r.unit_id, r.day): r
        for r in DailyReport.objects.visible_to(actor)
        .filter(day__range=(start, end), template__in=templates)
        .filter(unit__in=units)
        .only("template_id", "unit_id", "day", "on_time", "zero")
    }
    by_day = {d: DayRecord(d) for d in days}
    rows: list[UnitRecord] = []
    for unit in units:
        for template in (t for t in templates if t.applies_to(unit)):
            row = UnitRecord(unit, template)
            for day in days:
                if not template.is_reporting_day(day) or template.due_at(day) > now:
                    continue
                _tally(row, by_day[day], reports.get((template.pk, unit.pk, day)), day)
            rows.append(row)
    return Compliance(start, end, rows, list(by_day.values()))


def _tally(row: UnitRecord, day_row: DayRecord, report: DailyReport | None, day: dt.date) -> None:
    row.expected += 1
    day_row.expected += 1
    if report is None:
        row.missing.append(day)
        return
    row.submitted += 1
    day_row.submitted += 1
    day_row.zero += int(report.zero)
    if report.on_time:
        row.on_time += 1
        day_row.on_time += 1
    else:
        row.late.append(day)


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday to Sunday of the week holding `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def by_week(result: Compliance) -> dict[dt.date, DayRecord]:
    """The day records summed into weeks (keyed by Monday)."""
    weeks: dict[dt.date, DayRecord] = defaultdict(lambda: DayRecord(dt.date.min))
    for d in result.days:
        week = weeks[week_of(d.day)[0]]
        week.day = week_of(d.day)[0]
        week.expected += d.expected
        week.submitted += d.submitted
        week.on_time += d.on_time
        week.zero += d.zero
    return dict(weeks)
