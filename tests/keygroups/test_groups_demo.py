"""The demo city's key-group seed: regimes, members with units, last week's rounds."""

from __future__ import annotations

import pytest
from django.utils import translation

from fangkong.core.models import Institution, InstitutionKind, Region, Role
from fangkong.drill.names import CITY_CODE
from fangkong.drill.outbreak_keygroups import DEMO_REGIMES, seed_demo_key_groups
from fangkong.drill.services import city_seed
from fangkong.keygroups import selectors as sel
from fangkong.keygroups.models import KeyGroupMember
from fangkong.masstesting.models import Campaign, CampaignStatus
from tests.factories import UserFactory


@pytest.mark.django_db
def test_seed_demo_key_groups() -> None:
    city_seed(size=4000, seed=7)
    office = UserFactory(
        username="office", role=Role.COMMAND_OFFICE, region=Region.objects.get(code=CITY_CODE)
    )
    point_org = Institution.objects.create(
        name="重点人群采样站", kind=InstitutionKind.SAMPLING_POINT, region=office.region
    )
    sampler = UserFactory(username="kg_sampler", role=Role.SAMPLER, institution=point_org)
    out = seed_demo_key_groups(actor=office, sampler=sampler)
    assert out.regimes == len(DEMO_REGIMES) and out.members > 20
    assert 0.5 * out.members < out.sampled < out.members
    assert not KeyGroupMember.objects.filter(unit__isnull=True, unit_name="").exists()
    assert Campaign.objects.filter(status=CampaignStatus.CLOSED).count() == len(DEMO_REGIMES)
    with translation.override("en"):
        c = sel.weekly_compliance(
            actor=office, year=sel.last_complete_week()[0], week=sel.last_complete_week()[1]
        )
    assert c.total.members == out.members and c.total.tested == out.sampled
    assert {r.percent == 100.0 for r in c.rows} == {True, False}  # a realistic mix
    assert seed_demo_key_groups(actor=office, sampler=sampler).regimes == 0  # idempotent
