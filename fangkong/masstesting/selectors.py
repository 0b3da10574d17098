"""Reads of the mass-testing domain; every one scoped to the actor."""

from __future__ import annotations

from fangkong.core.models import Institution, Region, User
from fangkong.core.scoping import ScopedQuerySet
from fangkong.masstesting.models import Campaign, SamplingPoint, Scan, Tube


def campaign_list(*, actor: User) -> ScopedQuerySet[Campaign]:
    return Campaign.objects.select_related("region").visible_to(actor)


def point_list(*, actor: User, campaign_id: int | None = None) -> ScopedQuerySet[SamplingPoint]:
    qs = SamplingPoint.objects.select_related("region", "campaign").visible_to(actor)
    return qs.filter(campaign_id=campaign_id) if campaign_id else qs


def tube_list(*, actor: User, point_id: int | None = None) -> ScopedQuerySet[Tube]:
    qs = Tube.objects.visible_to(actor)
    return qs.filter(point_id=point_id) if point_id else qs


def scan_list(*, actor: User) -> ScopedQuerySet[Scan]:
    return Scan.objects.visible_to(actor)


def region_list(*, actor: User) -> ScopedQuerySet[Region]:
    return Region.objects.visible_to(actor)


def institution_list(*, actor: User) -> ScopedQuerySet[Institution]:
    return Institution.objects.visible_to(actor)
