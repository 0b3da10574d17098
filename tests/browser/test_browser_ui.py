"""The operator UI in Chromium: login, people filters, reveal, import progress, regions.

Screenshots of every page in both languages land in tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fangkong.core.models import AuditEvent
from fangkong.people.models import ImportJob, ImportStatus, Person
from tests.browser.conftest import City, login, shot
from tests.factories import PASSWORD, make_resident_id

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _switch_to_english(page: Any) -> None:
    page.click(".lang-switch button[value=en]")
    page.wait_for_selector('html[lang="en"]')


def test_login_wrong_then_right(page: Any, live_server: Any, city: City) -> None:
    page.goto(f"{live_server.url}/login/")
    assert "疫情防控指挥平台" in page.title()
    shot(page, "login-zh")
    page.fill("#id_username", "town_a1")
    page.fill("#id_password", "not-the-password")
    page.click("button.btn-primary")
    page.wait_for_selector(".notice-danger")
    assert "用户名或密码错误" in page.inner_text(".notice-danger")
    shot(page, "login-error-zh")
    page.fill("#id_username", "town_a1")
    page.fill("#id_password", PASSWORD)
    page.click("button.btn-primary")
    page.wait_for_url(f"{live_server.url}/")
    assert page.inner_text("[data-testid=person-count]") == "24"
    shot(page, "home-zh")
    _switch_to_english(page)
    assert "Persons in jurisdiction" in page.inner_text("main")
    shot(page, "home-en")
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server.url}/login/")
    shot(page, "login-en")


def test_people_list_filter_and_reveal(page: Any, live_server: Any, city: City) -> None:
    login(page, live_server.url)
    page.click(".sidenav >> text=人员")
    page.wait_for_url("**/people/")  # waits for the load event, so htmx is listening
    assert "共 24 人" in page.inner_text("[data-testid=result-count]")
    assert "邻镇人员" not in page.content()
    shot(page, "people-zh")

    # filters refresh the table in place (htmx) and keep the URL shareable
    page.select_option("#id_key_group", "cold_chain")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=result-count]').innerText.includes('共 3 人')"
    )
    assert "key_group=cold_chain" in page.url
    page.select_option("#id_key_group", "")
    page.select_option("#id_region", city.tree.grid_a1.code)  # 16 of the 24 live in the grid
    page.wait_for_function(
        "() => document.querySelector('[data-testid=result-count]').innerText.includes('共 16 人')"
    )
    assert f"region={city.tree.grid_a1.code}" in page.url
    shot(page, "people-filtered-zh")

    # the exact search goes by POST: nothing of the number reaches the address bar
    target = city.persons[1]
    page.goto(f"{live_server.url}/people/")
    page.click("summary:has-text('精确查询')")
    page.click(".search-form button[type=submit]")  # empty: a 422 fragment is swapped in too
    page.wait_for_selector("#results .notice-warn")
    assert "请输入证件号码或手机号码" in page.inner_text("#results")
    id_number = _plain_id(target)
    page.fill("#id_id_number", id_number)
    page.click(".search-form button[type=submit]")
    page.wait_for_selector(f"text={target.name}")
    assert id_number not in page.url and "查询结果：1 人" in page.inner_text("#results")

    page.click(f"#results >> text={target.name}")
    page.wait_for_selector("#reveal-panel form")
    assert page.inner_text("#pf-id_number") == target.id_number_mask
    page.fill("#id_reason", "电话通知核酸检测")
    page.click("#reveal-panel button[type=submit]")
    page.wait_for_selector("[data-testid=reveal-notice]")
    assert page.inner_text("#pf-id_number") == id_number
    assert page.inner_text("#pf-phone").startswith("+86")
    assert AuditEvent.objects.filter(action="person.reveal").count() == 1
    shot(page, "person-revealed-zh")

    _switch_to_english(page)
    assert page.inner_text("#pf-id_number") == target.id_number_mask  # masked again
    page.fill("#id_reason", "Call about the test result")
    page.click("#reveal-panel button[type=submit]")
    page.wait_for_selector("[data-testid=reveal-notice]")
    shot(page, "person-revealed-en")
    page.goto(f"{live_server.url}/people/")
    shot(page, "people-en")


def _plain_id(person: Any) -> str:
    from fangkong.people.services.persons import _decrypt_fields

    return _decrypt_fields(person, ["id_number"])["id_number"]


def _workbook(path: Path, city: City) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["东街街道返乡人员排查名单"])  # a title line above the real header
    ws.append(["姓名", "身份证号", "手机号", "现住址", "社区", "网格", "重点人群"])
    community, grid = city.tree.community_a1.name, city.tree.grid_a1.name
    for i in range(12):
        ws.append(
            [f"导入{i:02d}", make_resident_id(), f"1390000{i:04d}", "东街9号", community, grid, ""]
        )
    bad_id = make_resident_id()
    bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
    ws.append(["坏校验", bad_id, "", "", community, "", ""])
    ws.append(["", make_resident_id(), "", "", community, "", ""])
    ws.append(["无社区", make_resident_id(), "", "", "不存在的社区", "", ""])
    ws.append(["错电话", make_resident_id(), "12345", "", community, "", "冷链从业人员"])
    target = path / "返乡人员名单.xlsx"
    wb.save(target)
    return target


def test_import_progress_and_errors(
    page: Any, live_server: Any, city: City, settings: Any, tmp_path: Path
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DATA_DIR = tmp_path / "data"  # the stored upload goes here, not into var/
    login(page, live_server.url)
    page.click(".sidenav >> text=导入")
    page.wait_for_url("**/people/import/")
    shot(page, "import-zh")
    page.set_input_files("#id_file", str(_workbook(tmp_path, city)))
    page.click("button:has-text('上传并开始导入')")
    page.wait_for_url("**/people/import/*/")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=job-percent]').innerText === '100%'"
    )
    page.wait_for_selector("[data-testid=error-table]")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert page.inner_text("[data-testid=job-status]") == "已完成"
    assert page.inner_text("[data-testid=job-created]") == "12"
    assert page.inner_text("[data-testid=job-errors]") == "4"
    rows = page.locator("[data-testid=error-table] tbody tr")
    assert rows.count() == 4
    assert "身份证号码校验位错误" in page.inner_text("[data-testid=error-table]")
    with page.expect_download() as download:
        page.click("text=下载错误报告")
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "import-job-zh")
    _switch_to_english(page)
    page.wait_for_selector("[data-testid=error-table]")
    shot(page, "import-job-en")
    page.goto(f"{live_server.url}/people/import/")
    shot(page, "import-en")


def test_regions_tree_expands_lazily(page: Any, live_server: Any, city: City) -> None:
    login(page, live_server.url)
    page.click(".sidenav >> text=区划")
    page.wait_for_url("**/regions/")
    page.wait_for_selector(f"[data-code='{city.tree.community_a1.code}']")
    assert "南街街道" not in page.inner_text("main")
    page.click(f"[data-code='{city.tree.community_a1.code}'] > details > summary")
    grid = page.locator(f"[data-code='{city.tree.grid_a1.code}']")
    grid.wait_for()
    assert grid.locator("svg.shape path").count() == 1
    shot(page, "regions-zh")
    _switch_to_english(page)
    page.click(f"[data-code='{city.tree.community_a1.code}'] > details > summary")
    page.locator(f"[data-code='{city.tree.grid_a1.code}'] svg").wait_for()
    shot(page, "regions-en")
    # a sibling town's person answers exactly like a missing one
    outsider = Person.objects.get(name="邻镇人员")
    response = page.goto(f"{live_server.url}/people/{outsider.pk}/")
    assert response is not None and response.status == 404
    assert page.locator("[data-testid=error-404]").is_visible()
    shot(page, "error-404-en")


def test_job_page_polls_until_the_job_finishes(page: Any, live_server: Any, city: City) -> None:
    job = ImportJob.objects.create(
        created_by=city.town_user,
        region=city.tree.town_a1,
        filename="排查名单.csv",
        stored_path="imports/none.csv",
        file_sha256="0" * 64,
        status=ImportStatus.RUNNING,
        total_rows=400,
        processed_rows=100,
    )
    login(page, live_server.url)
    page.goto(f"{live_server.url}/people/import/{job.pk}/")
    assert page.inner_text("[data-testid=job-percent]") == "25%"
    shot(page, "import-job-running-zh")
    # the worker moves on; the open page follows without a reload
    ImportJob.objects.filter(pk=job.pk).update(processed_rows=300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=job-percent]').innerText === '75%'"
    )
    job.row_errors.create(row=7, field="phone", reason="电话号码无效")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, processed_rows=400, created_count=399, error_count=1
    )
    page.wait_for_selector("[data-testid=error-table]")
    assert page.inner_text("[data-testid=job-percent]") == "100%"
    assert page.get_attribute("#job-progress", "hx-trigger") is None  # polling stopped
