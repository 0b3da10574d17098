"""What a tracer does on the tracing pages: report a case, record exposures, recompute the
contact generations, mark a contact's tracing, start a contact's measure, move a case on.

Every write goes through a service (which checks the role and writes the audit row); every
object comes from a scoped selector, so another jurisdiction's case answers 404. A person is
chosen by a POST search (document number or name), never by anything in a URL.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    Conflict,
    Forbidden,
    actor_of,
    error_text,
    form_error,
    form_refused,
    get_scoped_or_404,
    is_partial,
    refused_status,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.models import Person
from fangkong.people.selectors import measures as measures_selectors
from fangkong.people.selectors.persons import person_get_qs
from fangkong.people.services import measures
from fangkong.tracing import selectors
from fangkong.tracing.forms import CaseReportForm, CaseStatusForm, ExposureForm, TraceForm
from fangkong.tracing.models import Case, CaseContact
from fangkong.tracing.services import cases as services
from fangkong.tracing.services.generations import GenerationsResult, case_compute_generations
from fangkong.tracing.views_page import (
    case_flags,
    case_of,
    case_page_context,
    exposure_choices,
    exposure_rows,
    investigation_context,
    may_act,
    row_urls,
)

# the search box may hold a document number: keep it out of error reports
SENSITIVE = ("q", "id_number", "phone")


def _pick_context(actor: User, text: str, field: str) -> dict[str, Any]:
    qs = selectors.person_lookup(actor=actor, text=text)
    rows = list(qs[: selectors.PICK_LIMIT + 1])
    return {
        "field": field,
        "results": rows[: selectors.PICK_LIMIT],
        "more": len(rows) > selectors.PICK_LIMIT,
        "searched": bool(text.strip()),
    }


def _chosen(actor: User, person_id: Any) -> Person | None:
    if not str(person_id or "").isdigit():
        return None
    return person_get_qs(actor=actor).filter(pk=int(person_id)).first()


# --- report a case -------------------------------------------------------------------------


@scoped
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters(*SENSITIVE)
def case_new(request: HttpRequest) -> HttpResponse:
    """The report form; its search button posts to the same address (action=search)."""
    actor = actor_of(request)
    if request.method == "POST" and request.POST.get("action") == "search":
        pick = _pick_context(actor, request.POST.get("q", ""), "person")
        if is_partial(request):
            return render(request, "tracing/_person_pick.html", pick)
        # without JavaScript the whole form comes back with the matches in it, unvalidated
        values = {k: v for k, v in request.POST.items() if k not in ("q", "csrfmiddlewaretoken")}
        form = CaseReportForm(initial=values)
        return _case_new_page(request, form, pick=pick)
    form = CaseReportForm(request.POST or None)
    if request.method == "GET":
        return _case_new_page(request, form)
    if not may_act(actor, "case.register"):
        return _case_new_page(request, form, status=403)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        person = _chosen(actor, data["person"])
        if person is None:
            form.add_error("person", _("search for the person and choose one"))
        else:
            try:
                case = services.case_create(
                    actor=actor,
                    person=person,
                    **{k: v for k, v in data.items() if k != "person"},
                    client_ip=client_ip(request),
                )
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                messages.success(request, _("Case #%(id)s reported.") % {"id": case.pk})
                return redirect("tracing:case_detail", case_id=case.pk)
    return _case_new_page(request, form, status=status)


def _case_new_page(
    request: HttpRequest,
    form: CaseReportForm,
    *,
    pick: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    chosen = _chosen(actor, form["person"].value())
    context = {
        "form": form,
        "may_act": may_act(actor, "case.register"),
        "pick": pick or {"field": "person", "results": [], "searched": False},
        "chosen": chosen,
    }
    return render(request, "tracing/case_new.html", context, status=status)


# --- exposures -----------------------------------------------------------------------------

# where a service's FieldError about an exposure item belongs in the form
ITEM_FIELDS = {"contact.person_id": "contact", "person.person_id": "source", "contact": "contact"}


def _exposure_form(actor: User, case: Case, data: Any = None) -> ExposureForm:
    sources, regions = exposure_choices(actor, case)
    return ExposureForm(data, sources=sources, regions=regions)


def _exposures_panel(
    request: HttpRequest, case: Case, form: ExposureForm, *, status: int = 200, **extra: Any
) -> HttpResponse:
    actor = actor_of(request)
    if form.is_bound and status != 200:
        extra["chosen_contact"] = _chosen(actor, form["contact"].value())
    if not is_partial(request):
        if status == 200:
            for message in extra.get("notices", []):
                messages.success(request, message)
            return redirect(reverse("tracing:case_detail", args=[case.pk]) + "#exposures")
        # without JavaScript the page comes back whole, the form with its errors in place
        context = case_page_context(request, case, exposure_form=form, **extra)
        return render(request, "tracing/case_detail.html", context, status=status)
    context = {
        "case": case,
        "exposure_form": form,
        "may_act": may_act(actor, "exposure.record", case),
        **extra,
    }
    context.update(exposure_rows(actor, case))
    return render(request, "tracing/_exposures.html", context, status=status)


@scoped
@login_required
@require_POST
@sensitive_post_parameters(*SENSITIVE)
def case_exposures(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record one exposure from the case page (or search for the contact: action=search)."""
    actor = actor_of(request)
    case = case_of(request, case_id)
    if request.POST.get("action") == "search":
        pick = _pick_context(actor, request.POST.get("q", ""), "contact")
        if not is_partial(request):
            context = case_page_context(request, case, contact_pick=pick)
            return render(request, "tracing/case_detail.html", context)
        response = render(request, "tracing/_person_pick.html", pick)
        # Enter in the search box submits the whole form: the answer still goes to the picker
        response["HX-Retarget"] = "#pick-contact"
        response["HX-Reswap"] = "innerHTML"
        return response
    form = _exposure_form(actor, case, request.POST)
    if not may_act(actor, "exposure.record", case):
        form.add_error(None, _("Your role may not record exposures."))
        return _exposures_panel(request, case, form, status=403)
    if not form.is_valid():
        return _exposures_panel(request, case, form, status=422)
    try:
        [result] = services.exposures_record(
            actor=actor, case=case, items=[form.item()], client_ip=client_ip(request)
        )
    except Forbidden as exc:
        form.add_error(None, error_text(exc))
        return _exposures_panel(request, case, form, status=403)
    if result.status == "error":
        for err in result.errors:
            target = ITEM_FIELDS.get(err["field"], err["field"])
            form.add_error(target if target in form.fields else None, err["msg"])
        return _exposures_panel(request, case, form, status=422)
    notice = (
        _("Exposure recorded.")
        if result.status == "created"
        else _("This exposure was already recorded; nothing changed.")
    )
    return _exposures_panel(
        request,
        case,
        _exposure_form(actor, case),
        notices=[notice],
        recorded=result.status == "created",
    )


