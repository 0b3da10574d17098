"""Reads of the mass-testing domain; every one scoped to the actor."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from fangkong.core.errors import get_visible
from fangkong.core.models import Institution, Region, RegionLevel, Role, User, ancestor_paths
from fangkong.core.scoping import ScopedQuerySet, scope_of, unscoped
from fangkong.masstesting.models import (
    Campaign,
    RegistrationCode,
    SamplingPoint,
    SamplingTeam,
    Tube,
)
from fangkong.people.models import Person


def campaign_list(*, actor: User) -> ScopedQuerySet[Campaign]:
    """Campaigns inside the actor's jurisdiction, and those covering it from above: a town
    carries out the district's city-wide campaign and must see it (its own part of it)."""
    qs = Campaign.objects.select_related("region").visible_to(actor)
    scope = scope_of(actor)
    if scope.region_path:
        covering = Campaign.objects.filter(region__path__in=ancestor_paths(scope.region_path))
        qs = qs | covering
    return qs


def point_list(*, actor: User, campaign_id: int | None = None) -> ScopedQuerySet[SamplingPoint]:
    qs = SamplingPoint.objects.select_related("region", "campaign").visible_to(actor)
    return qs.filter(campaign_id=campaign_id) if campaign_id else qs


def point_detail_list(*, actor: User, campaign_id: int) -> ScopedQuerySet[SamplingPoint]:
    """Points of a campaign with their grids, teams and institution, in four queries."""
    teams: Any = SamplingTeam.objects.order_by("name").prefetch_related("samplers")
    return (
        point_list(actor=actor, campaign_id=campaign_id)
        .select_related("institution")
        .prefetch_related(
            Prefetch("grids", queryset=Region.objects.order_by("code")),
            Prefetch("teams", queryset=teams),
        )
    )


def team_list(*, actor: User, point_id: int | None = None) -> ScopedQuerySet[SamplingTeam]:
    qs = SamplingTeam.objects.select_related("point").visible_to(actor)
    return qs.filter(point_id=point_id) if point_id else qs


def tube_list(*, actor: User, point_id: int | None = None) -> ScopedQuerySet[Tube]:
    qs = Tube.objects.visible_to(actor)
    return qs.filter(point_id=point_id) if point_id else qs


def region_list(*, actor: User) -> ScopedQuerySet[Region]:
    return Region.objects.visible_to(actor)


def institution_list(*, actor: User) -> ScopedQuerySet[Institution]:
    return Institution.objects.visible_to(actor)


def sampler_list(*, actor: User, institution: Institution | None) -> QuerySet[User]:
    """Samplers a planner may put on a team: users of role sampler of the point's institution
    (the institution itself must be visible to the actor)."""
    users = User.objects.filter(role=Role.SAMPLER, is_active=True).order_by("username")
    if institution is None or not institution_list(actor=actor).filter(pk=institution.pk).exists():
        return users.none()
    return users.filter(institution=institution)


def assignment_summary(*, actor: User, campaign: Campaign) -> dict[str, Any]:
    """Residents assigned to points by grid: per point its grids, residents, teams, hourly
    capacity and the hours it needs; and the grids of the campaign's region (within the
    actor's scope) that no point serves. Constant number of queries in points and grids."""
    points = list(point_detail_list(actor=actor, campaign_id=campaign.pk))
    scope = scope_of(actor)
    base = campaign.region.path
    if scope.region_path and scope.region_path.startswith(base):
        base = scope.region_path
    grids = Region.objects.visible_to(actor).filter(path__startswith=base, level=RegionLevel.GRID)
    everyone = Person.objects.filter(region_path__startswith=base)
    if campaign.key_groups:
        everyone = everyone.filter(key_group__in=campaign.key_groups)
    persons = everyone.filter(region__level=RegionLevel.GRID)
    # registered at a community or above: no grid, so no point; the grid workers must fix it
    # Residents are counted per grid, never read; the base is already cut to the actor's part.
    with unscoped("assignment summary counts residents per grid of the campaign"):
        ungridded = everyone.exclude(region__level=RegionLevel.GRID).count()
        residents = dict(
            persons.values("region_id")
            .order_by()
            .annotate(n=Count("id"))
            .values_list("region_id", "n")
        )
    served: set[int] = set()
    rows = []
    for point in points:
        grid_ids = [g.pk for g in point.grids.all()]
        served.update(grid_ids)
        assigned = sum(residents.get(g, 0) for g in grid_ids)
        rows.append(
            {
                "point": point,
                "grids": list(point.grids.all()),
                "residents": assigned,
                "teams": list(point.teams.all()),
                "hourly_capacity": point.hourly_capacity,
                "hours_needed": round(assigned / point.hourly_capacity, 1)
                if point.hourly_capacity
                else None,
            }
        )
    all_grids = list(grids.order_by("code"))
    unserved = [g for g in all_grids if g.pk not in served]
    return {
        "points": rows,
        "unserved_grids": unserved,
        "unserved_residents": sum(residents.get(g.pk, 0) for g in unserved),
        "ungridded_residents": ungridded,
        "residents": sum(residents.get(g.pk, 0) for g in all_grids),
    }


def campaign_and_region(
    *, actor: User, campaign_id: int, region_id: int | None
) -> tuple[Campaign, Region | None]:
    """A campaign and the region to look at within it, both in the actor's scope (else 404)."""
    campaign = get_visible(campaign_list(actor=actor), pk=campaign_id)
    region = None
    if region_id is not None:
        region = get_visible(region_list(actor=actor), pk=region_id)
    return campaign, region


def registration_code_list(*, actor: User) -> QuerySet[RegistrationCode]:
    """Codes of the persons the actor may see (their link state, never the link itself)."""
    return RegistrationCode.objects.visible_to(actor)
