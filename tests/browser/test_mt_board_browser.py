"""The campaign board in Chromium: KPI tiles, drill-down by the table, the grid map, the
"not yet sampled" list of a grid; screenshots in tests/screenshots/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fangkong.core.models import Institution, InstitutionKind, Role
from fangkong.masstesting.models import Campaign, SamplingPoint
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_board_drills_down_to_the_grid_and_its_list(
    page: Any, live_server: Any, city: City
) -> None:
    tree = city.tree
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="东城区第一轮核酸",
        region=tree.district_a,
        pool_size=10,
        starts_at=now - dt.timedelta(hours=3),
        ends_at=now + dt.timedelta(hours=21),
    )
    station = Institution.objects.create(
        name="东一采样站", kind=InstitutionKind.SAMPLING_POINT, region=tree.community_a1
    )
    sampler = UserFactory(username="sampler_a1", role=Role.SAMPLER, institution=station)
    point = SamplingPoint.objects.create(
        campaign=campaign, name="东一采样点", region=tree.community_a1, institution=station
    )
    point.grids.set([tree.grid_a1])
    in_grid = list(Person.objects.filter(region=tree.grid_a1).order_by("pk"))
    tokens = [registration_code_for(person=p).token for p in in_grid[:10]]
    scan_batch_ingest(
        actor=sampler,
        point=point,
        idempotency_key="b1",
        scans=[
            ScanIn(barcode="T1", token=t, scanned_at=now - dt.timedelta(hours=2 - i // 5))
            for i, t in enumerate(tokens)
        ],
    )
    login(page, live_server.url)
    page.goto(f"{live_server.url}/masstesting/")
    page.click("text=东城区第一轮核酸")
    page.wait_for_selector("[data-testid=board-kpis]")
    # the town's own part: 24 residents of town A1, 10 sampled
    assert page.inner_text("[data-testid=kpi-sampled]") == "10"
    assert page.inner_text("[data-testid=kpi-coverage]") == "41.7%"
    page.wait_for_selector("#mtb-progress canvas")
    page.click(f"#mtb-rows a:has-text('{tree.community_a1.name}')")
    page.wait_for_selector(f"#mtb-crumbs strong:has-text('{tree.community_a1.name}')")
    page.wait_for_selector(f"#mtb-rows td:has-text('{tree.grid_a1.name}')")
    page.wait_for_selector("#mtb-map canvas")
    assert f"region={tree.community_a1.pk}" in page.url
    shot(page, "mt-board-community")
    page.click("#mtb-rows td.actions a")
    page.wait_for_selector("[data-testid=not-sampled-count]")
    assert page.inner_text("[data-testid=not-sampled-count]").startswith("6")
    assert "邻镇人员" not in page.content()
    shot(page, "mt-not-sampled-grid")
