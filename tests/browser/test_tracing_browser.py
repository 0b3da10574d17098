"""The case page in Chromium: contact tree counts, the ECharts chain graph, the case list.

Screenshots land in tests/screenshots/ (git-ignored): tracing-case-zh.png and friends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fangkong.people.measures import measure_start
from fangkong.tracing.generations import case_compute_generations
from fangkong.tracing.models import Case, CaseContact
from tests.browser.conftest import City, login, shot
from tests.factories_tracing import build_scenario, confirmed_case

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def traced_case(city: City) -> Case:
    """12 close contacts (3 each, 2 each); the third generation lives in the sibling town."""
    tree = city.tree
    scenario = build_scenario(tree.grid_a1, fanout=(12, 3, 2), regions={3: tree.grid_a2})
    case = confirmed_case(
        actor=city.town_user,
        person=scenario.root,
        onset=timezone.localdate() - dt.timedelta(days=2),
        severity="moderate",
    )
    case_compute_generations(actor=city.town_user, case=case)
    for contact in CaseContact.objects.filter(case=case, generation=1)[:7]:
        assert contact.measure is not None
        measure_start(actor=city.town_user, measure=contact.measure)
    return case


def test_case_page_tree_and_chain_graph(page: Any, live_server: Any, traced_case: Case) -> None:
    login(page, live_server.url)
    page.click(".sidenav >> text=流调")
    page.wait_for_url("**/tracing/")
    assert page.is_visible("[data-testid=case-table]")
    shot(page, "tracing-cases-zh")

    page.click(f"a[href='/tracing/cases/{traced_case.pk}/'] >> nth=0")
    page.wait_for_url(f"**/tracing/cases/{traced_case.pk}/")
    assert page.inner_text("[data-testid=gen-1-count]") == "12"
    assert page.inner_text("[data-testid=gen-2-count]") == "36"
    assert page.inner_text("[data-testid=gen-3-count]") == "72"
    assert page.inner_text("[data-testid=contact-total]") == "120"
    # the graph: ECharts draws into a canvas once the JSON has arrived
    page.wait_for_selector("[data-testid=chain-graph][data-rendered='121']")
    canvas = page.locator("[data-testid=chain-graph] canvas").first
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 400
    painted = page.evaluate(
        """() => {
            const c = document.querySelector('[data-testid=chain-graph] canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) { ink++; } }
            return ink;
        }"""
    )
    assert painted > 2000  # nodes and edges were actually drawn
    page.click("[data-testid=tree-gen-3] > summary")  # the third generation lives next door
    outsiders = page.inner_text("[data-testid=tree-gen-3]")
    assert outsiders.count("域外") + outsiders.count("Outside your jurisdiction") == 72
    shot(page, "tracing-case-zh")

    page.click(".lang-switch button[value=en]")
    page.wait_for_selector('html[lang="en"]')
    page.wait_for_selector("[data-testid=chain-graph][data-rendered='121']")
    assert "Close contacts" in page.inner_text("[data-testid=generation-counts]")
    shot(page, "tracing-case-en")

    page.goto(f"{live_server.url}/tracing/investigations/?show=all")
    assert page.is_visible("[data-testid=investigation-table]")
    shot(page, "tracing-investigations-en")