# --- generations ---------------------------------------------------------------------------


def _generation_label(generation: int, n: int) -> str:
    labels = {1: _("close"), 2: _("secondary"), 3: _("third-generation")}
    label = labels.get(generation) or _("generation %(g)s") % {"g": generation}
    return f"{label} {n}"


def result_message(result: GenerationsResult) -> str:
    reached = "、".join(_generation_label(g, n) for g, n in result.by_generation.items())
    return _(
        "Contacts recomputed: %(reached)s. %(created)s new, %(updated)s changed, "
        "%(removed)s removed; %(proposed)s measures proposed."
    ) % {
        "reached": reached or _("none"),
        "created": result.created,
        "updated": result.updated,
        "removed": result.removed,
        "proposed": result.proposed,
    }


def _back_to_case(request: HttpRequest, case: Case, anchor: str = "") -> HttpResponse:
    url = reverse("tracing:case_detail", args=[case.pk]) + anchor
    if is_partial(request):
        # the whole page changes (tiles, tree, graph): htmx reloads it (a redirect to the
        # same address with another #anchor would only scroll)
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(url)


@scoped
@login_required
@require_POST
def case_recompute(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = case_of(request, case_id)
    if not may_act(actor, "investigation.run", case):
        raise Forbidden(_("your role may not trace contacts"))
    try:
        result = case_compute_generations(actor=actor, case=case)
    except Conflict as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, result_message(result))
    return _back_to_case(request, case, "#contact-tree")


