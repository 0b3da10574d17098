"""Writes of the mass-testing domain other than the scan hot path (see ingest.py)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.http import Forbidden
from fangkong.core.models import Institution, Region, Role, User
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import POOL_SIZES, Campaign, RegistrationCode, SamplingPoint
from fangkong.people.models import KeyGroup, Person

PLANNING_ROLES = frozenset({Role.COMMAND_OFFICE, Role.WORKING_GROUP, Role.DISTRICT, Role.TOWN})


def new_token() -> str:
    # 16 random bytes -> 22 urlsafe characters: unguessable and carries nothing personal.
    return secrets.token_urlsafe(16)


def registration_code_for(*, person: Person) -> RegistrationCode:
    """The person's stable code, created on first use; concurrent first uses agree."""
    code = RegistrationCode.objects.filter(person=person).first()
    if code is not None:
        return code
    try:
        with transaction.atomic():
            return RegistrationCode.objects.create(person=person, token=new_token())
    except IntegrityError:
        return RegistrationCode.objects.get(person=person)


def _require_planner(actor: User, region: Region) -> None:
    scope = scope_of(actor)
    if actor.role not in PLANNING_ROLES or scope.region_path is None:
        raise Forbidden(_("Only the command office, districts and towns plan campaigns"))
    if not region.path.startswith(scope.region_path):
        raise Forbidden(_("The region is outside your jurisdiction"))


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
    if not region.path.startswith(campaign.region.path):
        raise FieldError("region", _("The point must lie inside the campaign's region"))
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
