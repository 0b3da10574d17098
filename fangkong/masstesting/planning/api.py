"""Mass-testing planning API: campaigns, sampling points, teams, tubes, the assignment."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from fangkong.core.http import ErrorOut, Page, actor_of, get_scoped_or_404, page_dict, scoped
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import Campaign, SamplingPoint, SamplingTeam, Tube
from fangkong.masstesting.planning import selectors, services

_T = TypeVar("_T")
router = Router(tags=["masstesting"])
_INFLIGHT = threading.BoundedSemaphore(getattr(settings, "MASSTESTING_MAX_INFLIGHT_BATCHES", 4))


class CampaignIn(Schema):
    name: str
    region_id: int
    pool_size: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    key_groups: list[str] = []
    group_pool_sizes: dict[str, int] = {}


class CampaignOut(Schema):
    id: int
    name: str
    region_id: int
    region_name: str
    pool_size: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    key_groups: list[str]
    group_pool_sizes: dict[str, int]


class PointIn(Schema):
    name: str
    region_id: int
    institution_id: int | None = None
    grid_ids: list[int] = []
    opening_hours: str = ""
    hourly_capacity: int = 0


class PointOut(Schema):
    id: int
    campaign_id: int
    name: str
    region_id: int
    institution_id: int | None
    opening_hours: str
    hourly_capacity: int


class TubeOut(Schema):
    id: int
    campaign_id: int
    barcode: str
    point_id: int
    capacity: int
    members: int
    status: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class CampaignPage(Page):
    items: list[CampaignOut]


class PointPage(Page):
    items: list[PointOut]


class TubePage(Page):
    items: list[TubeOut]


def _campaign_out(c: Campaign) -> dict[str, Any]:
    out = {f: getattr(c, f) for f in CampaignOut.model_fields if f != "region_name"}
    return {**out, "region_name": c.region.name}


@router.get("/campaigns", response=CampaignPage)
@scoped
def campaign_list(request: HttpRequest, page: int = 1, page_size: int = 50) -> Any:
    qs = selectors.campaign_list(actor=actor_of(request))
    return page_dict(qs, page=page, page_size=page_size, out=_campaign_out)


@router.post("/campaigns", response={201: CampaignOut, 403: ErrorOut})
@scoped
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Any:
    actor = actor_of(request)
    region = get_scoped_or_404(selectors.region_list(actor=actor), pk=payload.region_id)
    campaign = services.campaign_create(
        actor=actor, region=region, **payload.dict(exclude={"region_id"})
    )
    return 201, _campaign_out(campaign)


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
@scoped
def campaign_get(request: HttpRequest, campaign_id: int) -> Any:
    qs = selectors.campaign_list(actor=actor_of(request))
    return _campaign_out(get_scoped_or_404(qs, pk=campaign_id))


def _grids(regions: Any, ids: list[int]) -> list[Any]:
    """The grids named, all of them in the caller's scope, or a 422 naming the field."""
    grids = list(regions.filter(pk__in=ids))
    if len(grids) != len(set(ids)):
        raise FieldError("grid_ids", _("Unknown grid"))
    return grids


@router.post("/campaigns/{campaign_id}/points", response={201: PointOut, 403: ErrorOut})
@scoped
def point_create(request: HttpRequest, campaign_id: int, payload: PointIn) -> Any:
    actor = actor_of(request)
    campaign = get_scoped_or_404(selectors.campaign_list(actor=actor), pk=campaign_id)
    regions = selectors.region_list(actor=actor)
    region = get_scoped_or_404(regions, pk=payload.region_id)
    institution = None
    if payload.institution_id is not None:
        institution = get_scoped_or_404(
            selectors.institution_list(actor=actor), pk=payload.institution_id
        )
    point = services.point_create(
        actor=actor,
        campaign=campaign,
        name=payload.name,
        region=region,
        institution=institution,
        grids=_grids(regions, payload.grid_ids),
        opening_hours=payload.opening_hours,
        hourly_capacity=payload.hourly_capacity,
    )
    return 201, point


