"""The campaign board (挂图作战 for mass testing): a map of the child regions coloured by
coverage, KPI tiles, the progress curve and a table of regions, refreshed every 15 seconds
from the coverage API; and the "not yet sampled" list a grid worker walks (应检尽检).

The page renders only its frame and the first figures; board.js fetches the coverage API
(same scope, same numbers) for the live refresh and the drill-down.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    actor_of,
    int_param,
    page_number,
    page_slice,
    scoped,
    xlsx_response,
)
from fangkong.core.middleware import client_ip
from fangkong.core.models import Region
from fangkong.masstesting.board import selectors as coverage
from fangkong.masstesting.board import services
from fangkong.masstesting.models import Campaign, CampaignStatus
from fangkong.masstesting.planning import selectors

PAGE_SIZE = 50


def _resolve(request: HttpRequest, campaign_id: int) -> tuple[Campaign, Region | None]:
    region_id = int_param(request.GET.get("region") or request.POST.get("region"))
    return selectors.campaign_and_region(
        actor=actor_of(request), campaign_id=campaign_id, region_id=region_id
    )


@scoped
@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Entry: the campaigns the user takes part in; running ones first, with their figures."""
    actor = actor_of(request)
    campaigns = list(selectors.campaign_list(actor=actor).order_by("status", "-starts_at")[:30])
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        try:
            root, totals = coverage.campaign_totals(actor=actor, campaign=campaign)
        except Http404:
            continue
        rows.append({"campaign": campaign, "root": root, "totals": totals})
    running = [r for r in rows if r["campaign"].status == CampaignStatus.RUNNING]
    return render(request, "masstesting/board_list.html", {"rows": rows, "running": running})


@scoped
@login_required
@require_GET
def campaign_board(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign, region = _resolve(request, campaign_id)
    report = coverage.campaign_coverage(actor=actor, campaign=campaign, region=region)
    api = f"/api/v1/masstesting/coverage/campaigns/{campaign.pk}"
    context = {
        "campaign": campaign,
        "report": report,
        "totals": report.totals,
        "api": {
            "coverage": api,
            "progress": f"{api}/progress",
            "geo": f"{api}/geo",
        },
        "not_sampled_url": reverse("masstesting:not_sampled", args=[campaign.pk]),
        "board_url": reverse("masstesting:campaign_board", args=[campaign.pk]),
    }
    return render(request, "masstesting/board.html", context)


@scoped
@login_required
@require_GET
def not_sampled(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign, region = _resolve(request, campaign_id)
    root = coverage.coverage_root(actor=actor, campaign=campaign, region=region)
    qs = coverage.not_sampled_list(actor=actor, campaign=campaign, region=root)
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=PAGE_SIZE)
    context = {
        "campaign": campaign,
        "root": root,
        "persons": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "board_url": reverse("masstesting:campaign_board", args=[campaign.pk]),
    }
    return render(request, "masstesting/board_not_sampled.html", context)


@scoped
@login_required
@require_POST
def not_sampled_export(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign, region = _resolve(request, campaign_id)
    content, filename = services.not_sampled_export(
        actor=actor, campaign=campaign, region=region, client_ip=client_ip(request)
    )
    return xlsx_response(content, f"{filename}")
