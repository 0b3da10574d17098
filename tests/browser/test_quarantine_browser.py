"""Quarantine in Chromium: the command side allocates rooms from the waiting list and lands on
the site's room grid; the site's staff, on a phone, open a room, check the person in and out,
and the room turns to "awaiting disinfection"."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.models import Role
from fangkong.quarantine.models import Stay, StayState
from fangkong.quarantine.services import stays
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory
from tests.factories.quarantine import active_site, corridor_rooms, quarantined

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_allocate_from_the_waiting_list_onto_the_room_grid(
    page: Any, live_server: Any, city: City
) -> None:
    district = UserFactory(username="dist_a", role=Role.DISTRICT, region=city.tree.district_a)
    rooms = corridor_rooms(corridor="1", pairs=4) + corridor_rooms(corridor="2", pairs=4)
    setup = active_site(district, city.tree.town_a1, rooms, name="东街隔离酒店")
    for name in ("欧阳明", "李晓", "王芳"):
        quarantined(city.tree.community_a1, name=name)
    login(page, live_server.url, "dist_a")
    page.goto(f"{live_server.url}/quarantine/")
    assert page.inner_text("[data-testid=tile-awaiting]") == "3"
    assert "欧*明" in page.inner_text("[data-testid=awaiting-table]")
    for box in page.query_selector_all("[data-testid=awaiting-pick]")[:2]:
        box.check()
    page.select_option("#id_alloc-site", str(setup.site.pk))
    page.fill("#id_alloc-cohort", "K1234")
    shot(page, "quarantine-waiting-list")
    page.click("[data-testid=allocate]")
    page.wait_for_url(f"**/quarantine/sites/{setup.site.pk}/")
    assert page.locator("[data-testid=room][data-state=occupied]").count() == 2
    assert page.locator("[data-testid=room][data-state=available]").count() == 14
    assert "K1234" in page.inner_text("[data-testid=floor]")
    shot(page, "quarantine-site-board")


def test_site_staff_check_in_and_out_on_a_phone(page: Any, live_server: Any, city: City) -> None:
    district = UserFactory(username="dist_a", role=Role.DISTRICT, region=city.tree.district_a)
    setup = active_site(district, city.tree.town_a1, corridor_rooms(pairs=3), name="东街隔离酒店")
    stay = stays.stays_allocate(
        actor=district, measures=[quarantined(city.tree.community_a1, name="欧阳明")],
        site=setup.site,
    ).stays[0]  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server.url, setup.staff.username)
    page.goto(f"{live_server.url}/quarantine/sites/{setup.site.pk}/")
    page.click("[data-testid=room][data-state=occupied]")
    page.wait_for_selector("[data-testid=room-panel]")
    assert "欧*明" in page.inner_text("[data-testid=occupant]")
    page.click("[data-testid=check-in]")
    page.wait_for_selector("[data-testid=check-out]")
    assert Stay.objects.get(pk=stay.pk).state == StayState.CHECKED_IN
    shot(page, "quarantine-room-phone")
    page.fill("[data-testid=occupant] input[name=reason]", "期满解除")
    page.click("[data-testid=check-out]")
    page.wait_for_selector("[data-testid=room-state]")
    assert page.locator("[data-testid=room][data-state=disinfection]").count() == 1
    assert Stay.objects.get(pk=stay.pk).state == StayState.CHECKED_OUT
    # the panel offers the room back once disinfected
    page.select_option("#id_state", "available")
    page.click("[data-testid=room-state-form] button")
    page.wait_for_selector("[data-testid=room][data-state=available]")
    assert page.locator("[data-testid=room][data-state=disinfection]").count() == 0