@router.get("/points", response=PointPage)
@scoped
def point_list(
    request: HttpRequest, campaign_id: int | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = selectors.point_list(actor=actor_of(request), campaign_id=campaign_id)
    return page_dict(qs, page=page, page_size=page_size)


@router.get("/points/{point_id}", response=PointOut)
@scoped
def point_get(request: HttpRequest, point_id: int) -> SamplingPoint:
    return get_scoped_or_404(selectors.point_list(actor=actor_of(request)), pk=point_id)


@router.get("/tubes", response=TubePage)
@scoped
def tube_list(
    request: HttpRequest, point_id: int | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = selectors.tube_list(actor=actor_of(request), point_id=point_id)
    return page_dict(qs, page=page, page_size=page_size)


@router.get("/tubes/{tube_id}", response=TubeOut)
@scoped
def tube_get(request: HttpRequest, tube_id: int) -> Tube:
    return get_scoped_or_404(selectors.tube_list(actor=actor_of(request)), pk=tube_id)


# -- planning: points, teams, closing, assignment ----------------------------------------------


class PointPatch(Schema):
    grid_ids: list[int] | None = None
    opening_hours: str | None = None
    hourly_capacity: int | None = None


class TeamIn(Schema):
    name: str
    shift: str = ""
    size: int = 1
    sampler_ids: list[int] = []


class TeamPatch(Schema):
    name: str | None = None
    shift: str | None = None
    size: int | None = None
    sampler_ids: list[int] | None = None


class TeamOut(Schema):
    id: int
    point_id: int
    name: str
    shift: str
    size: int
    sampler_ids: list[int]


class GridRef(Schema):
    id: int
    code: str
    name: str


class AssignmentPoint(Schema):
    point_id: int
    name: str
    grids: list[GridRef]
    residents: int
    teams: list[TeamOut]
    hourly_capacity: int
    hours_needed: float | None


class AssignmentOut(Schema):
    campaign_id: int
    residents: int
    points: list[AssignmentPoint]
    unserved_grids: list[GridRef]
    unserved_residents: int
    ungridded_residents: int


def _team_out(team: SamplingTeam) -> dict[str, Any]:
    return {
        "id": team.pk,
        "point_id": team.point_id,
        "name": team.name,
        "shift": team.shift,
        "size": team.size,
        "sampler_ids": sorted(u.pk for u in team.samplers.all()),
    }


def _grid_ref(region: Any) -> dict[str, Any]:
    return {"id": region.pk, "code": region.code, "name": region.name}


def _samplers(actor: Any, point: SamplingPoint, ids: list[int]) -> list[Any]:
    allowed = {u.pk: u for u in selectors.sampler_list(actor=actor, institution=point.institution)}
    unknown = [i for i in ids if i not in allowed]
    if unknown:
        raise FieldError(
            "sampler_ids", _("Not a sampler of this point: %(ids)s") % {"ids": unknown}
        )
    return [allowed[i] for i in ids]


@router.patch("/points/{point_id}", response={200: PointOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def point_update(request: HttpRequest, point_id: int, payload: PointPatch) -> Any:
    actor = actor_of(request)
    point = get_scoped_or_404(selectors.point_list(actor=actor), pk=point_id)
    grids = None
    if payload.grid_ids is not None:
        grids = _grids(selectors.region_list(actor=actor), payload.grid_ids)
    return services.point_update(
        actor=actor,
        point=point,
        grids=grids,
        opening_hours=payload.opening_hours,
        hourly_capacity=payload.hourly_capacity,
    )


@router.get("/points/{point_id}/teams", response=list[TeamOut])
@scoped
def team_list(request: HttpRequest, point_id: int) -> Any:
    actor = actor_of(request)
    point = get_scoped_or_404(selectors.point_list(actor=actor), pk=point_id)
    teams = selectors.team_list(actor=actor, point_id=point.pk).prefetch_related("samplers")
    return [_team_out(t) for t in teams]


@router.post("/points/{point_id}/teams", response={201: TeamOut, 403: ErrorOut})
@scoped
def team_create(request: HttpRequest, point_id: int, payload: TeamIn) -> Any:
    actor = actor_of(request)
    point = get_scoped_or_404(selectors.point_list(actor=actor), pk=point_id)
    team = services.team_create(
        actor=actor,
        point=point,
        name=payload.name,
        shift=payload.shift,
        size=payload.size,
        samplers=_samplers(actor, point, payload.sampler_ids),
    )
    return 201, _team_out(team)


@router.patch("/teams/{team_id}", response={200: TeamOut, 403: ErrorOut})
@scoped
def team_update(request: HttpRequest, team_id: int, payload: TeamPatch) -> Any:
    actor = actor_of(request)
    team = get_scoped_or_404(selectors.team_list(actor=actor), pk=team_id)
    samplers = None
    if payload.sampler_ids is not None:
        samplers = _samplers(actor, team.point, payload.sampler_ids)
    team = services.team_update(
        actor=actor,
        team=team,
        name=payload.name,
        shift=payload.shift,
        size=payload.size,
        samplers=samplers,
    )
    return _team_out(team)


@router.post(
    "/campaigns/{campaign_id}/close", response={200: CampaignOut, 403: ErrorOut, 409: ErrorOut}
)
@scoped
def campaign_close(request: HttpRequest, campaign_id: int) -> Any:
    actor = actor_of(request)
    campaign = get_scoped_or_404(selectors.campaign_list(actor=actor), pk=campaign_id)
    return _campaign_out(services.campaign_close(actor=actor, campaign=campaign))


@router.get("/campaigns/{campaign_id}/assignment", response=AssignmentOut)
@scoped
def assignment_summary(request: HttpRequest, campaign_id: int) -> Any:
    actor = actor_of(request)
    campaign = get_scoped_or_404(selectors.campaign_list(actor=actor), pk=campaign_id)
    summary = selectors.assignment_summary(actor=actor, campaign=campaign)
    return {
        "campaign_id": campaign.pk,
        "residents": summary["residents"],
        "unserved_residents": summary["unserved_residents"],
        "ungridded_residents": summary["ungridded_residents"],
        "unserved_grids": [_grid_ref(g) for g in summary["unserved_grids"]],
        "points": [
            {
                "point_id": row["point"].pk,
                "name": row["point"].name,
                "grids": [_grid_ref(g) for g in row["grids"]],
                "residents": row["residents"],
                "teams": [_team_out(t) for t in row["teams"]],
                "hourly_capacity": row["hourly_capacity"],
                "hours_needed": row["hours_needed"],
            }
            for row in summary["points"]
        ],
    }
