"""Daily health pages: a site's phone-first list of its persons with the day's two checks,
the flags for the site doctor (fever, symptoms, a missed check) and the sampling tasks; and
the person's own check-in page, opened by their personal link without an account."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    get_scoped_or_404,
    live_seconds,
    public,
    refused_status,
    scoped,
)
from fangkong.core.permissions import allowed
from fangkong.core.vault import mask_name
from fangkong.masstesting.results.views_public import open_link, unlogged
from fangkong.quarantine import forms as qf
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import CheckVia, Site
from fangkong.quarantine.services.health import health_check_record


def _health_page(request: HttpRequest, site: Site, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    rows = sel.site_health(actor=actor, site=site)
    context = {
        "site": site,
        "rows": rows,
        "flagged": [r for r in rows if r.flagged or r.missed],
        "sampling": [r for r in rows if r.tests_due],
        "may_record": allowed(
            actor, "quarantine.health.record", region=site.region_path,
            institution=site.institution,
        ),
        "form": qf.HealthForm(),
        "live_seconds": live_seconds(),
        **extra,
    }  # fmt: skip
    return render(request, "quarantine/health.html", context, status=status)


@scoped
@login_required
def site_health(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_scoped_or_404(sel.site_get_qs(actor=actor_of(request)), pk=site_id)
    return _health_page(request, site)


@scoped
@login_required
@require_POST
def stay_health(request: HttpRequest, stay_id: int) -> HttpResponse:
    actor = actor_of(request)
    stay = get_scoped_or_404(sel.stay_get_qs(actor=actor), pk=stay_id)
    form = qf.HealthForm(request.POST)
    if not form.is_valid():
        return _health_page(request, stay.site, 422, error_stay=stay.pk, bad_form=form)
    try:
        check = health_check_record(
            actor=actor, measure=stay.measure, via=CheckVia.STAFF, **form.cleaned_data
        )
    except DOMAIN_ERRORS as exc:
        status = refused_status(exc)
        return _health_page(request, stay.site, status, error_stay=stay.pk, refusal=str(exc))
    name = mask_name(stay.person.name)
    if check.flagged:
        messages.warning(request, _("%(name)s: flagged for the site doctor.") % {"name": name})
    else:
        messages.success(request, _("%(name)s: check recorded.") % {"name": name})
    return HttpResponseRedirect(reverse("quarantine:site_health", args=[stay.site_id]))


@public("a person under quarantine reports their own twice-daily check by their link")
@require_http_methods(["GET", "POST"])
def self_check(request: HttpRequest, token: str) -> HttpResponse:
    code = open_link(request, token)
    if isinstance(code, HttpResponse):
        return code
    measure = sel.checked_measure(person_id=code.person_id)
    if measure is None:
        return unlogged(render(request, "404.html", status=404))
    form = qf.HealthForm(request.POST or None)
    status, done = 200, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                done = health_check_record(
                    actor=None, measure=measure, via=CheckVia.SELF, **form.cleaned_data
                )
                status, form = 200, qf.HealthForm()
            except DOMAIN_ERRORS as exc:
                form.add_error(None, str(exc))
    context = {"masked_name": mask_name(code.person.name), "form": form, "done": done}
    return unlogged(render(request, "quarantine/self_check.html", context, status=status))
