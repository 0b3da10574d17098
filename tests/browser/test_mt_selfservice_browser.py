"""Registration codes in Chromium: the self-service page at phone size, the sheet picker and
the A4 print sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from fangkong.masstesting.models import (
    RecheckReason,
    RecheckStatus,
    RecheckTask,
    Scan,
    ScanBatch,
    Tube,
    TubeStatus,
)
from fangkong.masstesting.sampling.services.codes import self_service_link_issue
from fangkong.people.models import Person
from tests.browser.conftest import City, login, shot
from tests.factories.masstesting import MassTestingSetup, campaign_setup

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
H = dt.timedelta(hours=1)


def _scan(mt: MassTestingSetup, person: Person, barcode: str, at: dt.datetime, result: str) -> Tube:
    tube = Tube.objects.create(
        campaign=mt.campaign,
        barcode=barcode,
        point=mt.point,
        capacity=10,
        members=1,
        status=TubeStatus.RESULTED,
        opened_at=at,
        result=result,
        resulted_at=at + 6 * H,
    )
    batch = ScanBatch.objects.create(point=mt.point, idempotency_key=barcode, body_hash="x")
    Scan.objects.create(
        campaign=mt.campaign,
        tube=tube,
        person=person,
        token="t",
        point=mt.point,
        batch=batch,
        scanned_at=at,
    )
    return tube


def test_self_service_page_on_a_phone(page: Any, live_server: Any, city: City) -> None:
    cache.clear()
    mt = campaign_setup(city.tree, {})
    person = city.persons[1]
    now = timezone.now()
    pool = _scan(mt, person, "P000001", now - 30 * H, "positive")
    RecheckTask.objects.create(
        campaign=mt.campaign,
        person=person,
        source_tube=pool,
        region=person.region,
        region_path=person.region_path,
        reason=RecheckReason.POSITIVE_POOL,
        status=RecheckStatus.RESULTED,
        sampled_at=now - 8 * H,
        result="negative",
        resulted_at=now - 3 * H,
    )
    url = self_service_link_issue(actor=city.town_user, person=person)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{url}")
    latest = page.locator("[data-testid=latest-state]")
    assert latest.get_attribute("data-state") == "negative"
    assert page.locator("[data-testid=sample-row]").count() == 2
    # the positive pool before the recheck is shown as awaiting recheck, not as positive
    assert page.locator("[data-testid=history] .badge-pool_positive").count() == 1
    assert page.locator("[data-testid=history] .badge-positive").count() == 0
    assert person.name not in page.content()
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("[data-testid=qr] svg").bounding_box()
    assert box["width"] >= 250
    shot(page, "mt-selfservice-phone-zh")
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Latest result" in page.inner_text("[data-testid=latest-state]")
    shot(page, "mt-selfservice-phone-en")
    page.goto(f"{live_server.url}/hs/no-such-token/")
    assert page.locator("[data-testid=selfservice]").count() == 0
    assert errors == []


def test_code_sheet_prints_a4_cards(page: Any, live_server: Any, city: City) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, live_server.url)
    page.goto(f"{live_server.url}/masstesting/codes/")
    page.select_option("#id_grid", str(city.tree.grid_a1.pk))
    page.wait_for_selector("[data-testid=residents]")
    rows = page.locator("[data-testid=residents] tbody tr")
    assert rows.count() == 16  # the grid's residents; the community's and other grids' not
    shot(page, "mt-code-sheets")
    with page.context.expect_page() as new_page:
        page.click("[data-testid=print-grid]")
    sheet = new_page.value
    sheet.wait_for_load_state()
    assert sheet.locator("[data-testid=code-card]").count() == 16
    assert sheet.locator("[data-testid=sheet-page]").count() == 2
    shot(sheet, "mt-code-sheet-print")
    sheet.emulate_media(media="print")
    # each sheet page is one A4 page: 16 cards, 10 to a page
    pdf = sheet.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 2
    sheet.set_viewport_size({"width": 800, "height": 1131})
    shot(sheet, "mt-code-sheet-print-media")
    assert errors == []


def test_staff_issue_a_link_from_the_person_page(page: Any, live_server: Any, city: City) -> None:
    """The person page → the link page: issued once with its QR, opened on a phone, revoked."""
    cache.clear()
    person = city.persons[2]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, live_server.url)
    page.goto(f"{live_server.url}/people/{person.pk}/")
    page.click("[data-testid=self-service-open]")
    page.click("[data-testid=link-issue]")
    page.wait_for_selector("[data-testid=link-issued] [data-testid=link-qr] svg")
    url = page.input_value("[data-testid=link-url]")
    assert "/hs/" in url
    shot(page, "mt-selfservice-link-issued-zh")
    phone = page.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(url)
    assert phone.locator("[data-testid=selfservice]").count() == 1
    page.on("dialog", lambda d: d.accept())
    page.click("[data-testid=link-revoke]")
    page.wait_for_selector("[data-testid=link-state] >> text=当前没有可用的链接")
    phone.goto(url)
    assert phone.locator("[data-testid=selfservice]").count() == 0
    assert errors == []
