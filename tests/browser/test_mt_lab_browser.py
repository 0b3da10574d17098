"""The lab page and the transport page in Chromium: pack and hand over a box, scan tubes in
with a keyboard-style scanner (code + Enter), upload an xlsx of results with a bad row."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fangkong.core.models import Role
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.models import BoxStatus, TransferBox, Tube, TubeStatus
from tests.browser.conftest import City, login, shot
from tests.factories import PASSWORD, UserFactory
from tests.factories.masstesting import campaign_setup
from tests.masstesting.test_lab import fill_tubes

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_transport_and_lab_pages(
    page: Any, live_server: Any, city: City, tmp_path: Path, settings: Any
) -> None:
    # the worker runs the upload's job as it is committed, in the server's thread
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DATA_DIR = tmp_path / "data"
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    tree = city.tree
    users: dict[str, Any] = {}
    mt = campaign_setup(tree, users, pool_size=10)
    mt.sampler.set_password(PASSWORD)
    mt.sampler.first_name = "东一采样点采样员"
    mt.sampler.save()
    UserFactory(username="lab1", role=Role.LAB, institution=tree.lab, first_name="示范检测所收样员")
    barcodes = fill_tubes(mt, tree, 12, per=10, prefix="HS2611")
    earlier = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="DY-0830", tube_barcodes=barcodes[8:]
    )
    lab_services.box_hand_over(actor=mt.sampler, box=earlier)

    # transport: the sampler packs six closed tubes and hands the box over
    login(page, live_server.url, mt.sampler.username)
    page.goto(f"{live_server.url}/masstesting/transport/")
    page.locator("[data-testid=packable-table] tbody input[type=checkbox]").nth(6).uncheck()
    page.locator("[data-testid=packable-table] tbody input[type=checkbox]").nth(7).uncheck()
    page.fill("[data-testid=box-code]", "DY-0915")
    page.click("[data-testid=pack-submit]")
    page.wait_for_selector("text=DY-0915")
    shot(page, "mt-transport-zh")
    page.click("[data-testid=hand-over]")
    page.wait_for_selector("[data-testid=point-box-table] >> text=DY-0915")
    box = TransferBox.objects.get(code="DY-0915")
    assert (box.status, box.tube_count) == (BoxStatus.HANDED_OVER, 6)
    packed = sorted(Tube.objects.filter(box=box).values_list("barcode", flat=True))

    # lab: scan in tubes as a scanner would, code + Enter, focus stays in the input
    page.context.clear_cookies()
    login(page, live_server.url, "lab1")
    page.goto(f"{live_server.url}/masstesting/lab/")
    scan = page.locator("[data-testid=receive-input]")
    for n, barcode in enumerate([*packed[:4], "HS-UNKNOWN", packed[0]], start=1):
        scan.type(barcode)
        scan.press("Enter")
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=receive-answer]').length === n", arg=n
        )
    page.wait_for_function("() => document.activeElement.id === 'lab-barcode'")
    assert page.locator("[data-testid=receive-answer]").count() == 6
    assert Tube.objects.filter(status=TubeStatus.RECEIVED).count() == 4
    assert page.inner_text("[data-testid=tile-awaiting]") == "4"
    shot(page, "mt-lab-receipt-zh")

    # results upload with one bad row
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["试管条码", "结果", "Ct值"])
    for b in packed[:3]:
        ws.append([b, "阴性", None])
    ws.append([packed[3], "阳性", 28.7])
    ws.append([barcodes[8], "阴性", None])
    ws.append(["HS-UNKNOWN", "阴性", None])
    ws.append([barcodes[9], "阳", None])
    buffer = io.BytesIO()
    wb.save(buffer)
    path = tmp_path / "检测结果.xlsx"
    path.write_bytes(buffer.getvalue())
    page.set_input_files("[data-testid=upload-file]", str(path))
    page.click("[data-testid=upload-form] button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job-progress[data-status=done] [data-testid=upload-errors]")
    rows = page.locator("[data-testid=upload-errors] tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("7")
    shot(page, "mt-lab-zh")
    assert Tube.objects.get(barcode=packed[3]).result == "positive"
    page.click("text=返回实验室")
    page.wait_for_selector("[data-testid=batch-table] >> text=lab1")
    assert errors == []
