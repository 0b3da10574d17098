"""The recheck list in Chromium: grid filter, at-home flag, inline resample and cancel."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from fangkong.masstesting.models import RecheckTask
from fangkong.masstesting.results.services.resolve import pools_resolve
from tests.browser.conftest import City, login, shot
from tests.factories.masstesting import campaign_setup
from tests.factories.measures import in_force
from tests.factories.rechecks import resulted_pools

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_recheck_list_records_a_resample_inline(page: Any, live_server: Any, city: City) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    tree = city.tree
    mt = campaign_setup(tree, {})
    in_grid = [p for p in city.persons if p.region_id == tree.grid_a1.pk]
    in_community = [p for p in city.persons if p.region_id == tree.community_a1.pk]
    in_force(in_grid[2], city.town_user, start=timezone.localdate())
    tubes = resulted_pools(
        mt.point, tree.grid_a1, tubes=1, size=10, persons=in_grid, result="positive"
    )
    tubes += resulted_pools(
        mt.point, tree.community_a1, tubes=1, size=5, persons=in_community, result="invalid"
    )
    pools_resolve(tube_ids=[t.pk for t in tubes])
    assert RecheckTask.objects.count() == 15

    login(page, live_server.url)
    page.goto(f"{live_server.url}/masstesting/rechecks/")
    rows = page.locator("[data-testid=recheck-row]")
    assert rows.count() == 15
    assert page.locator("[data-testid=at-home]").count() == 1

    first = rows.nth(0)
    row_id = first.get_attribute("id")
    first.locator("[data-testid=barcode]").fill("RC-000101")
    first.locator("[data-testid=sample]").click()
    page.wait_for_selector(f"#{row_id} >> text=RC-000101")

    second = rows.nth(1)
    second_id = second.get_attribute("id")
    second.locator("[data-testid=cancel]").click()
    page.wait_for_selector(f"#{second_id} [data-testid=cancel-reason]")
    page.fill(f"#{second_id} [data-testid=cancel-reason]", "已搬离本市")
    page.click(f"#{second_id} [data-testid=cancel-confirm]")
    page.wait_for_selector(f"#{second_id}.rck-cancelled")

    third = rows.nth(2)
    third.locator("[data-testid=barcode]").fill("RC-000101")  # already used
    third.locator("[data-testid=sample]").click()
    page.wait_for_selector("[data-testid=row-error]")
    page.evaluate("document.querySelector('.table-wrap').scrollLeft = 0")
    shot(page, "mt-rechecks-zh")
    assert errors == [] or all("422" in e for e in errors)
