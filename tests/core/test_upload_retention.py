"""Issue 8, item 3: uploaded lists with personal data are deleted once their job ends (done
or failed); the row error report stays, built from the database."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.people.models import ImportJob, ImportStatus
from fangkong.screening.models import AssistanceRequest
from fangkong.screening.services import assistance
from tests.core.test_upload_limits import in_a_week
from tests.factories import Tree
from tests.factories.screening import ensure_default_rules, resident_ids, sheet_bytes

IMPORTS = "/api/v1/people/imports"
ASSISTANCE = "/api/v1/screening/assistance-requests"


@pytest.fixture(autouse=True)
def data_dir(db: Any, settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }
    ensure_default_rules()
    return Path(settings.DATA_DIR)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _person_list(tree: Tree) -> bytes:
    good, bad = resident_ids(2)
    return sheet_bytes(
        ["姓名", "身份证号", "手机号", "所属社区"],
        [
            ["张三", good, "13800138000", tree.community_a1.name],
            ["李四", bad[:-3] + "ABC", "13800138001", tree.community_a1.name],
        ],
    )


def _rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize(
    ("content", "status"),
    [(None, ImportStatus.DONE), (sheet_bytes(["姓名"], [["张三"]]), ImportStatus.FAILED)],
    ids=["done", "failed"],
)
def test_a_person_list_is_deleted_when_its_import_ends(
    content: bytes | None,
    status: str,
    tree: Tree,
    api_as: Any,
    data_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    api = api_as("town_a1")
    upload = SimpleUploadedFile("名单.xlsx", content or _person_list(tree))
    with django_capture_on_commit_callbacks(execute=True):
        r = api.client.post(IMPORTS, {"file": upload}, headers=api.headers)
    assert r.status_code == 202, r.content
    job = ImportJob.objects.get(pk=r.json()["id"])
    assert job.status == status
    assert _files(data_dir) == [] and job.stored_path == ""
    assert job.file_sha256  # what was imported stays provable
    report = api.get(f"{IMPORTS}/{job.pk}/errors.xlsx")
    assert report.status_code == 200
    assert len(_rows(report.content)) == 2  # header + the bad row (or the file's reason)


def test_a_queued_person_list_is_kept_until_its_job_runs(
    tree: Tree, api_as: Any, data_dir: Path, settings: Any
) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}
    }
    api = api_as("town_a1")
    upload = SimpleUploadedFile("名单.xlsx", _person_list(tree))
    r = api.client.post(IMPORTS, {"file": upload}, headers=api.headers)
    assert r.status_code == 202
    assert len(_files(data_dir)) == 1


def _assistance_list(tree: Tree) -> bytes:
    good, bad = resident_ids(2, seed=9)
    return sheet_bytes(
        ["姓名", "证件号码", "手机号", "现住址", "所属区县", "所属街道", "所属社区"],
        [
            ["王五", good, "13900000001", "东街1号", tree.district_a.name, tree.town_a1.name, ""],
            ["赵六", bad[:-3] + "ABC", "13900000002", "东街2号", "", "", ""],
        ],
    )


@pytest.mark.parametrize("broken", [False, True], ids=["imported", "refused"])
def test_an_assistance_list_is_deleted_once_read(
    broken: bool, tree: Tree, api_as: Any, data_dir: Path, run_file_jobs: Any
) -> None:
    api = api_as("city")
    content = b"not a workbook" if broken else _assistance_list(tree)
    r = api.client.post(
        ASSISTANCE,
        {
            "file": SimpleUploadedFile("协查.xlsx", content),
            "from_jurisdiction": "上海市浦东新区",
            "deadline": in_a_week(),
        },
        headers=api.headers,
    )
    assert r.status_code == 202, r.content
    assert len(_files(data_dir)) == 1  # kept for the worker, and only until it has read it
    (job,) = run_file_jobs()
    assert _files(data_dir) == [] and job.stored_path == "" and job.file_sha256
    if broken:
        assert job.status == "failed" and job.message
        assert not AssistanceRequest.objects.exists()
        return
    assert job.status == "done"
    request = AssistanceRequest.objects.get()
    assert request.stored_path == "" and request.file_sha256
    report = api.get(f"{ASSISTANCE}/{request.pk}/errors.xlsx")
    assert report.status_code == 200 and len(_rows(report.content)) == 2


def test_purge_deletes_lists_no_job_needs(
    tree: Tree, users: dict[str, Any], data_dir: Path, settings: Any
) -> None:
    """Files left by jobs that ended before lists were deleted at the end, and orphans; the
    list of a queued job stays, and so does a file still being copied (recent)."""
    import os

    from django.core.management import call_command

    from fangkong.core.models import AuditEvent
    from fangkong.people.services.imports import import_job_create

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}
    }
    queued = import_job_create(
        actor=users["town_a1"], filename="a.xlsx", content=_person_list(tree), enqueue=False
    )
    ended = import_job_create(
        actor=users["town_a1"], filename="b.xlsx", content=_person_list(tree), enqueue=False
    )
    ImportJob.objects.filter(pk=ended.pk).update(status=ImportStatus.DONE)
    waiting = assistance.assistance_submit(
        actor=users["city"],
        info=assistance.RequestInfo(from_jurisdiction="上海市浦东新区"),
        filename="c.xlsx",
        content=_assistance_list(tree),
    )
    job_orphan = data_dir / "jobs" / "left-over.xlsx"
    job_orphan.write_bytes(b"x")
    orphan = data_dir / "assistance" / "left-over.xlsx"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    fresh = data_dir / "imports" / "being-copied.csv"
    fresh.write_bytes(b"x")
    old = 1_000_000_000  # the files are old, except the one being copied
    for path in (data_dir / f"imports/{queued.pk}.xlsx", data_dir / f"imports/{ended.pk}.xlsx"):
        os.utime(path, (old, old))
    for path in (orphan, job_orphan, data_dir / waiting.stored_path):
        os.utime(path, (old, old))
    call_command("purge_uploads")
    assert sorted(p.name for p in _files(data_dir)) == sorted(
        [f"{queued.pk}.xlsx", "being-copied.csv", f"{waiting.pk}.xlsx"]
    )
    assert ImportJob.objects.get(pk=ended.pk).stored_path == ""
    assert AuditEvent.objects.get(action="uploads.purge").details == {"files": 3}
