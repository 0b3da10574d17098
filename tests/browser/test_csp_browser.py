"""The Content-Security-Policy in Chromium: an inline handler is refused, and the behaviours
that replaced the templates' inline handlers (js/behaviours.js) still do what they did."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.models import Role
from fangkong.masstesting.models import Campaign, CampaignStatus
from fangkong.screening.assistance_layout import COLUMNS
from fangkong.screening.services import assistance
from fangkong.tracing.models import Case
from tests.browser.conftest import City, login
from tests.factories import UserFactory
from tests.factories.masstesting import campaign_setup
from tests.factories.screening import resident_ids, sheet_bytes
from tests.factories.tracing import confirmed_case

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _office(city: City) -> Any:
    return UserFactory(username="office", role=Role.COMMAND_OFFICE, region=city.tree.city)


def test_an_injected_inline_handler_is_refused(
    page: Any, live_server: Any, city: City, csp_refused: list[str]
) -> None:
    login(page, live_server.url)
    page.evaluate(
        """() => {
          const b = document.createElement("button");
          b.id = "evil"; b.setAttribute("onclick", "document.body.dataset.ran = 'yes'");
          document.body.append(b);
        }"""
    )
    page.click("#evil")
    page.wait_for_timeout(200)
    assert page.evaluate("document.body.dataset.ran") is None
    assert any("inline event handler" in line for line in csp_refused), csp_refused
    csp_refused.clear()  # expected here; any other test fails on such a line


def test_autosubmit_check_all_and_confirm(page: Any, live_server: Any, city: City) -> None:
    office = _office(city)
    login(page, live_server.url, office.username)
    # data-autosubmit on a checkbox: the case list reloads filtered
    page.goto(f"{live_server.url}/tracing/")
    page.check("input[name=overdue]")
    page.wait_for_url("**/tracing/?*overdue=1*")
    # data-check-all on the registration-code sheet picker (data-autosubmit on its select)
    page.goto(f"{live_server.url}/masstesting/codes/")
    page.select_option("#id_grid", str(city.tree.grid_a1.pk))
    page.wait_for_selector("[data-testid=residents]")
    page.check("[data-check-all]")
    boxes = page.locator("[data-testid=residents] tbody input[name=person]")
    assert boxes.count() == 16
    assert page.locator("[data-testid=residents] tbody input[name=person]:checked").count() == 16
    page.uncheck("[data-check-all]")
    assert page.locator("[data-testid=residents] tbody input[name=person]:checked").count() == 0
    # data-confirm: dismissed keeps the campaign open, accepted closes it
    mt = campaign_setup(city.tree, {})
    page.goto(f"{live_server.url}/masstesting/campaigns/{mt.campaign.pk}/")
    questions: list[str] = []

    def answer(accept: bool) -> Any:
        def on_dialog(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    dismiss = answer(False)
    page.once("dialog", dismiss)
    page.click("[data-testid=campaign-close]")
    page.wait_for_timeout(300)
    assert Campaign.objects.get(pk=mt.campaign.pk).status != CampaignStatus.CLOSED
    page.once("dialog", answer(True))
    with page.expect_navigation():
        page.click("[data-testid=campaign-close]")
    assert Campaign.objects.get(pk=mt.campaign.pk).status == CampaignStatus.CLOSED
    assert len(questions) == 2 and questions[0] == questions[1] and questions[0]


def test_rule_out_asks_and_assistance_select_all(page: Any, live_server: Any, city: City) -> None:
    office = _office(city)
    case = confirmed_case(actor=office, person=city.persons[0])
    header = [zh for _f, zh, _en in COLUMNS]
    rows = [[f"协查{i}", rid, "", "", "", "", "", "", ""] for i, rid in enumerate(resident_ids(3))]
    request = assistance.assistance_import(
        actor=office,
        info=assistance.RequestInfo(from_jurisdiction="外市", reference_number="C1"),
        filename="名单.xlsx",
        content=sheet_bytes(header, rows),
    )
    login(page, live_server.url, office.username)
    page.goto(f"{live_server.url}/tracing/cases/{case.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("[data-testid=status-ruled_out]")
    page.wait_for_timeout(300)
    assert Case.objects.get(pk=case.pk).status == "confirmed"
    page.goto(f"{live_server.url}/screening/assistance/{request.pk}/")
    form = page.locator("[data-testid=assign-form]")
    items = form.locator("input[name=item]")
    assert items.count() == 3
    form.locator("[data-check-all=item]").check()
    assert form.locator("input[name=item]:checked").count() == 3
