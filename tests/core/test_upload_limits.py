"""Issue 8, item 3 (uploads): page numbers clamped, request bodies capped per route, scan
batches shed before JSON parsing, workbooks checked for decompressed size and rows before
parsing, CSV read as a stream."""

from __future__ import annotations

import datetime as dt
import io
import re
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from fangkong.core.models import User
from fangkong.people.sheets import TableError, open_table
from tests.clients import zh
from tests.factories import Tree, make_person, make_resident_id

HUGE_PAGE = 10**30


@pytest.mark.parametrize(
    "url",
    ["/api/v1/people", "/api/v1/masstesting/campaigns", "/api/v1/tracing/cases"],
)
def test_a_huge_page_number_is_clamped_not_a_server_error(
    url: str, tree: Tree, api_as: Any
) -> None:
    make_person(tree.grid_a1, name="甲")
    r = api_as("city").get(url, page=HUGE_PAGE)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["page"] < 10**9 and body["count"] >= 0
    assert body["items"] == []
    assert all(v == [] for v in body.values() if isinstance(v, list))  # and the old alias


def test_a_huge_page_number_on_a_list_page_shows_the_last_page(
    tree: Tree, users: dict[str, User]
) -> None:
    make_person(tree.grid_a1, name="甲")
    client = Client()
    client.force_login(users["city"])
    r = client.get("/people/", {"page": HUGE_PAGE})
    assert r.status_code == 200


# ---------------------------------------------------------------- request bodies

SCANS = "/api/v1/masstesting/scans/batch"


@pytest.fixture
def sampler(tree: Tree, users: dict[str, User], api_as: Any) -> Any:
    from tests.factories.masstesting import campaign_setup

    setup = campaign_setup(tree, users)
    return setup, api_as("sampler")


def _raw_post(api: Any, url: str, body: bytes, **headers: str) -> Any:
    return api.client.post(
        url, body, content_type="application/json", headers={**api.headers, **headers}
    )


def test_an_oversize_scan_batch_is_shed_by_content_length_before_parsing(
    sampler: Any, settings: Any
) -> None:
    from fangkong.masstesting.models import ScanBatch

    settings.BATCH_MAX_BYTES = 64 * 1024
    _setup, api = sampler
    # not even JSON: a 413 proves the body was never parsed (a parse would answer 422)
    r = _raw_post(api, SCANS, b"x" * (64 * 1024 + 1), **{"Idempotency-Key": "big"})
    assert r.status_code == 413
    assert "64" in r.json()["detail"]
    assert not ScanBatch.objects.exists()
    small = _raw_post(api, SCANS, b"x" * 100, **{"Idempotency-Key": "small"})
    assert small.status_code == 422


def test_too_many_scans_is_413(sampler: Any) -> None:
    setup, api = sampler
    body = {"point_id": setup.point.pk, "scans": [{"barcode": "T", "token": "x"}] * 5001}
    r = api.client.post(
        SCANS, body, content_type="application/json",
        headers={**api.headers, "Idempotency-Key": "many"},
    )  # fmt: skip
    assert r.status_code == 413 and "5000" in r.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/masstesting/results/batch",
        "/api/v1/masstesting/lab/receive",
        "/api/v1/tracing/cases/1/exposures",
    ],
)
def test_the_json_batch_apis_cap_their_bodies(url: str, api_as: Any, settings: Any) -> None:
    settings.BATCH_MAX_BYTES = 1024
    r = _raw_post(api_as("city"), url, b"{" + b" " * 2048 + b"}")
    assert r.status_code == 413, r.content
    assert "detail" in r.json()


