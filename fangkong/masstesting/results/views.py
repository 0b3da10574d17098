"""The recheck list: persons of positive or invalid pools to resample, per grid.

Grid workers, communities and towns see the tasks of their jurisdiction (a lab or sampler
sees none: they hold personal data), record the single-tube resample by its barcode inline
and cancel a task with a reason. Persons are shown by name with masked ID number and phone.
Every write goes through rechecks.py (role check and audit row); every task comes from the
scoped selector, so another jurisdiction's task answers 404.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    error_text,
    get_scoped_or_404,
    int_param,
    is_partial,
    page_number,
    page_slice,
    refused_status,
    scoped,
)
from fangkong.core.permissions import allowed
from fangkong.masstesting.models import RecheckStatus, RecheckTask
from fangkong.masstesting.results.selectors import (
    STATUS_FILTERS,
    recheck_campaigns,
    recheck_grids,
    recheck_list,
    recheck_status_counts,
)
from fangkong.masstesting.results.services import rechecks

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> dict[str, Any]:
    status = request.GET.get("status", "outstanding")
    return {
        "campaign_id": int_param(request.GET.get("campaign")),
        "grid_id": int_param(request.GET.get("grid")),
        "status": status if status in STATUS_FILTERS else None,
    }


def _status_tabs(counts: dict[str, int]) -> list[dict[str, Any]]:
    labels = {"outstanding": _("Outstanding"), **dict(RecheckStatus.choices)}
    return [{"value": v, "label": labels[v], "count": counts[v]} for v in STATUS_FILTERS]


@scoped
@login_required
@require_GET
def recheck_list_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    f = _filters(request)
    qs = recheck_list(actor=actor, **f)
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=PAGE_SIZE)
    counts = recheck_status_counts(actor=actor, campaign_id=f["campaign_id"], grid_id=f["grid_id"])
    context = {
        "tasks": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "status": f["status"] or "",
        "grid": f["grid_id"],
        "campaign": f["campaign_id"],
        "tabs": _status_tabs(counts),
        "grids": list(recheck_grids(actor=actor, campaign_id=f["campaign_id"])),
        "campaigns": list(recheck_campaigns(actor=actor)[:50]),
        "may_act": allowed(actor, "recheck.sample"),
    }
    return render(request, "masstesting/rechecks.html", context)


def _task(request: HttpRequest, task_id: int) -> RecheckTask:
    return get_scoped_or_404(recheck_list(actor=actor_of(request)), pk=task_id)


def _row(
    request: HttpRequest,
    task: RecheckTask,
    *,
    cancelling: bool = False,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "t": task,
        "may_act": allowed(actor_of(request), "recheck.sample"),
        "cancelling": cancelling,
        "row_error": error,
    }
    return render(request, "masstesting/rechecks_row.html", context, status=status)


@scoped
@login_required
@require_GET
def recheck_row(request: HttpRequest, task_id: int) -> HttpResponse:
    """One row, plain or with its cancel form (htmx)."""
    task = _task(request, task_id)
    return _row(request, task, cancelling=request.GET.get("cancel") == "1")


def _done(request: HttpRequest, task: RecheckTask, note: str) -> HttpResponse:
    if is_partial(request):
        return _row(request, _task(request, task.pk))
    messages.success(request, note)
    return redirect(reverse("masstesting:rechecks"))


def _failed(
    request: HttpRequest, task: RecheckTask, exc: Exception, *, cancelling: bool = False
) -> HttpResponse:
    text = error_text(exc)
    if is_partial(request):
        # htmx swaps 403, 409 and 422 in place (base.html), so the reason shows on the row
        return _row(
            request,
            task,
            cancelling=cancelling,
            error=text,
            status=refused_status(exc),
        )
    messages.error(request, text)
    return redirect(reverse("masstesting:rechecks"))


@scoped
@login_required
@require_POST
def recheck_sample_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    try:
        task = rechecks.recheck_sample(
            actor=actor_of(request), task=task, barcode=request.POST.get("barcode", "")
        )
    except DOMAIN_ERRORS as exc:
        return _failed(request, task, exc)
    return _done(request, task, _("Resample recorded."))


@scoped
@login_required
@require_POST
def recheck_cancel_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    try:
        task = rechecks.recheck_cancel(
            actor=actor_of(request), task=task, reason=request.POST.get("reason", "")
        )
    except DOMAIN_ERRORS as exc:
        return _failed(request, task, exc, cancelling=True)
    return _done(request, task, _("Recheck cancelled."))
