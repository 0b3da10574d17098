"""The lab page (receipt scan over htmx, xlsx upload with row errors) and the transport page."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.core.models import User
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.models import BoxStatus, ResultBatch, TransferBox, Tube, TubeStatus
from tests.clients import page_client
from tests.factories import Tree
from tests.factories.masstesting import MassTestingSetup, campaign_setup
from tests.masstesting.test_lab import fill_tubes, second_lab


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def test_transport_pack_and_hand_over(mt: MassTestingSetup, tree: Tree) -> None:
    barcodes = fill_tubes(mt, tree, 3)
    c = page_client(mt.sampler)
    page = c.get("/masstesting/transport/")  # one point: chosen at once
    assert page.status_code == 200
    html = page.content.decode()
    assert all(b in html for b in barcodes) and "示范检测所" in html
    done = c.post(
        "/masstesting/transport/pack/",
        {"point": mt.point.pk, "lab": tree.lab.pk, "code": "BX-1", "tubes": barcodes[:2]},
        follow=True,
    )
    assert "BX-1" in done.content.decode()
    box = TransferBox.objects.get()
    assert box.tube_count == 2
    c.post(f"/masstesting/transport/boxes/{box.pk}/hand-over/")
    box.refresh_from_db()
    assert box.status == BoxStatus.HANDED_OVER
    # a bad pack names the problem and writes nothing
    bad = c.post(
        "/masstesting/transport/pack/",
        {"point": mt.point.pk, "lab": tree.lab.pk, "code": "BX-2", "scanned": "NOPE"},
        follow=True,
    )
    assert "NOPE" in bad.content.decode()
    assert TransferBox.objects.count() == 1


def test_transport_scope(mt: MassTestingSetup, tree: Tree, users: dict[str, User]) -> None:
    barcodes = fill_tubes(mt, tree, 1)
    box = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="B", tube_barcodes=barcodes
    )
    town_a2 = page_client(users["town_a2"])
    assert town_a2.get(f"/masstesting/transport/?point={mt.point.pk}").status_code == 404
    assert town_a2.post(f"/masstesting/transport/boxes/{box.pk}/hand-over/").status_code == 404
    assert (
        page_client(users["district_b"]).get("/masstesting/transport/?point=x").status_code == 404
    )
    assert TransferBox.objects.get().status == BoxStatus.PACKED


def _handed(mt: MassTestingSetup, tree: Tree, n: int) -> list[str]:
    barcodes = fill_tubes(mt, tree, n)
    box = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="BOX-7", tube_barcodes=barcodes
    )
    lab_services.box_hand_over(actor=mt.sampler, box=box)
    return barcodes


def test_lab_page_receive_scan_over_htmx(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    barcodes = _handed(mt, tree, 2)
    c = page_client(users["lab"])
    page = c.get("/masstesting/lab/").content.decode()
    assert "BOX-7" in page and 'data-testid="receive-input"' in page
    answer = c.post(
        "/masstesting/lab/receive/", {"barcodes": barcodes[0]}, headers={"HX-Request": "true"}
    )
    html = answer.content.decode()
    assert barcodes[0] in html and 'hx-swap-oob="true"' in html
    unknown = c.post(
        "/masstesting/lab/receive/", {"barcodes": "ZZZ"}, headers={"HX-Request": "true"}
    )
    assert "badge-danger" in unknown.content.decode()
    assert Tube.objects.filter(status=TubeStatus.RECEIVED).count() == 1
    # a sibling lab's page lists nothing of ours, and its scans find nothing
    second_lab(tree, users)
    other = page_client(users["lab2"])
    assert "BOX-7" not in other.get("/masstesting/lab/").content.decode()
    other.post("/masstesting/lab/receive/", {"barcodes": barcodes[1]})
    assert Tube.objects.get(barcode=barcodes[1]).received_at is None
    # not a lab: the page is readable, receipt is refused
    assert (
        page_client(mt.sampler).post("/masstesting/lab/receive/", {"barcodes": "x"}).status_code
        == 403
    )


def _sheet(rows: list[list[Any]]) -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)  # type: ignore[union-attr]
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("结果.xlsx", buffer.getvalue())


def test_lab_page_upload_reports_rows(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], run_file_jobs: Any
) -> None:
    barcodes = _handed(mt, tree, 2)
    c = page_client(users["lab"])
    rows = [["试管条码", "结果", "Ct值"], [barcodes[0], "阴性", ""], ["NOPE", "阳性", 20]]
    response = c.post("/masstesting/lab/results/", {"file": _sheet(rows)})
    assert response.status_code == 302 and response.url.startswith("/jobs/")
    # the request only stored the file: nothing is read until the worker runs the job
    assert not ResultBatch.objects.exists()
    waiting = c.get(response.url)
    assert waiting.status_code == 200 and 'data-status="queued"' in waiting.content.decode()
    (job,) = run_file_jobs()
    assert job.status == "done" and not job.stored_path
    html = c.get(f"{response.url}progress/").content.decode()
    assert 'data-status="done"' in html and "hx-get" not in html  # polling stops
    assert 'data-testid="upload-errors"' in html and ">3<" in html
    batch = ResultBatch.objects.get()
    assert job.result["batch_id"] == batch.pk
    report = c.get(f"/masstesting/lab/batches/{batch.pk}/errors.xlsx")
    assert report.status_code == 200
    for outsider in ("district_b", "town_a1"):  # neither the lab's job nor its batch
        assert page_client(users[outsider]).get(response.url).status_code == 404
    assert (
        page_client(users["district_b"])
        .get(f"/masstesting/lab/batches/{batch.pk}/errors.xlsx")
        .status_code
        == 404
    )
    broken = c.post("/masstesting/lab/results/", {"file": SimpleUploadedFile("x.xlsx", b"xx")})
    assert broken.status_code == 302
    (failed,) = run_file_jobs()
    assert failed.status == "failed" and failed.message
    assert 'data-testid="job-message"' in c.get(broken.url).content.decode()
    wrong = c.post("/masstesting/lab/results/", {"file": SimpleUploadedFile("x.txt", b"xx")})
    assert wrong.status_code == 422
    assert Tube.objects.get(barcode=barcodes[0]).result == "negative"
