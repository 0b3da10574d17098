"""Tracing pages: cases, the case page (contact tree and chain graph), investigations."""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    Conflict,
    actor_of,
    error_text,
    get_scoped_or_404,
    page_number,
    page_slice,
    scoped,
    xlsx_response,
)
from fangkong.core.middleware import client_ip
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.tracing import selectors
from fangkong.tracing.chain import chain_graph
from fangkong.tracing.export import assistance_export
from fangkong.tracing.models import Case, CaseStatus
from fangkong.tracing.services import cases as services
from fangkong.tracing.views_page import case_of, case_page_context, may_act

PAGE_SIZE = 50


@scoped
@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    status = request.GET.get("status") or None
    status = status if status in CaseStatus.values else None
    overdue = True if request.GET.get("overdue") == "1" else None
    qs = selectors.case_list(actor=actor, status=status, overdue=overdue)
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=PAGE_SIZE)
    context = {
        "cases": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "status": status or "",
        "overdue": overdue,
        "statuses": CaseStatus.choices,
        "may_act": may_act(actor, "case.register"),
    }
    return render(request, "tracing/case_list.html", context)


def _case(request: HttpRequest, case_id: int) -> Case:
    return case_of(request, case_id)


@scoped
@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    context = case_page_context(request, case)
    return render(request, "tracing/case_detail.html", context)


@scoped
@login_required
@require_GET
def case_graph(request: HttpRequest, case_id: int) -> JsonResponse:
    case = _case(request, case_id)
    return JsonResponse(chain_graph(actor=actor_of(request), case=case))


@scoped
@login_required
@require_POST
def case_export(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = _case(request, case_id)
    authorize(actor, "assistance.export", region=case.region_path)
    try:
        content, filename = assistance_export(
            actor=actor,
            case=case,
            reason=request.POST.get("reason", ""),
            client_ip=client_ip(request),
        )
    except FieldError as exc:
        messages.error(request, error_text(exc))
        return redirect("tracing:case_detail", case_id=case.pk)
    return xlsx_response(content, f"{filename}")


@scoped
@login_required
@require_GET
def investigation_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    show = request.GET.get("show", "overdue")
    show = show if show in ("overdue", "open", "all") else "overdue"
    qs = selectors.investigation_list(
        actor=actor, overdue=True if show == "overdue" else None, open_only=show == "open"
    )
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=PAGE_SIZE)
    context = {
        "investigations": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "show": show,
    }
    return render(request, "tracing/investigation_list.html", context)


@scoped
@login_required
@require_POST
def investigation_action(request: HttpRequest, investigation_id: int, action: str) -> HttpResponse:
    actor = actor_of(request)
    investigation = get_scoped_or_404(
        selectors.investigation_list(actor=actor), pk=investigation_id
    )
    if action not in ("traced", "close"):
        raise Http404()
    authorize(actor, "investigation.run", region=investigation.region_path)
    try:
        if action == "traced":
            services.investigation_mark_traced(actor=actor, investigation=investigation)
            messages.success(request, _("Contacts marked as traced."))
        else:
            services.investigation_close(
                actor=actor, investigation=investigation, notes=request.POST.get("notes", "")
            )
            messages.success(request, _("Investigation closed."))
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect("tracing:case_detail", case_id=investigation.case_id)
