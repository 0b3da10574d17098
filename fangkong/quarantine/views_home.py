"""Home quarantine: the grid worker's round (persons under home quarantine or monitoring,
today's check-ins, missed ones, door-sensor alerts) and the roll-up for towns and districts."""

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
    get_scoped_or_404,
    live_seconds,
    refused_status,
    scoped,
)
from fangkong.core.permissions import allowed
from fangkong.core.vault import mask_name
from fangkong.people.selectors.measures import measure_get_qs
from fangkong.quarantine import forms as qf
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import CheckVia
from fangkong.quarantine.reserve import home_region
from fangkong.quarantine.services.doors import door_event_handle
from fangkong.quarantine.services.health import health_check_record


def _page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    region = home_region(actor)
    rollup = sel.home_rollup(actor=actor, region=region) if region is not None else []
    context = {
        "rows": sel.home_watch(actor=actor),
        "rollup": rollup[1:],
        "total": rollup[0] if rollup else None,
        "may_watch": allowed(actor, "quarantine.home.watch"),
        "may_check": allowed(actor, "quarantine.health.record"),
        "form": qf.HealthForm(),
        "live_seconds": live_seconds(),
        **extra,
    }
    return render(request, "quarantine/home.html", context, status=status)


@scoped
@login_required
def home_watch(request: HttpRequest) -> HttpResponse:
    return _page(request)


@scoped
@login_required
@require_POST
def home_check(request: HttpRequest, measure_id: int) -> HttpResponse:
    actor = actor_of(request)
    measure = get_scoped_or_404(measure_get_qs(actor=actor), pk=measure_id)
    form = qf.HealthForm(request.POST)
    if not form.is_valid():
        return _page(request, 422, refusal=_("give the temperature in °C, e.g. 36.5"))
    try:
        health_check_record(actor=actor, measure=measure, via=CheckVia.GRID, **form.cleaned_data)
    except DOMAIN_ERRORS as exc:
        return _page(request, refused_status(exc), refusal=str(exc))
    name = mask_name(measure.person.name)
    messages.success(request, _("%(name)s: check recorded.") % {"name": name})
    return HttpResponseRedirect(reverse("quarantine:home"))


@scoped
@login_required
@require_POST
def door_handle(request: HttpRequest, event_id: int) -> HttpResponse:
    actor = actor_of(request)
    event = get_scoped_or_404(sel.door_event_get_qs(actor=actor), pk=event_id)
    try:
        door_event_handle(actor=actor, event=event, note=request.POST.get("note", ""))
    except DOMAIN_ERRORS as exc:
        return _page(request, refused_status(exc), refusal=str(exc))
    messages.success(request, _("Alert closed."))
    return HttpResponseRedirect(reverse("quarantine:home"))
