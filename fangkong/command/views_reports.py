"""Daily-report pages under /command/reports/: the caller's units' reports for a day, each
with its known figures pre-filled and a zero report in one click; completeness and
timeliness over a span with the missing reports named; the templates, set up by an office
for the units below it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from fangkong.command import selectors as sel
from fangkong.command import selectors_reports as rsel
from fangkong.command.figures import FIGURES
from fangkong.command.forms import TemplateForm
from fangkong.command.models import UnitKind
from fangkong.command.services import reports
from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    form_refused,
    int_param,
    refused_status,
    scoped,
)
from fangkong.core.permissions import allowed
from fangkong.core.selectors import region_list
from fangkong.core.validators import FieldError


def _day(raw: str | None, default: dt.date) -> dt.date:
    found = parse_date(raw or "") if raw else None
    return found or default


def _field(spec: dict[str, str], given: dict[str, int], known: dict[str, int]) -> dict[str, Any]:
    value = given.get(spec["key"], known.get(spec["key"], ""))
    return {**spec, "value": value, "known": spec["key"] in known}


def _duty_rows(duties: list[rsel.Duty], now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for d in duties:
        given = d.report.values if d.report else {}
        fields = [_field(f, given, d.known) for f in d.template.fields]
        rows.append({"duty": d, "state": d.state(now), "fields": fields})
    return rows


def _reports_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    actor, now, today = actor_of(request), timezone.now(), timezone.localdate()
    day = _day(request.GET.get("day") or request.POST.get("day"), today)
    if day > today:
        day = today
    duties = rsel.my_duties(actor=actor, day=day, now=now)
    context = {
        "day": day,
        "today": today,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1) if day < today else None,
        "rows": _duty_rows(duties, now),
        "units": list(sel.my_units(actor=actor)),
        **extra,
    }
    return render(request, "command/reports.html", context, status=status)


@scoped
@login_required
@acts("command.report.submit")
def report_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _reports_page(request)
    actor = actor_of(request)
    unit = sel.my_units(actor=actor).filter(pk=int_param(request.POST.get("unit")) or 0).first()
    templates = rsel.template_list(actor=actor, active=True)
    template = templates.filter(pk=int_param(request.POST.get("template")) or 0).first()
    day = _day(request.POST.get("day"), timezone.localdate())
    zero = request.POST.get("zero") == "1"
    try:
        if unit is None or template is None:
            raise FieldError("unit", _("choose one of your units' reports"))
        values = {f["key"]: request.POST.get(f"v_{f['key']}", "") for f in template.fields}
        report = reports.report_submit(
            actor=actor, unit=unit, template=template, day=day, values=values, zero=zero,
            note=request.POST.get("note", ""),
        )  # fmt: skip
    except DOMAIN_ERRORS as exc:
        refusal = exc.message if isinstance(exc, FieldError) else str(exc)
        failed = (template.pk if template else None, unit.pk if unit else None)
        return _reports_page(request, refused_status(exc), refusal=refusal, failed=failed)
    done = _("Zero report submitted.") if report.zero else _("Daily report submitted.")
    if not report.on_time:
        done = _("%(done)s It is after the cut-off and counts as late.") % {"done": done}
    messages.success(request, done)
    return HttpResponseRedirect(f"{reverse('command:reports')}?day={day.isoformat()}")


@scoped
@login_required
@require_GET
def compliance_page(request: HttpRequest) -> HttpResponse:
    actor, now, today = actor_of(request), timezone.now(), timezone.localdate()
    end = min(_day(request.GET.get("end"), today), today)
    start = _day(request.GET.get("start"), end - dt.timedelta(days=6))
    if start > end or (end - start).days >= rsel.MAX_DAYS:
        start = end - dt.timedelta(days=6)
    found = rsel.compliance(actor=actor, start=start, end=end, now=now)
    expected = sum(d.expected for d in found.days)
    submitted = sum(d.submitted for d in found.days)
    on_time = sum(d.on_time for d in found.days)
    units = sorted(found.units, key=lambda u: (-len(u.missing), -len(u.late), u.unit.region.path))
    context = {
        "result": found,
        "units": units,
        "weeks": sorted(rsel.by_week(found).values(), key=lambda w: w.day),
        "tiles": {
            "expected": expected,
            "submitted": submitted,
            "on_time": on_time,
            "missing": expected - submitted,
        },
        "today_missing": [u for u in found.units if today in u.missing],
    }
    return render(request, "command/compliance.html", context)


def _template_form(request: HttpRequest, data: Any = None) -> TemplateForm:
    actor = actor_of(request)
    regions = [u.region for u in sel.my_units(actor=actor)]
    regions = list({r.pk: r for r in regions}.values())
    return TemplateForm(data, regions=regions, figures=[(k, f.label) for k, f in FIGURES.items()])


@scoped
@login_required
@acts("command.report.template")
def template_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = _template_form(request, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                _template_create(request, form.cleaned_data)
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                messages.success(request, _("Report template set up."))
                return HttpResponseRedirect(reverse("command:report_templates"))
    context = {
        "form": form,
        "templates": list(rsel.template_list(actor=actor)),
        "kinds": dict(UnitKind.choices),
        "figures": {k: f.label for k, f in FIGURES.items()},
        "may_set_up": allowed(actor, "command.report.template"),
    }
    return render(request, "command/report_templates.html", context, status=status)


def _template_create(request: HttpRequest, data: dict[str, Any]) -> None:
    actor = actor_of(request)
    region = region_list(actor=actor).filter(pk=data["region"]).first()
    if region is None:
        raise FieldError("region", _("choose a jurisdiction"))
    fields = [reports.FieldSpec(key, "", figure=key) for key in data["figures"]]
    typed = [line.strip() for line in data["typed"].splitlines() if line.strip()]
    fields += [reports.FieldSpec(f"f{n}", label) for n, label in enumerate(typed, start=1)]
    reports.template_create(
        actor=actor, region=region, code=data["code"], name=data["name"],
        unit_kinds=data["unit_kinds"], cutoff=data["cutoff"],
        weekdays=[int(d) for d in data["weekdays"]], fields=fields,
    )  # fmt: skip
