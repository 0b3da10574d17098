"""Arrival screening in Chromium: the town inbox, confirming a record (the measure appears with
its dates), the public self-declaration on a phone and the checkpoint's code lookup."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from fangkong.screening.models import ScreeningRecord
from fangkong.screening.services import arrivals as services
from tests.browser.conftest import City, login, shot
from tests.factories import UserFactory, make_resident_id
from tests.factories.screening import ensure_default_rules, make_area, screening_data

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _switch_to_english(page: Any) -> None:
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector('html[lang="en"]')


def _inbox(city: City) -> ScreeningRecord:
    """Pending records relative to the real clock (the live server runs on it)."""
    ensure_default_rules()
    now = timezone.now()
    make_area(code="310115", name="上海市浦东新区", level="high", valid_from=now - dt.timedelta(30))
    make_area(code="320102", name="南京市玄武区", level="medium", valid_from=now - dt.timedelta(9))
    tree, op = city.tree, city.town_user
    yesterday = now - dt.timedelta(days=1)
    target = services.self_declaration_submit(
        data=screening_data(
            tree.community_a1,
            name="周晓明",
            source="self_declaration",
            origin_code="310115101",
            origin_place="上海市浦东新区张江镇",
            route=[{"place": "上海虹桥站", "date": yesterday.date().isoformat()}],
            arrival_at=yesterday,
        )
    )
    for name, source, code, place in (
        ("吴海燕", "checkpoint", "320102", "南京市玄武区"),
        ("郑国强", "big_data", "", "苏州市姑苏区"),
        ("冯丽娟", "door_to_door", "", "杭州市西湖区"),
    ):
        services.screening_create(
            actor=op,
            data=screening_data(
                tree.grid_a1 if source == "door_to_door" else tree.community_a1,
                name=name,
                source=source,
                origin_code=code,
                origin_place=place,
                arrival_at=now - dt.timedelta(hours=20),
            ),
        )
    done = services.screening_create(
        actor=op,
        data=screening_data(
            tree.community_a1,
            name="陈建华",
            origin_code="320102",
            origin_place="南京市玄武区",
            arrival_at=now - dt.timedelta(days=2),
        ),
    )
    services.screening_confirm(actor=op, record=done)
    sibling = UserFactory(username="town_a2", role="town", region=tree.town_a2)
    services.screening_create(
        actor=sibling,
        data=screening_data(tree.community_a2, name="邻镇来返", arrival_at=now),
    )
    return target


def test_inbox_confirm_shows_the_measure(page: Any, live_server: Any, city: City) -> None:
    target = _inbox(city)
    login(page, live_server.url)
    page.click(".sidenav a[href='/screening/']")
    page.wait_for_url("**/screening/")
    assert page.inner_text("[data-testid=count-pending]") == "4"
    assert page.inner_text("[data-testid=count-classified]") == "1"
    assert "邻镇来返" not in page.content()
    shot(page, "screening-inbox-zh")

    page.select_option("#id_source", "self_declaration")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=screening-table] tbody tr').length === 1"
    )
    assert "source=self_declaration" in page.url
    page.click(f"[data-testid=screening-table] >> text={target.name}")
    page.wait_for_url(f"**/screening/{target.pk}/")
    page.wait_for_selector("[data-testid=decision]")
    shot(page, "screening-detail-zh")

    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=measure]")
    today = timezone.localdate()
    assert page.inner_text("[data-testid=measure-start]") == today.isoformat()
    assert page.inner_text("[data-testid=measure-end]") == (today + dt.timedelta(9)).isoformat()
    assert page.locator("[data-testid=measure-phases] .phase").count() == 2
    assert "7天内高风险" in page.inner_text("[data-testid=rule-name]")
    target.refresh_from_db()
    assert target.status == "classified" and target.measure is not None
    assert target.measure.plan.key == "centralised_7_home_3"
    shot(page, "screening-confirmed-zh")
    _switch_to_english(page)
    page.wait_for_selector("[data-testid=measure]")
    shot(page, "screening-confirmed-en")

    page.goto(f"{live_server.url}/screening/rules/")
    shot(page, "screening-rules-en")
    page.goto(f"{live_server.url}/screening/risk-areas/")
    shot(page, "screening-risk-areas-en")


def test_self_declaration_on_a_phone_and_checkpoint_lookup(
    page: Any, live_server: Any, city: City
) -> None:
    ensure_default_rules()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/declare/")
    shot(page, "declare-form-zh")
    page.fill("#id_name", "黄小兰")
    page.fill("#id_id_number", "11010519900101123")  # one digit short
    page.fill("#id_phone", "13812345678")
    page.fill("#id_origin_place", "上海市浦东新区")
    arrival = (timezone.localtime() + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_arrival_at", arrival)
    page.select_option("#id_destination", city.tree.community_a1.code)
    page.check("#id_promise")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".has-error")
    assert page.locator(".has-error #id_id_number").count() == 1
    assert page.input_value("#id_id_number") == ""  # the number is not echoed back
    shot(page, "declare-errors-zh")

    page.fill("#id_id_number", make_resident_id())
    page.fill("#id_phone", "13812345678")
    page.fill("#id_route_text", "2022-05-08 上海市浦东新区")
    page.check("#id_promise")
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=qr] svg")
    token = page.inner_text("[data-testid=token]").strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    record = ScreeningRecord.objects.get(token=token)
    assert record.status == "pending" and record.source == "self_declaration"
    shot(page, "declare-done-zh")

    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server.url)
    page.goto(f"{live_server.url}/screening/")
    page.fill("#id_token", token)
    page.click(".lookup-bar button[type=submit]")
    page.wait_for_url(f"**/screening/{record.pk}/")
    assert "黄小兰" in page.inner_text("h1")
    shot(page, "screening-lookup-zh")


def test_assistance_request_and_zones(
    page: Any, live_server: Any, city: City, settings: Any, tmp_path: Any
) -> None:
    from tests.factories.screening import resident_ids, sheet_bytes

    settings.DATA_DIR = tmp_path / "data"  # the stored list goes here, not into var/
    # the worker runs the list's job as it is committed, in the server's thread
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    ensure_default_rules()
    chief = UserFactory(username="city_office", role="command_office", region=city.tree.city)
    ids = resident_ids(12, seed=41)
    rows = [
        [
            f"协查{i:02d}",
            ids[i],
            "",
            "",
            "",
            "",
            ("东一社区", "南一社区", "西一社区")[i % 3],
            "密接",
            "",
        ]
        for i in range(10)
    ]
    rows.append(["坏号码", "110105199001011234", "", "", "", "", "东一社区", "", ""])
    rows.append(["无处安放", ids[11], "", "", "", "", "不存在的社区", "", ""])
    path = tmp_path / "沪浦协查名单.xlsx"
    path.write_bytes(
        sheet_bytes(
            [
                "姓名",
                "证件号码",
                "手机号",
                "现住址",
                "所属区县",
                "所属街道",
                "所属社区",
                "风险类型",
                "备注",
            ],
            rows,
        )
    )
    login(page, live_server.url, chief.username)
    page.goto(f"{live_server.url}/screening/assistance/")
    page.fill("#id_from_jurisdiction", "上海市浦东新区疫情防控指挥部")
    page.fill("#id_reference_number", "沪浦协〔2022〕118号")
    page.set_input_files("#id_file", str(path))
    shot(page, "assistance-upload-zh")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/jobs/*/")  # the worker reads the list; the page follows the job
    page.wait_for_selector("#job-progress[data-status=done] [data-testid=open-request]")
    shot(page, "assistance-job-zh")
    page.click("[data-testid=open-request]")
    page.wait_for_selector("[data-testid=town-counts]")
    assert page.inner_text("[data-testid=assigned]") == "10"
    assert page.inner_text("[data-testid=rejected]") == "1"
    shot(page, "assistance-detail-zh")

    page.goto(f"{live_server.url}/screening/zones/")
    page.fill("#id_name", "东一社区第一网格封控区")
    page.select_option("#id_kind", "lockdown")
    page.select_option("#id_grids", [city.tree.grid_a1.code])
    page.click("main form button[type=submit]")
    page.wait_for_selector("[data-testid=zone-table] >> text=东一社区第一网格封控区")
    shot(page, "zones-zh")
