"""Key-group routine testing in Chromium: the regimes page, a member overdue, the weekly
bulletin with its bars, and the audited xlsx export; screenshots in tests/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.utils import timezone

from fangkong.core.models import AuditEvent, Institution
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember
from fangkong.masstesting.sampling.services.codes import registration_code_for
from tests.browser.conftest import City, login, shot
from tests.factories.masstesting import campaign_setup
from tests.keygroups.test_groups import sample

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_bulletin_shows_units_and_exports(page: Any, live_server: Any, city: City) -> None:
    tree, town = city.tree, city.town_user
    groups.regime_create(actor=town, region=tree.town_a1, key_group="cold_chain", every_days=7)
    groups.regime_create(actor=town, region=tree.town_a1, key_group="medical", every_days=7)
    iso = (timezone.localdate() - dt.timedelta(days=7)).isocalendar()
    monday = dt.date.fromisocalendar(iso.year, iso.week, 1)
    groups.members_sync(actor=town, region=tree.town_a1, today=monday - dt.timedelta(days=14))
    store = Institution.objects.create(
        code="CS1", name="东街冷库", kind="cold_store", region=tree.town_a1
    )
    members = list(KeyGroupMember.objects.order_by("pk"))
    assert len(members) >= 4
    for m in members:
        if m.key_group == "cold_chain":
            groups.member_update(actor=town, member=m, unit=store)
    for m in members:
        registration_code_for(person=m.person)
    setup = campaign_setup(tree, {})
    # last Sunday: due again this Sunday, so not overdue on any weekday the suite runs
    when = timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=6), dt.time(9)))
    sample(setup.point, setup.sampler, [members[0].person], when)
    login(page, live_server.url)
    page.goto(f"{live_server.url}/masstesting/groups/")
    page.wait_for_selector("[data-testid=regime-table]")
    shot(page, "mt_groups_regimes")
    page.goto(f"{live_server.url}/masstesting/groups/members/?overdue=1")
    assert page.locator(".kg-overdue-row").count() == len(members) - 1
    page.goto(f"{live_server.url}/masstesting/groups/bulletin/")
    page.wait_for_selector("[data-testid=compliance-table]")
    assert page.inner_text("[data-testid=total-members]") == str(len(members))
    assert "东街冷库" in page.inner_text("[data-testid=compliance-table]")
    shot(page, "mt_groups_bulletin")
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    assert info.value.suggested_filename == f"keygroup-bulletin-{iso.year}-W{iso.week:02d}.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert wb.worksheets[0]["A1"].value.startswith(tree.town_a1.name)
    assert AuditEvent.objects.filter(action="keygroup_bulletin.export", actor=town).exists()
