"""Writes of daily reports: the office sets up a template (who reports, fields, cut-off,
days); a unit submits its report, its known figures pre-filled and confirmed, or a zero
report in one step. A retried submission never duplicates: the second one revises the
first and keeps its time, so a report sent on time stays on time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.command.figures import FIGURES, known_figures
from fangkong.command.models import DailyReport, ReportTemplate, Unit, UnitKind
from fangkong.command.services.ledger import acting_for
from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError

MAX_FIELDS = 40
MAX_FIGURE = 10_000_000
MAX_NOTE = 2000


@dataclass(frozen=True)
class FieldSpec:
    """One field of a report: typed by the unit, or a figure the system pre-fills."""

    key: str
    label: str
    figure: str = ""


def _clean_fields(fields: Sequence[FieldSpec]) -> list[dict[str, str]]:
    if not fields:
        raise FieldError("fields", _("a report needs at least one field"))
    if len(fields) > MAX_FIELDS:
        raise FieldError("fields", _("at most %(n)d fields") % {"n": MAX_FIELDS})
    cleaned, seen = [], set()
    for n, spec in enumerate(fields):
        key, label = spec.key.strip(), spec.label.strip()
        if not key.isidentifier() or len(key) > 40:
            raise FieldError(f"fields.{n}.key", _("use letters, digits and _ only"))
        if key in seen:
            raise FieldError(f"fields.{n}.key", _("%(k)s is named twice") % {"k": key})
        if spec.figure and spec.figure not in FIGURES:
            raise FieldError(f"fields.{n}.figure", _("unknown figure: %(f)s") % {"f": spec.figure})
        if not label and not spec.figure:
            raise FieldError(f"fields.{n}.label", _("this field is required"))
        seen.add(key)
        cleaned.append({"key": key, "label": label or str(FIGURES[spec.figure].label),
                        "figure": spec.figure})  # fmt: skip
    return cleaned


def _clean_kinds(unit_kinds: Sequence[str]) -> list[str]:
    kinds = sorted(set(unit_kinds))
    if not kinds:
        raise FieldError("unit_kinds", _("choose who must report"))
    for kind in kinds:
        if kind not in UnitKind.values:
            raise FieldError("unit_kinds", _("unknown kind: %(k)s") % {"k": kind})
    return kinds


def _clean_weekdays(weekdays: Sequence[int] | None) -> list[int]:
    days = sorted(set(range(7) if weekdays is None else weekdays))
    if not days or any(d not in range(7) for d in days):
        raise FieldError("weekdays", _("choose days from Monday (0) to Sunday (6)"))
    return days


@transaction.atomic
def template_create(
    *,
    actor: User,
    region: Region,
    code: str,
    name: str,
    unit_kinds: Sequence[str],
    cutoff: dt.time,
    fields: Sequence[FieldSpec],
    weekdays: Sequence[int] | None = None,
    starts_on: dt.date | None = None,
) -> ReportTemplate:
    authorize(actor, "command.report.template", region=region)
    code, name = code.strip(), name.strip()
    if not code or len(code) > 32:
        raise FieldError("code", _("give a short code"))
    if ReportTemplate.objects.filter(code=code).exists():
        raise FieldError("code", _("a template with this code exists"))
    if not name or len(name) > 100:
        raise FieldError("name", _("give a name of at most 100 characters"))
    template = ReportTemplate.objects.create(
        code=code, name=name, region=region, region_path=region.path,
        unit_kinds=_clean_kinds(unit_kinds), cutoff=cutoff,
        weekdays=_clean_weekdays(weekdays), fields=_clean_fields(fields),
        starts_on=starts_on or timezone.localdate(), created_by=actor,
    )  # fmt: skip
    audit_record(actor=actor, action="command.report.template", object_type="command.template",
                 object_id=template.pk)  # fmt: skip
    return template


@transaction.atomic
def template_set_active(*, actor: User, template: ReportTemplate, active: bool) -> ReportTemplate:
    """Stand a template down (no more reports expected) or bring it back."""
    authorize(actor, "command.report.template", region=template.region)
    ReportTemplate.objects.filter(pk=template.pk).update(active=active)
    template.active = active
    audit_record(actor=actor, action="command.report.template", object_type="command.template",
                 object_id=template.pk, details={"active": active})  # fmt: skip
    return template


def _check_duty(template: ReportTemplate, unit: Unit, day: dt.date) -> None:
    if not template.active:
        raise FieldError("template", _("this report is no longer required"))
    if not template.applies_to(unit):
        raise FieldError("unit", _("%(unit)s does not submit this report") % {"unit": unit.name})
    if day > timezone.localdate():
        raise FieldError("day", _("a report cannot be submitted for a day still to come"))
    if not template.is_reporting_day(day):
        raise FieldError("day", _("no report is due on %(d)s") % {"d": day.isoformat()})


def _values(template: ReportTemplate, given: Mapping[str, object]) -> dict[str, int]:
    values: dict[str, int] = {}
    for field in template.fields:
        key, raw = field["key"], given.get(field["key"])
        if raw is None or raw == "":
            raise FieldError(f"values.{key}", _("%(f)s: give a figure") % {"f": field["label"]})
        try:
            figure = int(str(raw).strip())
        except ValueError:
            raise FieldError(
                f"values.{key}", _("%(f)s: a whole number") % {"f": field["label"]}
            ) from None
        if not 0 <= figure <= MAX_FIGURE:
            raise FieldError(f"values.{key}", _("%(f)s: out of range") % {"f": field["label"]})
        values[key] = figure
    return values


def _zero_values(template: ReportTemplate, known: Mapping[str, int]) -> dict[str, int]:
    """A zero report says there was nothing; refused when the system counts something."""
    for field in template.fields:
        if known.get(field["key"], 0) > 0:
            raise FieldError(f"values.{field['key']}", _(
                "%(f)s: the system counts %(n)d for this day; submit a report instead of a "
                "zero report"
            ) % {"f": field["label"], "n": known[field["key"]]})  # fmt: skip
    return {field["key"]: 0 for field in template.fields}


def report_submit(
    *,
    actor: User,
    unit: Unit,
    template: ReportTemplate,
    day: dt.date,
    values: Mapping[str, object] | None = None,
    zero: bool = False,
    note: str = "",
) -> DailyReport:
    """Submit (or revise) one unit's report for one day."""
    authorize(actor, "command.report.submit", region=unit.region)
    acting_for(actor, unit)
    _check_duty(template, unit, day)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise FieldError("note", _("at most %(n)d characters") % {"n": MAX_NOTE})
    known = known_figures(template, unit, day)
    figures = _zero_values(template, known) if zero else _values(template, values or {})
    try:
        return _store(actor, unit, template, day, figures, known, zero=zero, note=note)
    except IntegrityError:
        # a simultaneous first submission won: this one revises it
        return _store(actor, unit, template, day, figures, known, zero=zero, note=note)


@transaction.atomic
def _store(
    actor: User,
    unit: Unit,
    template: ReportTemplate,
    day: dt.date,
    figures: dict[str, int],
    known: dict[str, int],
    *,
    zero: bool,
    note: str,
) -> DailyReport:
    now = timezone.now()
    found = (
        DailyReport.objects.select_for_update()
        .filter(template=template, unit=unit, day=day)
        .first()
    )
    if found is None:
        report = DailyReport.objects.create(
            template=template, unit=unit, region_path=unit.region.path, day=day, zero=zero,
            values=figures, prefilled=known, note=note, submitted_by=actor, submitted_at=now,
            on_time=now <= template.due_at(day),
        )  # fmt: skip
        action = "command.report.submit"
    else:
        if (found.values, found.zero, found.note) == (figures, zero, note):
            return found  # the same report sent again
        found.values, found.zero, found.note, found.prefilled = figures, zero, note, known
        found.revised_at = now
        found.save(update_fields=["values", "zero", "note", "prefilled", "revised_at"])
        report, action = found, "command.report.revise"
    audit_record(actor=actor, action=action, object_type="command.report", object_id=report.pk,
                 details={"unit": unit.pk, "day": day.isoformat(), "zero": zero})  # fmt: skip
    return report
