"""Quarantine in Chromium: the command side allocates rooms from the waiting list and lands on
the site's room grid; the site's staff, on a phone, open a room, check the person in and out,
and the room turns to "awaiting disinfection"; a door alert reaches the grid worker's round and
the town's roll-up within one refresh, without a reload; a release proposed on a phone is
confirmed and its notice printed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fangkong.core.models import Role
from fangkong.people.services.measure_results import measure_record_test
from fangkong.people.services.measures import measure_start
from fangkong.quarantine.models import Stay, StayState
from fangkong.quarantine.services import doors, stays
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory
from tests.factories.measures import in_force
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


def test_a_door_alert_reaches_the_grid_worker_and_the_town_within_one_refresh(
    page: Any, live_server: Any, city: City, settings: Any
) -> None:
    settings.LIVE_REFRESH_SECONDS = 2
    grid = UserFactory(username="grid_a1", role=Role.GRID_WORKER, region=city.tree.grid_a1)
    person = city.persons[1]  # lives in grid A1
    home = in_force(person, city.town_user, "home_quarantine_7", start=timezone.localdate())
    doors.door_sensor_install(actor=city.town_user, measure=home, device_id="BR-DS-1")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server.url, "grid_a1")
    page.goto(f"{live_server.url}/quarantine/home/")
    assert page.locator("[data-testid=door-alert]").count() == 0
    page.evaluate("window.__sameDocument = true")
    opened = timezone.now() - dt.timedelta(minutes=3)
    doors.door_events_ingest(
        actor=grid, events=[doors.EventIn("BR-DS-1", "br-1", "opened", opened)]
    )
    page.wait_for_selector("[data-testid=door-alert]", timeout=8000)
    assert page.evaluate("window.__sameDocument") is True  # refreshed in place, not reloaded
    shot(page, "quarantine-home-round-phone")
    # the town's roll-up counts it too, and a field being filled in is never wiped
    page.set_viewport_size({"width": 1280, "height": 900})
    page.context.clear_cookies()
    login(page, live_server.url, "town_a1")
    page.goto(f"{live_server.url}/quarantine/home/")
    assert page.inner_text("[data-testid=tile-alerts]") == "1"
    page.evaluate("window.__sameDocument = true")
    page.fill(f"[data-testid=home-row][data-measure='{home.pk}'] input[name=temperature]", "36.8")
    doors.door_events_ingest(
        actor=grid, events=[doors.EventIn("BR-DS-1", "br-2", "offline", timezone.now())]
    )
    page.wait_for_timeout(4500)
    assert page.inner_text("[data-testid=tile-alerts]") == "1"  # held while typing
    page.fill(f"[data-testid=home-row][data-measure='{home.pk}'] input[name=temperature]", "")
    page.locator("h1").click()
    expect(page.locator("[data-testid=tile-alerts]")).to_have_text("2", timeout=8000)
    assert page.evaluate("window.__sameDocument") is True


def test_release_proposed_on_a_phone_and_confirmed_with_its_notice(
    page: Any, live_server: Any, city: City
) -> None:
    district = UserFactory(username="dist_a", role=Role.DISTRICT, region=city.tree.district_a)
    setup = active_site(district, city.tree.town_a1, corridor_rooms(pairs=2), name="东街隔离酒店")
    start = timezone.localdate() - dt.timedelta(days=6)
    measure = quarantined(city.tree.community_a1, name="欧阳明", start=start)
    measure = measure_start(actor=district, measure=measure, start=start)
    stay = stays.stays_allocate(actor=district, measures=[measure], site=setup.site).stays[0]
    stays.stay_check_in(actor=setup.staff, stay=stay)
    for day in measure.tests.values_list("day", flat=True):
        measure_record_test(measure=measure, on=day, result="negative")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server.url, setup.staff.username)
    page.goto(f"{live_server.url}/quarantine/sites/{setup.site.pk}/releases/")
    assert "欧*明" in page.inner_text("[data-testid=due-row]")
    page.click("[data-testid=propose]")
    page.wait_for_selector("[data-testid=proposed]")
    shot(page, "quarantine-release-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.context.clear_cookies()
    login(page, live_server.url, "town_a1")
    page.goto(f"{live_server.url}/quarantine/releases/")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=notice-link]")
    shot(page, "quarantine-releases")
    href = page.get_attribute("[data-testid=notice-link]", "href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert Stay.objects.get(pk=stay.pk).state == StayState.CHECKED_OUT
