"""Shared set-up for mass-testing tests: persons with codes in bulk, a running campaign."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils import timezone

from fangkong.core.models import Institution, Region, Role, User
from fangkong.masstesting.models import Campaign, SamplingPoint
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.people.models import Person
from tests.factories import Tree, UserFactory


def persons_with_codes(region: Region, n: int, *, key_group: str = "") -> list[str]:
    """n persons in `region` with registration codes, in bulk (not through the vault: the
    mass-testing code under test never reads their personal fields). Returns the tokens."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        Person(
            name="p",
            id_type="resident_id",
            id_number_ct="x",
            id_number_bidx=f"{tag}{i}",
            id_number_mask="1***",
            region=region,
            region_path=region.path,
            key_group=key_group,
        )
        for i in range(n)
    ]
    Person.objects.bulk_create(rows)
    created = Person.objects.filter(id_number_bidx__startswith=tag).order_by("pk")
    return [registration_code_for(person=p).token for p in created]


@dataclass
class MassTestingSetup:
    campaign: Campaign
    point: SamplingPoint  # in community_a1, staffed by `sampler`'s institution
    other: SamplingPoint  # in community_a2, no institution
    point_institution: Institution
    sampler: User


def campaign_setup(tree: Tree, users: dict[str, User], *, pool_size: int = 10) -> MassTestingSetup:
    """A running 24-hour campaign over district A, a point in community A1 serving grid A1
    with sampler `users["sampler"]`, and a second point in community A2 serving grid A2."""
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="全员核酸",
        region=tree.district_a,
        pool_size=pool_size,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=23),
    )
    inst = Institution.objects.create(
        code=f"SP{campaign.pk}", name="东一采样点", kind="sampling_point", region=tree.community_a1
    )
    point = SamplingPoint.objects.create(
        campaign=campaign, name="东一采样点", region=tree.community_a1, institution=inst
    )
    point.grids.set([tree.grid_a1])
    other = SamplingPoint.objects.create(
        campaign=campaign, name="南一采样点", region=tree.community_a2
    )
    other.grids.set([tree.grid_a2])
    sampler = UserFactory(username=f"sampler{campaign.pk}", role=Role.SAMPLER, institution=inst)
    users["sampler"] = sampler
    return MassTestingSetup(campaign, point, other, inst, sampler)