def test_every_other_body_is_capped_globally(api_as: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    r = _raw_post(api_as("city"), "/api/v1/people/search", b"{" + b" " * 8192 + b"}")
    assert r.status_code == 413 and "detail" in r.json()
    page = Client().post("/login/", {"username": "x" * 8192, "password": "y"})
    assert page.status_code == 413


def test_an_upload_is_capped_by_the_largest_import(users: dict[str, User], settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 1024
    client = Client()
    client.force_login(users["town_a1"])
    big = SimpleUploadedFile("list.csv", b"a,b\n" * (400 * 1024))
    r = client.post("/people/import/", {"file": big})
    assert r.status_code == 413


# ---------------------------------------------------------------- workbooks and lists


def _workbook(rows: int = 3) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for i in range(rows):
        ws.cell(row=i + 1, column=1, value=f"v{i}")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def zip_bomb(inflated_mb: int) -> bytes:
    """A valid workbook plus one member of zeros that inflates to `inflated_mb` MB (a few KB
    on the wire)."""
    buffer = io.BytesIO(_workbook())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (inflated_mb * 1024 * 1024))
    return buffer.getvalue()


def in_a_week() -> str:
    return (timezone.now() + dt.timedelta(days=7)).isoformat()


UPLOADS = {
    "person_import": ("/api/v1/people/imports", "town_a1", {}),
    "assistance": (
        "/api/v1/screening/assistance-requests",
        "city",
        {"from_jurisdiction": "上海市浦东新区", "deadline": "+7d"},
    ),
    "risk_areas": ("/api/v1/screening/risk-areas/import", "city", {}),
    "key_group_members": ("/api/v1/masstesting/groups/members/import", "town_a1", {}),
    "lab_results": ("/api/v1/masstesting/lab/results/xlsx", "lab", {}),
}


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return Path(settings.DATA_DIR)


@pytest.mark.parametrize("route", sorted(UPLOADS))
def test_a_zip_bomb_is_refused_before_it_is_opened(
    route: str, api_as: Any, settings: Any, data_dir: Path
) -> None:
    settings.UPLOAD_MAX_UNZIPPED_BYTES = 2 * 1024 * 1024
    content = zip_bomb(8)
    assert len(content) < 100 * 1024
    url, who, fields = UPLOADS[route]
    fields = {k: in_a_week() if v == "+7d" else v for k, v in fields.items()}
    api = api_as(who)
    file = SimpleUploadedFile("list.xlsx", content)
    r = api.client.post(url, {"file": file, **fields}, headers=api.headers)
    assert r.status_code in (400, 422), r.content
    detail = r.json()["detail"]
    message = detail if isinstance(detail, str) else detail[0]["msg"]
    expected = "the workbook unpacks to more than %(mb)d MB; split it into smaller files"
    assert message == zh(expected, mb=2)
    assert not any(data_dir.rglob("*.xlsx"))  # nothing kept of it


def test_a_person_list_over_the_row_cap_fails_before_any_row(
    tree: Tree, users: dict[str, User], settings: Any, data_dir: Path
) -> None:
    from fangkong.people.models import ImportStatus, Person
    from fangkong.people.services.imports import import_job_create, import_job_run

    settings.IMPORT_MAX_ROWS = 5
    lines = ["姓名,证件号码,社区"] + [
        f"居民{i},{make_resident_id()},{tree.community_a1.code}" for i in range(10)
    ]
    content = ("\n".join(lines) + "\n").encode()
    job = import_job_create(
        actor=users["town_a1"], filename="list.csv", content=content, enqueue=False
    )
    with translation.override("en"):
        job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.FAILED
    assert "more than 5 rows" in job.message
    assert Person.objects.count() == 0


def test_a_synchronous_import_has_a_lower_row_cap(
    users: dict[str, User], api_as: Any, settings: Any, run_file_jobs: Any
) -> None:
    """Only the CLI reads a list in its own process, under the lower cap; the same list
    uploaded through the API goes to the worker, which has the import cap."""
    from fangkong.core.validators import FieldError
    from fangkong.screening.services.areas import risk_areas_import

    settings.SYNC_IMPORT_MAX_ROWS = 3
    lines = "地区代码,风险等级\n" + "".join(f"11010{i},高\n" for i in range(6))
    with pytest.raises(FieldError) as refused:
        risk_areas_import(actor=users["city"], filename="a.csv", content=lines.encode())
    assert refused.value.message == zh("the list has more than %(n)s rows", n="3")
    api = api_as("city")
    file = SimpleUploadedFile("a.csv", lines.encode())
    r = api.client.post("/api/v1/screening/risk-areas/import", {"file": file}, headers=api.headers)
    assert r.status_code == 202, r.content
    [job] = run_file_jobs()
    assert job.status == "done" and job.result["created"] == 6, job.message


def test_a_sheet_declaring_fewer_rows_than_it_holds_is_still_capped(tmp_path: Path) -> None:
    content = _workbook(rows=10)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(buffer, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:A2"', data)
            out.writestr(info, data)
    path = tmp_path / "lying.xlsx"
    path.write_bytes(buffer.getvalue())
    with open_table(path, max_rows=5) as (rows, total):
        assert total == 2  # what the sheet claims
        with pytest.raises(TableError):
            list(rows)


def test_csv_is_read_as_a_stream(tmp_path: Path) -> None:
    """A 6 MB list is read with far less memory than the file (the old reader held the
    bytes and the decoded text at once: about three times the file)."""
    path = tmp_path / "big.csv"
    line = "居民,110105195001010011,13800000000,东街1号,东一社区\n"
    with path.open("w", encoding="utf-8") as out:
        for _ in range(6 * 1024 * 1024 // len(line.encode())):
            out.write(line)
    tracemalloc.start()
    try:
        with open_table(path) as (rows, total):
            assert sum(1 for _row in rows) == total > 90_000
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, peak


MB = 1024 * 1024
# each upload route and the largest file it takes (its cap is that plus 1 MB of framing)
UPLOAD_CAPS = {
    "/api/v1/masstesting/lab/results/xlsx": ("lab", 10 * MB),
    "/masstesting/lab/results/": ("lab", 10 * MB),
    "/api/v1/screening/assistance-requests": ("city", 50 * MB),
    "/screening/assistance/": ("city", 50 * MB),
    "/api/v1/screening/risk-areas/import": ("city", 20 * MB),
    "/screening/risk-areas/import/": ("city", 20 * MB),
    "/api/v1/masstesting/groups/members/import": ("town_a1", 20 * MB),
    "/masstesting/groups/members/import/": ("town_a1", 20 * MB),
}


@pytest.mark.parametrize("url", sorted(UPLOAD_CAPS))
def test_each_upload_route_caps_its_body_below_the_global_cap(
    url: str, users: dict[str, User], api_as: Any
) -> None:
    who, largest = UPLOAD_CAPS[url]
    if url.startswith("/api/"):
        api = api_as(who)
        client, headers = api.client, api.headers
    else:
        client, headers = Client(), {}
        client.force_login(users[who])
    file = SimpleUploadedFile("list.xlsx", b"PK")
    # the declared length is what is checked: nothing is read past the headers
    declared = str(largest + MB + 1)
    r = client.post(url, {"file": file}, headers=headers, CONTENT_LENGTH=declared)
    assert r.status_code == 413, r.content
