"""The capacity planner in Chromium: prefilled form, htmx recompute, verdict and chart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import City, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_capacity_planner_recomputes_the_verdict(page: Any, live_server: Any, city: City) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, live_server.url)
    page.goto(f"{live_server.url}/masstesting/capacity/")
    # the town's registered population is the default; one lab of 2,200 tubes at 10:1
    assert page.input_value("#id_population") == "58300"
    verdict = page.locator("[data-testid=verdict]")
    assert verdict.get_attribute("data-feasible") == "yes"
    page.wait_for_selector("#cap-chart canvas")
    shot(page, "capacity-feasible-zh")

    # a whole city in 24 hours with the same lab: the lab is the bottleneck
    page.fill("#id_population", "10000000")
    page.fill("#id_window_hours", "24")
    page.fill("#id_hours_per_day", "24")
    page.fill("#id_prevalence_pct", "0")
    page.locator("#id_hours_per_day").dispatch_event("change")
    # several recomputes race while typing; wait for the one with every figure in it
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=tubes-total]') || {}).textContent"
        " ?.replace(/,/g, '') === '1000000'"
    )
    page.wait_for_selector("[data-testid=verdict][data-feasible=no]")
    assert verdict.get_attribute("data-bottleneck") == "lab"
    assert "无法" in verdict.inner_text() or "cannot" in verdict.inner_text()
    assert page.inner_text("[data-testid=tubes-total]").replace(",", "") == "1000000"
    assert page.locator("[data-testid=missing-points]").count() == 1
    page.wait_for_selector("#cap-chart canvas")
    shot(page, "capacity-infeasible-zh")

    # a bad figure names the field instead of a verdict
    page.fill("#id_lab_tubes_per_day", "2200, abc")
    page.locator("#id_lab_tubes_per_day").dispatch_event("change")
    page.wait_for_selector("[data-testid=capacity-errors] [data-field=lab_tubes_per_day]")
    assert errors == []
