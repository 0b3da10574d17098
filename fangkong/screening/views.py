"""The screening inbox per town: pending records, confirm (classify, propose the measure) or
reject, look up a self-declaration code, enter a record at a checkpoint."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    error_text,
    form_refused,
    get_scoped_or_404,
    is_partial,
    page_slice,
    refused_status,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.permissions import allowed
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import MeasureKind
from fangkong.people.services.measures import measure_phases
from fangkong.screening import selectors
from fangkong.screening.forms import (
    InboxFilterForm,
    RejectForm,
    StaffScreeningForm,
    TokenLookupForm,
)
from fangkong.screening.models import ScreeningRecord, ScreeningSource, ScreeningStatus
from fangkong.screening.services import arrivals as services

PAGE_SIZE = 50


def _inbox_context(request: HttpRequest, form: InboxFilterForm) -> dict[str, Any]:
    actor = actor_of(request)
    filters = form.filters()
    qs = selectors.screening_list(
        actor=actor, status=filters["status"] or None, source=filters["source"] or None
    )
    page_no = form.cleaned_data.get("page") or 1
    count, page_no, size, rows = page_slice(qs, page=page_no, page_size=PAGE_SIZE)
    last_page = max(1, math.ceil(count / size))
    counts = selectors.screening_counts(actor=actor)
    sources = dict(ScreeningSource.choices)
    return {
        "form": form,
        "records": rows,
        "count": count,
        "page": page_no,
        "num_pages": last_page,
        "filters": filters,
        "counts": {s: counts.get(s, 0) for s in ScreeningStatus.values},
        "total": sum(counts.values()),
        "pending_sources": [
            (key, sources.get(key, key), n)
            for key, n in sorted(selectors.pending_by_source(actor=actor).items())
        ],
        "lookup_form": TokenLookupForm(),
        "personal_data": scope_of(actor).personal_data,
        "may_screen": _may_screen(actor),
    }


def _may_screen(actor: Any) -> bool:
    return allowed(actor, "screening.create")


@scoped
@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Records in the caller's jurisdiction; pending ones unless another status is chosen."""
    form = InboxFilterForm(request.GET if request.GET else {"status": ScreeningStatus.PENDING})
    context = _inbox_context(request, form)
    template = "screening/_inbox_results.html" if is_partial(request) else "screening/inbox.html"
    return render(request, template, context)


def _detail_context(request: HttpRequest, record: ScreeningRecord) -> dict[str, Any]:
    measure = record.measure
    return {
        "record": record,
        # only a person of the caller's jurisdiction is linked (issue 8: no existence oracle)
        "person_id": selectors.visible_person_id(actor=actor_of(request), person=record.person),
        "route": record.route or [],
        "snapshot": record.classification or {},
        "measure": measure,
        "phases": [
            {
                "kind": p.kind,
                "label": MeasureKind(p.kind).label if p.kind in MeasureKind.values else p.kind,
                "start": p.start,
                "end": p.end,
                "days": (p.end - p.start).days + 1,
            }
            for p in (measure_phases(measure) if measure is not None else [])
        ],
        "reject_form": RejectForm(),
        "may_screen": _may_screen(actor_of(request)),
    }


def _record(request: HttpRequest, record_id: int) -> ScreeningRecord:
    qs = selectors.screening_get_qs(actor=actor_of(request)).select_related("measure__plan")
    return get_scoped_or_404(qs, pk=record_id)


@scoped
@login_required
@require_GET
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _record(request, record_id)
    return render(request, "screening/detail.html", _detail_context(request, record))


@scoped
@login_required
@require_POST
def record_confirm(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = actor_of(request)
    record = _record(request, record_id)
    try:
        services.screening_confirm(actor=actor, record=record, client_ip=client_ip(request))
    except DOMAIN_ERRORS as exc:
        context = _detail_context(request, record)
        context["error"] = error_text(exc)
        return render(request, "screening/detail.html", context, status=refused_status(exc))
    return redirect("screening:detail", record_id=record.pk)


@scoped
@login_required
@require_POST
def record_reject(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = actor_of(request)
    record = _record(request, record_id)
    form = RejectForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.screening_reject(
                actor=actor,
                record=record,
                reason=form.cleaned_data["reason"],
                client_ip=client_ip(request),
            )
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc)
        else:
            return redirect("screening:detail", record_id=record.pk)
    context = _detail_context(request, record)
    context["reject_form"] = form
    return render(request, "screening/detail.html", context, status=status)


@scoped
@login_required
@require_POST
def token_lookup(request: HttpRequest) -> HttpResponse:
    """A checkpoint scans the code a person shows: a POST body, never part of a URL."""
    form = TokenLookupForm(request.POST)
    if form.is_valid():
        qs = selectors.screening_by_token(actor=actor_of(request), token=form.cleaned_data["token"])
        found = qs.values_list("pk", flat=True).first()
        if found is not None:
            return redirect("screening:detail", record_id=found)
    context = _inbox_context(request, InboxFilterForm({"status": ScreeningStatus.PENDING}))
    context["lookup_form"] = TokenLookupForm()
    context["lookup_missing"] = True
    return render(request, "screening/inbox.html", context, status=404)


@scoped
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("id_number", "phone", "address")
def record_new(request: HttpRequest) -> HttpResponse:
    """Enter a screening record (checkpoint, door-to-door...), optionally confirming it."""
    actor = actor_of(request)
    destinations = selectors.destination_choices(actor=actor)
    form = StaffScreeningForm(request.POST or None, destinations=destinations)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                record = _create_from(request, form, destinations)
            except DOMAIN_ERRORS as exc:
                status = form_refused(form, exc)
            else:
                return redirect("screening:detail", record_id=record.pk)
    context = {"form": form, "may_screen": _may_screen(actor)}
    return render(request, "screening/new.html", context, status=status)


def _create_from(
    request: HttpRequest, form: StaffScreeningForm, destinations: Any
) -> ScreeningRecord:
    actor = actor_of(request)
    data = form.cleaned_data
    destination = destinations.filter(code=data["destination"]).first()
    if destination is None:
        raise FieldError("destination", _("unknown region or outside your jurisdiction"))
    screening = services.screening_validate(
        name=data["name"],
        id_type=data["id_type"],
        id_number=data["id_number"],
        phone=data["phone"],
        address=data["address"],
        source=data["source"],
        destination=destination,
        origin_code=data["origin_code"],
        origin_place=data["origin_place"],
        route=data["route_text"],
        arrival_at=data["arrival_at"],
        travel_mode=data["travel_mode"],
        note=data["note"],
    )
    return services.screening_create(
        actor=actor, data=screening, confirm=data["confirm"], client_ip=client_ip(request)
    )
