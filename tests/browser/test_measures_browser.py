"""People under control in Chromium: overdue badges, a measure's page, releasing it (htmx)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fangkong.people.measures_models import ControlMeasure
from fangkong.people.services import measure_results, measures
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory
from tests.factories.measures import ensure_default_plans, in_force, propose

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _under_control(city: City) -> dict[str, ControlMeasure]:
    """A realistic mix relative to the real today (the live server runs on the real clock)."""
    ensure_default_plans()
    today = timezone.localdate()
    op = city.town_user
    p = city.persons

    def ago(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    late_release = in_force(p[0], op, "home_quarantine_7", start=ago(8))  # ended yesterday
    for day in (ago(8), ago(5), ago(2)):
        measure_results.measure_record_test(measure=late_release, on=day, result="negative")
    late_test = in_force(p[1], op, "centralised_7_home_3", start=ago(3))  # no results at all
    on_track = in_force(p[2], op, "centralised_7_home_3", start=ago(8))
    for day in measures.test_days_for(on_track.start_date, [1, 2, 3, 5, 7], today):
        measure_results.measure_record_test(measure=on_track, on=day, result="negative")
    in_force(p[3], op, "home_monitoring_7", start=today)
    in_force(p[4], op, "tests_3_in_3", start=today)
    extended = in_force(p[5], op, "home_quarantine_7", start=ago(2))
    measure_results.measure_record_test(measure=extended, on=ago(2), result="negative")
    measures.measure_extend(actor=op, measure=extended, days=3, reason="同住人员核酸阳性")
    propose(p[6], "home_quarantine_7", start=today, source_type="screening")
    # someone in the sibling town, who must not appear
    sibling_user = UserFactory(username="town_a2", role="town", region=city.tree.town_a2)
    sibling = city.persons[0].__class__.objects.get(name="邻镇人员")
    in_force(sibling, sibling_user, "home_quarantine_7", start=ago(9))
    return {"late_release": late_release, "late_test": late_test, "on_track": on_track}


def test_people_under_control_and_release(page: Any, live_server: Any, city: City) -> None:
    ms = _under_control(city)
    login(page, live_server.url)
    page.click(".sidenav a[href='/control/']")
    page.wait_for_url("**/control/")
    assert page.inner_text("[data-testid=in-force-count]") == "6"
    assert page.inner_text("[data-testid=release-overdue-count]") == "1"
    assert page.inner_text("[data-testid=test-overdue-count]") == "1"
    assert "邻镇人员" not in page.content()
    late = page.locator(f"tr[data-measure='{ms['late_release'].pk}']")
    assert late.locator("[data-testid=release-overdue]").is_visible()
    assert page.locator(
        f"tr[data-measure='{ms['late_test'].pk}'] [data-testid=test-overdue]"
    ).count()
    assert not page.locator(f"tr[data-measure='{ms['on_track'].pk}'] .badge-danger").count()
    assert page.locator(".sidenav a[href='/control/'].active").count() == 1
    shot(page, "measures-list-zh")

    # the overdue filter narrows the table in place (htmx) and keeps the URL shareable
    page.select_option("#id_overdue", "release")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=measures-table] tbody tr[data-measure]')"
        ".length === 1"
    )
    assert "overdue=release" in page.url

    late.locator("a").first.click()
    page.wait_for_url(f"**/control/{ms['late_release'].pk}/")
    assert "ms-in_force" in page.get_attribute("[data-testid=measure-state]", "class")
    assert page.locator("[data-testid=timeline] .tl-phase").count() == 1
    shot(page, "measure-detail-zh")

    page.fill("#id_release-reason", "隔离期满，末次核酸阴性")
    page.click("form[data-action=release] button[type=submit]")
    page.wait_for_selector("[data-testid=measure-state].ms-released")
    assert page.inner_text("[data-testid=actual-end]") == timezone.localdate().isoformat()
    assert "隔离期满" in page.inner_text("[data-testid=history]")
    assert not page.locator("form[data-action=release]").count()
    shot(page, "measure-released-zh")
    ms["late_release"].refresh_from_db()
    assert ms["late_release"].state == "released"

    # the person's page shows the measure history and no current measure
    page.goto(f"{live_server.url}/people/{ms['late_release'].person_id}/")
    page.wait_for_selector("[data-testid=not-under-control]")
    shot(page, "person-control-zh")


def test_measure_page_in_english(page: Any, live_server: Any, city: City) -> None:
    ms = _under_control(city)
    login(page, live_server.url)
    page.goto(f"{live_server.url}/control/{ms['on_track'].pk}/")
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector('html[lang="en"]')
    assert "Home health monitoring" in page.inner_text("[data-testid=timeline]")
    shot(page, "measure-detail-en")
    page.goto(f"{live_server.url}/control/")
    shot(page, "measures-list-en")
