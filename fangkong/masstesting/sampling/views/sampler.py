"""The sampler page: open a tube, scan registration codes into it, close it — offline too.

The page is a shell; the work happens in static/masstesting/sampler.js, which keeps every
scan in the browser's localStorage first and uploads queued scans in batches to the scan
batch API (`POST /api/v1/masstesting/scans/batch`) with the page's session and CSRF token.
The server renders only the points the user may scan at (running campaigns, scoped) and
the strings the script shows, so nothing personal passes through this view.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from fangkong.core.http import actor_of, get_scoped_or_404, public, scoped
from fangkong.core.permissions import allowed
from fangkong.masstesting.models import CampaignStatus, SamplingPoint
from fangkong.masstesting.planning import selectors
from fangkong.masstesting.sampling.services.ingest import (
    MAX_SCANS,
    allowed_pool_sizes,
    reason_messages,
)

# The page uploads in smaller batches than the API allows: a phone on a weak mobile
# connection should get an answer within seconds, and a lost answer costs less to resend.
UPLOAD_BATCH = min(500, MAX_SCANS)


def _strings() -> dict[str, str]:
    return {
        "scanTube": _("Scan the tube barcode"),
        "scanCode": _("Scan registration codes"),
        "tubeOpen": _("Tube %(barcode)s open"),
        "tubeFull": _("Tube full: it is closed. Scan the next tube."),
        "tubeClosed": _("Tube %(barcode)s closed"),
        "queued": _("Waiting to upload"),
        "sending": _("Uploading"),
        "accepted": _("Accepted"),
        "duplicate": _("Duplicate"),
        "rejected": _("Rejected"),
        "online": _("Online"),
        "offline": _("Offline"),
        "waiting": _("%(n)s scans waiting to upload"),
        "allSent": _("All scans uploaded"),
        "retrying": _("Upload failed; retrying in %(s)s s"),
        "busy": _("Server busy; retrying in %(s)s s"),
        "signIn": _("Your session has expired: sign in again. Queued scans are kept."),
        "sameCode": _("This code was already scanned"),
        "empty": _("Nothing was scanned"),
        "tooLong": _("This is not a code this page accepts"),
        "noCamera": _("The camera is not available on this device"),
        "cameraHint": _("Point the camera at the code"),
        "open": _("Open tube"),
        "close": _("Close tube"),
        "added": _("Code"),
    }


@scoped  # points come from selectors.point_list, scoped to the actor
@login_required
@require_GET
def sampler(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not allowed(actor, "scan.upload"):
        raise PermissionDenied(_("Only the samplers of this point may upload its scans"))
    points = selectors.point_list(actor=actor).filter(campaign__status=CampaignStatus.RUNNING)
    raw = request.GET.get("point", "")
    if raw:
        if not raw.isdigit():
            raise Http404()
        chosen = get_scoped_or_404(points, pk=int(raw))
    else:
        listed = list(points.select_related("campaign")[:200])
        if len(listed) != 1 or "choose" in request.GET:
            return render(
                request, "masstesting/sampler_points.html", {"point": None, "points": listed}
            )
        chosen = listed[0]
    # the template autoescapes it into a data attribute
    config = json.dumps(_config(request, chosen), ensure_ascii=False)
    return render(request, "masstesting/sampler.html", {"point": chosen, "config": config})


def _config(request: HttpRequest, point: SamplingPoint) -> dict[str, Any]:
    campaign = point.campaign
    return {
        "pointId": point.pk,
        # one queue per user and point: a shared phone never uploads another user's scans
        "storageKey": f"fk.sampler.v1.{request.user.pk}.{point.pk}",
        "api": reverse("api:scan_batch"),
        "poolSize": campaign.pool_size,
        "poolSizes": sorted(allowed_pool_sizes(campaign)),
        "batchSize": UPLOAD_BATCH,
        "strings": _strings(),
        "reasons": reason_messages(),
        "decoder": static("vendor/jsqr-1.4.0/jsQR.js"),
        "serviceWorker": reverse("masstesting:sampler_sw"),
    }


# What the sampler page loads, cached by its service worker for a reload without network.
SW_ASSETS = (
    "masstesting/sampler.js",
    "masstesting/sampler.css",
    "css/fangkong.css",
    "js/fangkong.js",
    "js/behaviours.js",
    "vendor/htmx/htmx.min.js",
    "img/favicon.svg",
)


@public("the sampler page's service worker: a fixed script and static file names, no data")
@require_GET
def sampler_sw(request: HttpRequest) -> HttpResponse:
    path = finders.find("masstesting/sampler.sw.js")
    assert isinstance(path, str)
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    assets = json.dumps([static(a) for a in SW_ASSETS])
    response = HttpResponse(
        f"var ASSETS = {assets};\n{script}", content_type="text/javascript; charset=utf-8"
    )
    # browsers re-check a worker at most daily anyway; a deploy should reach phones at once
    response["Cache-Control"] = "no-cache"
    return response
