"""Mass-testing API: coverage (mounted by config/api.py at /masstesting/coverage).

Figures per child region and per key group, the "not yet sampled" list (paged, masked), its
xlsx export (audited), the hourly progress curve and the child regions' polygons for the
board's map. Every operation resolves the campaign and the region through scoped selectors:
a campaign or region outside the actor's jurisdiction is a 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from fangkong.core.http import Page, actor_of, page_dict, scoped, xlsx_response
from fangkong.core.middleware import client_ip
from fangkong.core.models import Region, User
from fangkong.masstesting.board import selectors as coverage
from fangkong.masstesting.board import services
from fangkong.masstesting.models import Campaign
from fangkong.masstesting.planning import selectors

router = Router(tags=["masstesting"])


class FiguresOut(Schema):
    should_test: int
    sampled: int
    resulted: int
    positive_pools: int
    rechecks_outstanding: int
    coverage_pct: float


class RowOut(FiguresOut):
    key: str
    label: str
    region_id: int | None = None
    level: int | None = None
    has_children: bool = False


class RegionRef(Schema):
    id: int
    code: str
    name: str
    level: int


class CoverageOut(Schema):
    campaign_id: int
    campaign_name: str
    region: RegionRef
    crumbs: list[RegionRef]
    totals: FiguresOut
    rows: list[RowOut]


class PersonRow(Schema):
    id: int
    name: str
    id_number: str
    phone: str
    address: str
    region_code: str
    region_name: str
    key_group: str


class NotSampledPage(Page):
    items: list[PersonRow]


class ProgressOut(Schema):
    hours: list[str]
    labels: list[str]  # the hours in the server's time zone, as the operators read them
    sampled: list[int]
    cumulative: list[int]
    should_test: int


def _ref(region: Region) -> dict[str, Any]:
    return {"id": region.pk, "code": region.code, "name": region.name, "level": region.level}


def resolve(actor: User, campaign_id: int, region_id: int | None) -> tuple[Campaign, Region | None]:
    return selectors.campaign_and_region(actor=actor, campaign_id=campaign_id, region_id=region_id)


def coverage_out(report: coverage.Coverage) -> dict[str, Any]:
    return {
        "campaign_id": report.campaign.pk,
        "campaign_name": report.campaign.name,
        "region": _ref(report.root),
        "crumbs": [_ref(r) for r in report.crumbs],
        "totals": report.totals.as_dict(),
        "rows": [r.as_dict() for r in report.rows],
    }


@router.get("/campaigns/{campaign_id}", response=CoverageOut)
@scoped
def campaign_coverage(request: HttpRequest, campaign_id: int, region_id: int | None = None) -> Any:
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    return coverage_out(coverage.campaign_coverage(actor=actor, campaign=campaign, region=region))


@router.get("/campaigns/{campaign_id}/groups", response=CoverageOut)
@scoped
def group_coverage(request: HttpRequest, campaign_id: int, region_id: int | None = None) -> Any:
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    return coverage_out(coverage.key_group_coverage(actor=actor, campaign=campaign, region=region))


@router.get("/campaigns/{campaign_id}/progress", response=ProgressOut)
@scoped
def progress(request: HttpRequest, campaign_id: int, region_id: int | None = None) -> Any:
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    return coverage.campaign_progress(actor=actor, campaign=campaign, region=region)


@router.get("/campaigns/{campaign_id}/not-sampled", response=NotSampledPage)
@scoped
def not_sampled(
    request: HttpRequest,
    campaign_id: int,
    region_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    qs = coverage.not_sampled_list(actor=actor, campaign=campaign, region=region)
    return page_dict(qs, page=page, page_size=page_size, out=coverage.not_sampled_row)


@router.post("/campaigns/{campaign_id}/not-sampled/export")
@scoped
def not_sampled_export(
    request: HttpRequest, campaign_id: int, region_id: int | None = None
) -> HttpResponse:
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    content, filename = services.not_sampled_export(
        actor=actor, campaign=campaign, region=region, client_ip=client_ip(request)
    )
    return xlsx_response(content, f"{filename}")


@router.get("/campaigns/{campaign_id}/geo")
@scoped
def geo(request: HttpRequest, campaign_id: int, region_id: int | None = None) -> Any:
    """The child regions' polygons as a GeoJSON FeatureCollection (ECharts registers it as a
    map); regions without a polygon are left out and listed only in the table."""
    actor = actor_of(request)
    campaign, region = resolve(actor, campaign_id, region_id)
    root = coverage.coverage_root(actor=actor, campaign=campaign, region=region)
    return coverage.child_geojson(actor=actor, root=root)
