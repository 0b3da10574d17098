"""Tracing pages: cases, the case page (contact tree and chain graph), investigations."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import Conflict, Forbidden, actor_of, get_scoped_or_404, page_slice, scoped
from fangkong.core.middleware import client_ip
from fangkong.core.validators import FieldError
from fangkong.tracing import selectors, services
from fangkong.tracing.chain import chain_graph, mask_name
from fangkong.tracing.export import XLSX_TYPE, assistance_export
from fangkong.tracing.models import Case, CaseKind, CaseStatus

PAGE_SIZE = 50
TREE_LIMIT = 2000  # the tree lists this many contacts; the API pages through the rest


def _page(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@scoped
@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    status = request.GET.get("status") or None
    status = status if status in CaseStatus.values else None
    overdue = True if request.GET.get("overdue") == "1" else None
    qs = selectors.case_list(actor=actor, status=status, overdue=overdue)
    count, page, size, rows = page_slice(qs, page=_page(request), page_size=PAGE_SIZE)
    context = {
        "cases": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "status": status or "",
        "overdue": overdue,
        "statuses": CaseStatus.choices,
    }
    return render(request, "tracing/case_list.html", context)


def _case(request: HttpRequest, case_id: int) -> Case:
    return get_scoped_or_404(selectors.case_get_qs(actor=actor_of(request)), pk=case_id)


def _tree(actor: Any, case: Case) -> list[dict[str, Any]]:
    """Contacts grouped by generation; outsiders carry nothing but their generation."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for contact in selectors.contact_list(actor=actor, case=case)[:TREE_LIMIT]:
        inside = selectors.in_jurisdiction(actor=actor, person=contact.person)
        groups.setdefault(contact.generation, []).append(
            {"contact": contact, "inside": inside, "person": contact.person if inside else None}
        )
    return [{"generation": g, "rows": rows} for g, rows in sorted(groups.items())]


@scoped
@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = actor_of(request)
    case = _case(request, case_id)
    counts = selectors.generation_counts(actor=actor, case=case)
    context = {
        "case": case,
        "masked_name": mask_name(case.person.name),
        "investigation": getattr(case, "investigation", None),
        "untraced": services.untraced_contacts(case=case),
        "counts": [(g, counts.get(g, 0)) for g in range(1, max([3, *counts]) + 1)],
        "total": sum(counts.values()),
        "tree": _tree(actor, case),
        "tree_limit": TREE_LIMIT,
        "may_export": actor.role in settings.REVEAL_ROLES,
        "is_confirmed": case.kind == CaseKind.CONFIRMED,
    }
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
    try:
        content, filename = assistance_export(
            actor=actor,
            case=case,
            reason=request.POST.get("reason", ""),
            client_ip=client_ip(request),
        )
    except (Forbidden, FieldError) as exc:
        message = exc.message if isinstance(exc, FieldError) else str(exc) or _("Not allowed")
        messages.error(request, message)
        return redirect("tracing:case_detail", case_id=case.pk)
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    count, page, size, rows = page_slice(qs, page=_page(request), page_size=PAGE_SIZE)
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
    except Forbidden as exc:
        messages.error(request, str(exc) or _("Not allowed"))
    return redirect("tracing:case_detail", case_id=investigation.case_id)
