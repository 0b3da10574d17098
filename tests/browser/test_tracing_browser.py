"""The case page in Chromium: contact tree counts, the ECharts chain graph, the case list.

Screenshots land in tests/screenshots/ (git-ignored): tracing-case-zh.png and friends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fangkong.core import vault
from fangkong.people.models import Person
from fangkong.people.services.measures import active_profile, measure_start
from fangkong.people.services.persons import ID_PURPOSE
from fangkong.tracing.models import Case, CaseContact, Exposure
from fangkong.tracing.services.generations import case_compute_generations
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory, make_resident_id
from tests.factories.tracing import build_scenario, confirmed_case

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


def test_report_a_case_and_record_exposures(page: Any, live_server: Any, city: City) -> None:
    """The tracer's day: report a case, confirm it, record its contacts, recompute, trace."""
    index, colleague = city.persons[1], city.persons[2]
    neighbour = Person.objects.get(name="邻镇人员")  # lives in the sibling town
    neighbour_id = vault.decrypt(neighbour.id_number_ct, purpose=ID_PURPOSE)
    login(page, live_server.url)
    page.goto(f"{live_server.url}/tracing/")
    page.click("[data-testid=report-case]")
    page.wait_for_url("**/tracing/cases/new/")

    # the person is found by name through a POST search, then chosen
    page.fill("#pick-q", index.name[:2])
    page.wait_for_selector(f"[data-testid=pick-results-person] input[value='{index.pk}']")
    assert index.id_number_mask in page.inner_text("[data-testid=pick-results-person]")
    assert page.url.removeprefix(live_server.url) == "/tracing/cases/new/"  # nothing in the URL
    page.check(f"[data-testid=pick-results-person] input[value='{index.pk}']")
    today = timezone.localdate()
    page.select_option("#id_kind", "confirmed")
    page.select_option("#id_source", "local")
    page.select_option("#id_severity", "moderate")
    page.fill("#id_onset_date", (today - dt.timedelta(days=2)).isoformat())
    page.fill("#id_sampling_date", (today - dt.timedelta(days=1)).isoformat())
    page.fill("#id_notes", "发热门诊报告，核酸阳性")
    shot(page, "tracing-report-zh")
    page.click("[data-testid=report-submit]")
    page.wait_for_url("**/tracing/cases/*/")
    case = Case.objects.get(person=index)
    assert case.status == "reported"

    # confirm it; contacts are computed from the exposures recorded next
    page.click("[data-testid=status-confirmed]")
    page.wait_for_selector("[data-testid=recompute]")
    assert Case.objects.get(pk=case.pk).status == "confirmed"

    # a contact found in the jurisdiction
    page.fill("#contact-q", colleague.name[:2])
    page.wait_for_selector(f"[data-testid=pick-results-contact] input[value='{colleague.pk}']")
    page.check(f"[data-testid=pick-results-contact] input[value='{colleague.pk}']")
    page.select_option("#id_context", "workplace")
    page.fill("#id_place", "东街农贸市场")
    page.click("[data-testid=exposure-submit]")
    page.wait_for_selector("[data-testid=exposure-notice]")
    assert colleague.name in page.inner_text("[data-testid=exposure-table]")

    # a new person, registered in one of the town's communities
    page.fill("#id_name", "新登记密接")
    page.fill("#id_id_number", make_resident_id())
    page.fill("#id_phone", "13912345678")
    page.select_option("#id_region", city.tree.community_a1.code)
    page.select_option("#id_context", "household")
    page.click("[data-testid=exposure-submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=exposure-table]')"
        ".innerText.includes('新登记密接')"
    )
    # a document registered in the sibling town is matched to that person only under the
    # name it is registered with (the tracer was told it), and shown without registry data
    page.fill("#contact-q", "邻镇")
    page.click("[data-testid=contact-search]")  # as a busy machine may drop the typing trigger
    page.wait_for_selector("[data-testid=pick-results-contact] .trc-pick-none")
    page.fill("#id_name", neighbour.name)
    page.fill("#id_id_number", neighbour_id)
    page.select_option("#id_region", city.tree.community_a1.code)
    page.select_option("#id_context", "venue")
    page.click("[data-testid=exposure-submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=exposure-table] tbody tr').length === 3"
    )
    assert Exposure.objects.filter(case=case).count() == 3

    # recompute: the three close contacts appear with their proposed measures
    page.click("[data-testid=recompute]")
    page.wait_for_selector("[data-testid=gen-1-count]:text('3')")
    assert "3" in page.inner_text(".messages")
    tree = page.inner_text("[data-testid=tree-gen-1]")
    assert colleague.name in tree and "新登记密接" in tree

    # trace: one unreachable (with a reason), one put under its measure
    unreachable = CaseContact.objects.get(case=case, person=colleague)
    row = f"#contact-{unreachable.pk}"
    page.click(f"{row} [data-testid=trace-edit]")
    page.wait_for_selector(f"[data-testid=contact-edit-{unreachable.pk}]")
    page.select_option(f"#trace-status-{unreachable.pk}", "unreachable")
    page.fill(f"#trace-note-{unreachable.pk}", "电话关机，已报公安协查")
    page.click(f"[data-testid=contact-edit-{unreachable.pk}] [data-testid=trace-save]")
    page.wait_for_selector(f"{row}[data-testid=contact-row]")
    assert "电话关机" in page.inner_text(row)
    newcomer = CaseContact.objects.get(case=case, person__name="新登记密接")
    page.click(f"#contact-{newcomer.pk} [data-testid=start-measure]")
    page.wait_for_function(
        f"() => !document.querySelector('#contact-{newcomer.pk} [data-testid=start-measure]')"
    )
    assert CaseContact.objects.get(pk=newcomer.pk).measure.state == "in_force"
    assert page.inner_text("[data-testid=untraced-count]") == "1"
    assert neighbour_id not in page.content()
    shot(page, "tracing-case-actions-zh")


def test_configuration_pages(page: Any, live_server: Any, city: City) -> None:
    UserFactory(username="city_office", role="command_office", region=city.tree.city)
    login(page, live_server.url, "city_office")
    page.goto(f"{live_server.url}/tracing/config/")
    assert page.is_visible("[data-testid=profile-form]")
    page.fill("#id_investigation_hours", "12")
    page.click("[data-testid=profile-save]")
    page.wait_for_selector(".messages")
    assert active_profile().investigation_hours == 12
    shot(page, "tracing-config-zh")
    page.click("a[href='/tracing/config/plans/centralised_7_home_3/']")
    page.wait_for_selector("[data-testid=plan-form]")
    shot(page, "tracing-plan-zh")
