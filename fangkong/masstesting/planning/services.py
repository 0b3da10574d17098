"""Writes of the mass-testing domain other than the scan hot path (see ingest.py)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, Role, User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import (
    POOL_SIZES,
    Campaign,
    CampaignStatus,
    SamplingPoint,
    SamplingTeam,
)
from fangkong.people.models import KeyGroup


def may_plan(actor: User) -> bool:
    """Whether the table lets this user plan campaigns at all (menus and buttons)."""
    return allowed(actor, "campaign.plan")


def _require_planner(actor: User, region: Region) -> None:
    authorize(actor, "campaign.plan", region=region)


def _clean_groups(
    key_groups: list[str], pool_sizes: dict[str, int]
) -> tuple[list[str], dict[str, int]]:
    known = set(KeyGroup.values) - {""}
    for group in [*key_groups, *pool_sizes]:
        if group not in known:
            raise FieldError("key_groups", _("Unknown key group: %(g)s") % {"g": group})
    for group, size in pool_sizes.items():
        if size not in POOL_SIZES:
            raise FieldError(
                "group_pool_sizes", _("Pool size of %(g)s must be 1, 5, 10 or 20") % {"g": group}
            )
    return sorted(set(key_groups)), dict(sorted(pool_sizes.items()))


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _("A name is required"))
    if len(name) > 200:
        raise FieldError("name", _("At most 200 characters"))
    return name


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    region: Region,
    pool_size: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    key_groups: list[str] | None = None,
    group_pool_sizes: dict[str, int] | None = None,
) -> Campaign:
    _require_planner(actor, region)
    name = _clean_name(name)
    if pool_size not in POOL_SIZES:
        raise FieldError("pool_size", _("Pool size must be 1, 5, 10 or 20"))
    if ends_at <= starts_at:
        raise FieldError("ends_at", _("The window must end after it starts"))
    groups = _clean_groups(key_groups or [], group_pool_sizes or {})
    campaign = Campaign.objects.create(
        name=name,
        region=region,
        pool_size=pool_size,
        starts_at=starts_at,
        ends_at=ends_at,
        key_groups=groups[0],
        group_pool_sizes=groups[1],
        created_by=actor,
    )
    audit_record(
        actor=actor, action="campaign.create", object_type="campaign", object_id=campaign.pk
    )
    return campaign


@transaction.atomic
def point_create(
    *,
    actor: User,
    campaign: Campaign,
    name: str,
    region: Region,
    institution: Institution | None = None,
    grids: list[Region] | None = None,
    opening_hours: str = "",
    hourly_capacity: int = 0,
) -> SamplingPoint:
    _require_planner(actor, region)
    name = _clean_name(name)
    if not region.path.startswith(campaign.region.path):
        raise FieldError("region", _("The point must lie inside the campaign's region"))
    # The institution's users see the point's tubes and batches: only a sampling point's.
    if institution is not None and institution.kind != InstitutionKind.SAMPLING_POINT:
        raise FieldError("institution", _("Choose a sampling-point institution"))
    if hourly_capacity < 0:
        raise FieldError("hourly_capacity", _("The hourly capacity cannot be negative"))
    if len(opening_hours) > 200:
        raise FieldError("opening_hours", _("At most 200 characters"))
    grids = _clean_grids(campaign, grids or [])
    point = SamplingPoint.objects.create(
        campaign=campaign,
        name=name,
        region=region,
        institution=institution,
        opening_hours=opening_hours,
        hourly_capacity=hourly_capacity,
    )
    if grids:
        point.grids.set(grids)
    audit_record(
        actor=actor, action="point.create", object_type="sampling_point", object_id=point.pk
    )
    return point


def _require_point_planner(actor: User, point: SamplingPoint) -> None:
    _require_planner(actor, point.region)


def _clean_grids(campaign: Campaign, grids: list[Region]) -> list[Region]:
    for grid in grids:
        if grid.level != RegionLevel.GRID:
            raise FieldError("grids", _("%(r)s is not a grid") % {"r": grid.name})
        if not grid.path.startswith(campaign.region.path):
            raise FieldError(
                "grids", _("Grid %(r)s lies outside the campaign's region") % {"r": grid.name}
            )
    return grids


@transaction.atomic
def point_update(
    *,
    actor: User,
    point: SamplingPoint,
    grids: list[Region] | None = None,
    opening_hours: str | None = None,
    hourly_capacity: int | None = None,
) -> SamplingPoint:
    """Change what a point serves: its grids (residents follow their grid), hours, capacity."""
    _require_point_planner(actor, point)
    if point.campaign.status == CampaignStatus.CLOSED:
        raise Conflict(_("The campaign is closed"))
    changed: dict[str, object] = {}
    if opening_hours is not None:
        point.opening_hours = opening_hours.strip()[:200]
        changed["opening_hours"] = point.opening_hours
    if hourly_capacity is not None:
        if hourly_capacity < 0:
            raise FieldError("hourly_capacity", _("The hourly capacity cannot be negative"))
        point.hourly_capacity = hourly_capacity
        changed["hourly_capacity"] = hourly_capacity
    point.save()
    if grids is not None:
        point.grids.set(_clean_grids(point.campaign, grids))
        changed["grids"] = sorted(g.code for g in grids)
    audit_record(
        actor=actor,
        action="point.update",
        object_type="sampling_point",
        object_id=point.pk,
        details=changed,
    )
    return point


def _clean_samplers(point: SamplingPoint, samplers: list[User]) -> list[User]:
    for user in samplers:
        if user.role != Role.SAMPLER or point.institution_id is None:
            raise FieldError("samplers", _("%(u)s is not a sampler") % {"u": user.username})
        if user.institution_id != point.institution_id:
            raise FieldError(
                "samplers",
                _("%(u)s does not work for this point's institution") % {"u": user.username},
            )
    return samplers


@transaction.atomic
def team_create(
    *,
    actor: User,
    point: SamplingPoint,
    name: str,
    shift: str = "",
    size: int = 1,
    samplers: list[User] | None = None,
) -> SamplingTeam:
    _require_point_planner(actor, point)
    name = name.strip()
    if not name:
        raise FieldError("name", _("The team needs a name"))
    if not 1 <= size <= 100:
        raise FieldError("size", _("A team has 1 to 100 members"))
    team = SamplingTeam.objects.create(point=point, name=name[:100], shift=shift[:100], size=size)
    if samplers:
        team.samplers.set(_clean_samplers(point, samplers))
    audit_record(actor=actor, action="team.create", object_type="sampling_team", object_id=team.pk)
    return team


@transaction.atomic
def team_update(
    *,
    actor: User,
    team: SamplingTeam,
    name: str | None = None,
    shift: str | None = None,
    size: int | None = None,
    samplers: list[User] | None = None,
) -> SamplingTeam:
    _require_point_planner(actor, team.point)
    if name is not None:
        if not name.strip():
            raise FieldError("name", _("The team needs a name"))
        team.name = name.strip()[:100]
    if shift is not None:
        team.shift = shift[:100]
    if size is not None:
        if not 1 <= size <= 100:
            raise FieldError("size", _("A team has 1 to 100 members"))
        team.size = size
    team.save()
    if samplers is not None:
        team.samplers.set(_clean_samplers(team.point, samplers))
    audit_record(actor=actor, action="team.update", object_type="sampling_team", object_id=team.pk)
    return team


@transaction.atomic
def campaign_close(*, actor: User, campaign: Campaign) -> Campaign:
    """Stop sampling: later scans are rejected (campaign_closed); results still arrive."""
    _require_planner(actor, campaign.region)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status == CampaignStatus.CLOSED:
        raise Conflict(_("The campaign is already closed"))
    locked.status = CampaignStatus.CLOSED
    locked.save(update_fields=["status"])
    campaign.status = locked.status
    audit_record(
        actor=actor, action="campaign.close", object_type="campaign", object_id=campaign.pk
    )
    return campaign
