"""People under control (在管人员): the list with overdue flags, one measure's page, and its
transitions as htmx posts; plus the panel shown on a person's page."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    error_text,
    get_scoped_or_404,
    int_param,
    is_partial,
    page_slice,
    refused_status,
    scoped,
)
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.people.forms_measures import ACTION_FORMS, MeasureFilterForm, ProposeForm
from fangkong.people.measures_models import (
    IN_FORCE_STATES,
    ControlMeasure,
    MeasureKind,
    MeasureState,
)
from fangkong.people.models import Person
from fangkong.people.selectors import measures as selectors
from fangkong.people.selectors.persons import person_get_qs
from fangkong.people.services import measures

PAGE_SIZE = 50
# ControlMeasure.source_type is a free code written by each app; these are the known ones
SOURCE_LABELS = {
    "screening": gettext_lazy("Screening"),
    "case_contact": gettext_lazy("Contact of a case"),
    "case": gettext_lazy("Case"),
    "manual": gettext_lazy("Entered by hand"),
    "assistance": gettext_lazy("Assistance request"),
}
PERSON_CIPHERTEXT = ("person__id_number_ct", "person__phone_ct", "person__address_ct")


def _kind_label(kind: str) -> str:
    return str(MeasureKind(kind).label) if kind in MeasureKind.values else kind


def _state_label(state: str) -> str:
    return str(MeasureState(state).label) if state in MeasureState.values else state


def _pct(value: float) -> str:
    # a CSS length, never localised (a decimal comma would break the style)
    return f"{max(0.0, min(value, 100.0)):.2f}%"


def _row(m: ControlMeasure, today: dt.date) -> dict[str, Any]:
    """What one list row shows beyond the model: today's phase, day N of M, next test."""
    phase = measures.measure_current_phase(m, today)
    in_force = m.state in IN_FORCE_STATES
    upcoming = [d for d in m.test_days if d >= today.isoformat()]
    phase_kind = phase.kind if phase and in_force else None
    return {
        "m": m,
        "phase_kind": phase_kind,
        "phase_label": _kind_label(phase_kind) if phase_kind else "",
        "day": (today - m.start_date).days + 1 if in_force else None,
        "total": (m.planned_end - m.start_date).days + 1,
        "next_test": upcoming[0] if upcoming and in_force else None,
    }


def _kind_tabs(counts: dict[str, Any], current: str | None) -> list[dict[str, Any]]:
    by_kind = counts["by_kind_state"]

    def active(kind: str) -> int:
        return sum(by_kind.get(kind, {}).get(s, 0) for s in IN_FORCE_STATES)

    tabs = [{"key": "", "label": _("All measures"), "n": counts["totals"]["in_force"]}]
    tabs += [{"key": k, "label": label, "n": active(k)} for k, label in MeasureKind.choices]
    for tab in tabs:
        tab["on"] = tab["key"] == (current or "")
    return tabs


