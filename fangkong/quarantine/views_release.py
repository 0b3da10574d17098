"""Release pages: a site's list of persons whose days there are ending, with what is still
missing and the proposal; the queue of proposals for the units that confirm them; the
release notice as PDF; and the public page its QR code opens (valid or not, and dates)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    get_scoped_or_404,
    public,
    refused_status,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.permissions import allowed
from fangkong.core.vault import mask_name
from fangkong.masstesting.results.views_public import throttled, unlogged
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import ReleaseState, Site
from fangkong.quarantine.notice import notice_response
from fangkong.quarantine.services import releases

RECENT = 50


def _site_page(request: HttpRequest, site: Site, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "site": site,
        "rows": sel.release_due(actor=actor, site=site),
        "recent": list(sel.release_list(actor=actor, site=site).exclude(
            state=ReleaseState.PROPOSED)[:RECENT]),
        "may_propose": allowed(actor, "quarantine.release.propose", region=site.region_path,
                               institution=site.institution),
        **extra,
    }  # fmt: skip
    return render(request, "quarantine/site_releases.html", context, status=status)


@scoped
@login_required
def site_releases(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_scoped_or_404(sel.site_get_qs(actor=actor_of(request)), pk=site_id)
    return _site_page(request, site)


@scoped
@login_required
@require_POST
def release_propose(request: HttpRequest, stay_id: int) -> HttpResponse:
    actor = actor_of(request)
    stay = get_scoped_or_404(sel.stay_get_qs(actor=actor), pk=stay_id)
    try:
        releases.release_propose(actor=actor, stay=stay, note=request.POST.get("note", ""))
    except DOMAIN_ERRORS as exc:
        return _site_page(
            request, stay.site, refused_status(exc), refusal=str(exc), error_stay=stay.pk
        )
    messages.success(
        request, _("%(name)s: release proposed.") % {"name": mask_name(stay.person.name)}
    )
    return HttpResponseRedirect(reverse("quarantine:site_releases", args=[stay.site_id]))


def _queue_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "proposed": list(sel.release_list(actor=actor, state=ReleaseState.PROPOSED)[:500]),
        "recent": list(sel.release_list(actor=actor).exclude(state=ReleaseState.PROPOSED)[:RECENT]),
        "may_confirm": allowed(actor, "quarantine.release.confirm"),
        **extra,
    }
    return render(request, "quarantine/releases.html", context, status=status)


@scoped
@login_required
@acts("quarantine.release.confirm")
def release_queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request)


DECISIONS = {
    "confirm": (lambda actor, r, reason: releases.release_confirm(actor=actor, release=r),
                _("released; the room goes to disinfection")),
    "return": (lambda actor, r, reason: releases.release_return(actor=actor, release=r,
                                                                 reason=reason),
               _("sent back to the site")),
    "revoke": (lambda actor, r, reason: releases.release_revoke(actor=actor, release=r,
                                                                 reason=reason),
               _("notice revoked")),
}  # fmt: skip


@scoped
@login_required
@require_POST
def release_decide(request: HttpRequest, release_id: int, decision: str) -> HttpResponse:
    actor = actor_of(request)
    release = get_scoped_or_404(sel.release_get_qs(actor=actor), pk=release_id)
    if decision not in DECISIONS:
        raise Http404
    act, done = DECISIONS[decision]
    try:
        act(actor, release, request.POST.get("reason", ""))
    except DOMAIN_ERRORS as exc:
        return _queue_page(request, refused_status(exc), refusal=str(exc), error_release=release.pk)
    name = mask_name(release.person.name)
    messages.success(request, f"{name}: {done}")
    return HttpResponseRedirect(reverse("quarantine:releases"))


@scoped
@login_required
@require_GET
def release_notice(request: HttpRequest, release_id: int) -> HttpResponse:
    actor = actor_of(request)
    release = get_scoped_or_404(sel.release_get_qs(actor=actor), pk=release_id)
    try:
        releases.release_notice_opened(actor=actor, release=release, client_ip=client_ip(request))
    except DOMAIN_ERRORS as exc:
        return HttpResponse(str(exc), status=refused_status(exc), content_type="text/plain")
    return notice_response(request, release, download=False)


@public("a checkpoint scans a release notice's QR code to see whether it is valid")
@require_GET
def release_verify(request: HttpRequest, token: str) -> HttpResponse:
    refused = throttled(request)
    if refused is not None:
        return refused
    release = sel.release_by_token(token)
    valid = release is not None and release.state == ReleaseState.CONFIRMED
    context = {"release": release, "valid": valid}
    status = 200 if release is not None else 404
    return unlogged(render(request, "quarantine/release_verify.html", context, status=status))
