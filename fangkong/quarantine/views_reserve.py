"""The room reserve page: rooms by state per region and site, the reserve ratio against the
standard, the rooms needed in the next 24 and 72 hours, and the free-room alarm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    form_refused,
    get_scoped_or_404,
    int_param,
    scoped,
)
from fangkong.core.models import Region, User, ancestor_paths
from fangkong.core.permissions import allowed
from fangkong.quarantine import forms as qf
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.reserve import home_region, reserve_region
from fangkong.quarantine.services.reserve import reserve_policy_set


def _region(actor: User, region_id: int | None) -> Region:
    if region_id is None:
        root = home_region(actor)
        if root is not None:
            return root
    return get_scoped_or_404(sel.region_get_qs(actor=actor), pk=region_id)


def _render(
    request: HttpRequest, region: Region, form: qf.ReservePolicyForm | None, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    reserve = reserve_region(actor=actor, region=region)
    policy = reserve.total.policy
    may_set = allowed(actor, "quarantine.reserve.set", region=region.path)
    if form is None and may_set:
        initial = {"rooms_per_10k": policy.rooms_per_10k, "min_free_rooms": policy.min_free_rooms}
        form = qf.ReservePolicyForm(initial=initial)
    sites = sel.site_list(actor=actor).filter(region_path__startswith=region.path)
    context = {
        "reserve": reserve,
        "ancestors": sel.region_get_qs(actor=actor)
        .filter(path__in=ancestor_paths(region.path))
        .order_by("path"),
        "sites": [(s, sel.site_room_counts(s)) for s in sites],
        "may_set": may_set,
        "policy_form": form,
    }
    return render(request, "quarantine/reserve.html", context, status=status)


@scoped
@login_required
@require_GET
def reserve(request: HttpRequest) -> HttpResponse:
    region = _region(actor_of(request), int_param(request.GET.get("region")))
    return _render(request, region, None)


@scoped
@login_required
@require_POST
def reserve_policy(request: HttpRequest, region_id: int) -> HttpResponse:
    actor = actor_of(request)
    region = get_scoped_or_404(sel.region_get_qs(actor=actor), pk=region_id)
    form = qf.ReservePolicyForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            reserve_policy_set(actor=actor, region=region, **form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc, {})
        else:
            messages.success(request, _("The reserve standard of %(region)s is saved.") % {
                "region": region.name})  # fmt: skip
            url = reverse("quarantine:reserve") + f"?region={region.pk}"
            return HttpResponseRedirect(url)
    return _render(request, region, form, status)