def _kind_table(counts: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for kind, label in MeasureKind.choices:
        states = counts["by_kind_state"].get(kind, {})
        rows.append(
            {
                "kind": kind,
                "label": label,
                "proposed": states.get("proposed", 0),
                "active": sum(states.get(s, 0) for s in IN_FORCE_STATES),
                "released": states.get("released", 0),
            }
        )
    return {"kind_table": rows, "proposed_total": sum(r["proposed"] for r in rows)}


@scoped
@login_required
@require_GET
def measure_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    today = timezone.localdate()
    form = MeasureFilterForm(request.GET, actor=actor)
    filters = form.filters()
    qs = selectors.measure_list(actor=actor, today=today, **filters).defer(*PERSON_CIPHERTEXT)
    page_no = form.cleaned_data.get("page") or 1
    count, page_no, size, rows = page_slice(qs, page=page_no, page_size=PAGE_SIZE)
    last_page = max(1, math.ceil(count / size))
    if page_no > last_page:  # a stale link past the end shows the last page, not nothing
        count, page_no, size, rows = page_slice(qs, page=last_page, page_size=PAGE_SIZE)
    counts = selectors.measure_counts(actor=actor, today=today)
    context: dict[str, Any] = {
        "form": form,
        "rows": [_row(m, today) for m in rows],
        "count": count,
        "page": page_no,
        "num_pages": last_page,
        "counts": counts,
        "tabs": _kind_tabs(counts, filters["kind"]),
        **_kind_table(counts),
        "today": today,
        "personal_data": scope_of(actor).personal_data,
    }
    template = (
        "people/measures/_results.html" if is_partial(request) else "people/measures/list.html"
    )
    return render(request, template, context)


def _detail_context(actor: User, m: ControlMeasure, **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    span = max((m.planned_end - m.start_date).days + 1, 1)
    in_force = m.state in IN_FORCE_STATES
    tests = []
    for t in selectors.measure_tests(measure=m):
        day_no = (t.day - m.start_date).days + 1
        late = in_force and not t.result and t.day < today
        tests.append(
            {"t": t, "day_no": day_no, "late": late, "at": _pct((day_no - 0.5) * 100 / span)}
        )
    phases = [
        {
            "p": p,
            "label": _kind_label(p.kind),
            "days": (p.end - p.start).days + 1,
            "width": _pct(((p.end - p.start).days + 1) * 100 / span),
        }
        for p in measures.measure_phases(m)
    ]
    marker = (today - m.start_date).days
    # each form has its own prefix, so the fields of the five forms never share an id
    forms = {name: cls(prefix=name) for name, cls in ACTION_FORMS.items()}
    forms["start"].initial = {"start": m.start_date}
    forms["release"].initial = {"on": today}
    forms.update(extra.pop("forms", {}))
    current = measures.measure_current_phase(m, today) if in_force else None
    return {
        "m": m,
        "phases": phases,
        "today_at": _pct((marker + 0.5) * 100 / span) if 0 <= marker < span else None,
        "current": current,
        "current_label": _kind_label(current.kind) if current else "",
        "tests": tests,
        "events": [
            {"e": e, "from": _state_label(e.from_state), "to": _state_label(e.to_state)}
            for e in selectors.measure_events(measure=m)
        ],
        "source_label": SOURCE_LABELS.get(m.source_type, m.source_type),
        "forms": forms,
        "allowed": measures.TRANSITIONS.get(m.state, frozenset()),
        "may_act": allowed(actor, "measure.decide", region=m.region_path),
        "today": today,
        "conversion": measures.CONVERSION_TARGETS.get(m.converted_to, m.converted_to),
        **extra,
    }


@scoped
@login_required
@require_GET
def measure_detail(request: HttpRequest, measure_id: int) -> HttpResponse:
    actor = actor_of(request)
    m = get_scoped_or_404(selectors.measure_get_qs(actor=actor), pk=measure_id)
    return render(request, "people/measures/detail.html", _detail_context(actor, m))


def _apply(action: str, actor: User, m: ControlMeasure, data: dict[str, Any]) -> ControlMeasure:
    if action == "start":
        return measures.measure_start(actor=actor, measure=m, start=data.get("start"))
    if action == "extend":
        return measures.measure_extend(
            actor=actor, measure=m, days=data["days"], reason=data["reason"]
        )
    if action == "release":
        return measures.measure_release(
            actor=actor, measure=m, on=data.get("on"), reason=data.get("reason", "")
        )
    if action == "convert":
        return measures.measure_convert(
            actor=actor, measure=m, to=data["to"], reason=data["reason"]
        )
    return measures.measure_cancel(actor=actor, measure=m, reason=data["reason"])


@scoped
@login_required
@require_POST
def measure_transition(request: HttpRequest, measure_id: int, action: str) -> HttpResponse:
    """One transition; htmx swaps the whole measure panel, errors stay beside the form."""
    if action not in ACTION_FORMS:
        raise Http404()
    actor = actor_of(request)
    qs = selectors.measure_get_qs(actor=actor)
    m = get_scoped_or_404(qs, pk=measure_id)
    authorize(actor, "measure.decide", region=m.region_path)
    form = ACTION_FORMS[action](request.POST, prefix=action)
    error, status = "", 200
    if form.is_valid():
        try:
            _apply(action, actor, m, form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            if isinstance(exc, FieldError) and exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                error = error_text(exc)
            status = refused_status(exc)
    else:
        status = 422
    if status == 200 and not is_partial(request):
        return redirect("people:measure_detail", measure_id=measure_id)
    m = get_scoped_or_404(qs, pk=measure_id)  # re-read with the fresh overdue flags
    extra: dict[str, Any] = {"error": error, "failed_action": action if status != 200 else ""}
    if status != 200:
        extra["forms"] = {action: form}
    context = _detail_context(actor, m, **extra)
    template = (
        "people/measures/_measure.html" if is_partial(request) else "people/measures/detail.html"
    )
    return render(request, template, context, status=status)


@scoped
@login_required
@require_POST
def measure_propose(request: HttpRequest) -> HttpResponse:
    """Propose a measure by hand from a person's page; the person must be in scope."""
    actor = actor_of(request)
    person_id = int_param(request.POST.get("propose-person"))
    if person_id is None:
        raise Http404()
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=person_id)
    authorize(actor, "measure.propose")  # as the service: proposals may cross jurisdictions
    plans = selectors.plan_list(actor=actor).filter(active=True)
    form = ProposeForm(request.POST, prefix="propose", plans=plans)
    if not form.is_valid():
        messages.error(request, _("Choose a plan and a start date."))
        return redirect(reverse("people:person_detail", args=[person.pk]))
    # the form's token makes a double click or a resubmitted page one proposal, not two
    token = request.POST.get("token", "")[:40] or timezone.now().strftime("%Y%m%d%H%M%S%f")
    m = measures.measure_propose(
        actor=actor,
        person=person,
        plan=form.cleaned_data["plan"],
        start=form.cleaned_data["start"],
        source_type="manual",
        source_id=f"{actor.pk}:{token}",
        reason=form.cleaned_data.get("reason") or "",
    )
    return redirect("people:measure_detail", measure_id=m.pk)


def person_control_context(*, actor: User, person: Person) -> dict[str, Any]:
    """The "control measure" panel on a person's page (fangkong.web's person view)."""
    qs = selectors.measure_list(actor=actor, person_id=person.pk).defer(*PERSON_CIPHERTEXT)
    rows = list(qs[:6])
    current = next((m for m in rows if m.state in IN_FORCE_STATES), None)
    plans = selectors.plan_list(actor=actor).filter(active=True)
    today = timezone.localdate()
    return {
        "current": _row(current, today) if current else None,
        "recent": rows[:5],
        "more": len(rows) > 5,
        "propose_form": ProposeForm(
            prefix="propose", initial={"person": person.pk, "start": today}, plans=plans
        ),
        "token": f"{person.pk}-{timezone.now():%Y%m%d%H%M%S%f}",
        "may_act": allowed(actor, "measure.propose"),
    }