@scoped
@login_required
@require_POST
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    """Confirm, rule out, discharge...: the transitions services.STATUS_FLOW allows."""
    actor = actor_of(request)
    case = case_of(request, case_id)
    authorize(actor, "case.register", region=case.region_path)
    form = CaseStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the case's new status."))
        return _back_to_case(request, case)
    status = form.cleaned_data["status"]
    try:
        services.case_update(
            actor=actor, case=case, changes={"status": status}, client_ip=client_ip(request)
        )
    except DOMAIN_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        case.status = status
        messages.success(
            request,
            _("The case is now: %(status)s.") % {"status": case.get_status_display()},
        )
        if status == "confirmed":
            messages.info(request, _("Its contacts are being computed; recompute to see them now."))
    return _back_to_case(request, case)


# --- one contact ---------------------------------------------------------------------------


def _contact(request: HttpRequest, case: Case, contact_id: int) -> CaseContact:
    qs = selectors.contact_list(actor=actor_of(request), case=case)
    return get_scoped_or_404(qs, pk=contact_id)


def _row(
    request: HttpRequest,
    case: Case,
    contact: CaseContact,
    *,
    editing: bool = False,
    form: TraceForm | None = None,
    error: str = "",
    status: int = 200,
    refresh_panel: bool = False,
) -> HttpResponse:
    actor = actor_of(request)
    if not is_partial(request):
        if error:
            messages.error(request, error)
        return redirect(reverse("tracing:case_detail", args=[case.pk]) + f"#contact-{contact.pk}")
    inside = selectors.in_jurisdiction(actor=actor, person=contact.person)
    context: dict[str, Any] = {
        "case": case,
        "row": {"contact": contact, "inside": inside, "person": contact.person if inside else None},
        **case_flags(actor, case),
        "editing": editing,
        "trace_form": form
        or TraceForm(initial={"trace_status": contact.trace_status, "note": contact.trace_note}),
        "row_error": error,
        "row_urls": row_urls(case),
    }
    if refresh_panel:
        fresh = case_of(request, case.pk)
        context.update(investigation_context(fresh), oob=True)
    return render(request, "tracing/_contact_row.html", context, status=status)


@scoped
@login_required
@require_GET
def contact_edit(request: HttpRequest, case_id: int, contact_id: int) -> HttpResponse:
    """The row in edit mode (htmx); "cancel" asks for the plain row again (?view=1)."""
    case = case_of(request, case_id)
    contact = _contact(request, case, contact_id)
    return _row(request, case, contact, editing=request.GET.get("view") != "1")


@scoped
@login_required
@require_POST
def contact_trace(request: HttpRequest, case_id: int, contact_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = case_of(request, case_id)
    contact = _contact(request, case, contact_id)
    form = TraceForm(request.POST)
    if not form.is_valid():
        return _row(request, case, contact, editing=True, form=form, status=422)
    try:
        services.contact_set_trace(
            actor=actor,
            contact=contact,
            status=form.cleaned_data["trace_status"],
            note=form.cleaned_data["note"],
        )
    except DOMAIN_ERRORS as exc:
        if isinstance(exc, FieldError):
            form_error(form, exc)
            return _row(request, case, contact, editing=True, form=form, status=422)
        return _row(request, case, contact, error=error_text(exc), status=refused_status(exc))
    contact = _contact(request, case, contact_id)
    return _row(request, case, contact, refresh_panel=True)


@scoped
@login_required
@require_POST
def contact_start(request: HttpRequest, case_id: int, contact_id: int) -> HttpResponse:
    """Put the contact's proposed measure in force (the one-in-force rule decides)."""
    actor = actor_of(request)
    case = case_of(request, case_id)
    contact = _contact(request, case, contact_id)
    if contact.measure_id is None:
        return _row(request, case, contact, error=_("No measure was proposed."), status=422)
    measure = get_scoped_or_404(
        measures_selectors.measure_get_qs(actor=actor), pk=contact.measure_id
    )
    try:
        started = measures.measure_start(actor=actor, measure=measure)
    except DOMAIN_ERRORS as exc:
        return _row(request, case, contact, error=error_text(exc), status=refused_status(exc))
    contact = _contact(request, case, contact_id)
    error = started.reason if started.state == "cancelled" else ""
    return _row(request, case, contact, error=error, refresh_panel=True)
