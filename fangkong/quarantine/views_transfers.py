"""Transfer pages: the dispatch list and form (transport group), a transfer's chain of
custody with the scan form (a phone page for the crew and the receiving side), and the
driver's own transfers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    form_refused,
    form_status,
    get_scoped_or_404,
    refused_status,
    scoped,
)
from fangkong.core.models import User
from fangkong.core.permissions import allowed
from fangkong.core.vault import mask_name
from fangkong.quarantine import forms as qf
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import OPEN_TRANSFER_STATES, PlaceKind, Transfer
from fangkong.quarantine.services import transfers

LIST_SHOWN = 100


def _list_context(actor: User, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    overdue = request.GET.get("overdue") == "1"
    state = request.GET.get("state", "open")
    qs = sel.transfer_list(actor=actor, state=state, overdue=overdue)
    waiting = sel.awaiting_transfer(actor=actor)
    return {
        "transfers": list(qs[:LIST_SHOWN]),
        "transfer_count": qs.count(),
        "overdue_count": sel.transfer_list(actor=actor, overdue=True).count(),
        "state": state,
        "overdue": overdue,
        "waiting": [(m, mask_name(m.person.name)) for m in waiting[:LIST_SHOWN]],
        "form": extra.pop("form", None) or qf.TransferForm(actor=actor),
        "may_dispatch": allowed(actor, "quarantine.transfer.dispatch"),
        **extra,
    }


@scoped
@login_required
@acts("quarantine.transfer.dispatch")
def transfer_index(request: HttpRequest) -> HttpResponse:
    """Open transfers, overdue first to the eye; a POST dispatches a new one."""
    actor = actor_of(request)
    form = qf.TransferForm(request.POST or None, actor=actor)
    status = form_status(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = transfers.transfer_create(
                actor=actor,
                measures=list(data["measures"]),
                route=transfers.Route(
                    pickup_kind=data["pickup_kind"],
                    pickup_place=data["pickup_place"],
                    destination_kind=PlaceKind.SITE,
                    destination_site=data["destination_site"],
                ),
                crew=transfers.Crew(data["vehicle"], data["driver"], data["escort"]),
                deadline=data["deadline"],
            )
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc, {"measure_ids": "measures", "driver_id": "driver"})
        else:
            messages.success(request, _("Transfer %(code)s dispatched.") % {"code": made.code})
            return HttpResponseRedirect(reverse("quarantine:transfer", args=[made.pk]))
    context = _list_context(actor, request, form=form)
    return render(request, "quarantine/transfers.html", context, status=status)


@scoped
@login_required
def transfers_mine(request: HttpRequest) -> HttpResponse:
    """The driver's phone page: their open transfers, soonest deadline first."""
    actor = actor_of(request)
    mine = sel.transfer_list(actor=actor, state="open", mine=True)
    return render(request, "quarantine/transfers_mine.html", {"transfers": list(mine)})


def _detail(
    request: HttpRequest, transfer: Transfer, status: int = 200, **extra: Any
) -> HttpResponse:
    actor = actor_of(request)
    site = transfer.destination_site
    is_open = transfer.state in OPEN_TRANSFER_STATES
    context = {
        "transfer": transfer,
        "legs": sel.transfer_legs(actor=actor, transfer=transfer),
        "may_scan": is_open
        and (
            allowed(actor, "quarantine.transfer.scan", region=transfer.region_path)
            or (
                site is not None
                and allowed(
                    actor, "quarantine.stay", region=site.region_path, institution=site.institution
                )
            )
        ),
        "may_cancel": is_open
        and allowed(actor, "quarantine.transfer.dispatch", region=transfer.region_path),
        "scan_form": extra.pop("scan_form", None) or qf.ScanForm(),
        "cancel_form": extra.pop("cancel_form", None) or qf.CancelForm(),
        **extra,
    }
    return render(request, "quarantine/transfer.html", context, status=status)


def _transfer(request: HttpRequest, transfer_id: int) -> Transfer:
    found: Transfer = get_scoped_or_404(sel.transfer_list(actor=actor_of(request)), pk=transfer_id)
    return found


@scoped
@login_required
def transfer_detail(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _detail(request, _transfer(request, transfer_id))


@scoped
@login_required
@require_POST
def transfer_scan(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = _transfer(request, transfer_id)
    form = qf.ScanForm(request.POST)
    if not form.is_valid():
        return _detail(request, transfer, 422, scan_form=form)
    try:
        done = transfers.transfer_scan(
            actor=actor_of(request), transfer=transfer, **form.cleaned_data
        )
    except DOMAIN_ERRORS as exc:
        status = form_refused(form, exc)
        return _detail(request, _transfer(request, transfer_id), status, scan_form=form)
    name = mask_name(done.leg.person.name)
    if done.checked_in:
        messages.success(request, _("%(name)s delivered and checked in.") % {"name": name})
    elif done.kind == "pickup":
        messages.success(request, _("%(name)s picked up.") % {"name": name})
    else:
        messages.success(request, _("%(name)s delivered.") % {"name": name})
    return HttpResponseRedirect(reverse("quarantine:transfer", args=[transfer.pk]))


@scoped
@login_required
@require_POST
def transfer_cancel(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = _transfer(request, transfer_id)
    form = qf.CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, transfer, 422, cancel_form=form)
    try:
        transfers.transfer_cancel(
            actor=actor_of(request), transfer=transfer, reason=form.cleaned_data["reason"]
        )
    except DOMAIN_ERRORS as exc:
        return _detail(request, transfer, refused_status(exc), cancel_form=form, refusal=str(exc))
    messages.success(request, _("Transfer %(code)s cancelled.") % {"code": transfer.code})
    return HttpResponseRedirect(reverse("quarantine:transfer", args=[transfer.pk]))
