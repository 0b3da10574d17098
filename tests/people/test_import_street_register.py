"""A street's or community's own register: no community column, a merged title, signature lines."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from fangkong.core.models import User
from fangkong.core.validators import FieldError
from fangkong.people.import_rows import is_signature_line
from fangkong.people.models import ImportJob, ImportRowError, ImportStatus, Person
from fangkong.people.services.imports import import_job_create, import_job_run
from tests.clients import page_client
from tests.factories import Tree, make_resident_id

HEADER = ["序号", "姓名", "身份证号", "手机号", "现住址"]


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _register(good: int = 10, seed: int = 7) -> tuple[bytes, dict[int, str]]:
    """A register as a community office types it; returns the file and {bad row: field}."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["东一社区常住人口登记表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append([])
    ws.append(HEADER)
    for i in range(good):
        ws.append([i + 1, f"住户{i}", make_resident_id(rng), f"139{i:08d}", f"东街{i}号"])
    bad_id = make_resident_id(rng)
    bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
    ws.append([good + 1, "错号", bad_id, "", ""])
    ws.append([good + 2, "", make_resident_id(rng), "", ""])
    ws.append([good + 3, "错电话", make_resident_id(rng), "12345", ""])
    first_bad = 3 + good + 1
    ws.append([])
    ws.append(["填表人：王五", "", "审核人：李四"])
    ws.append(["联系电话：0571-88886666"])
    ws.append(["合计", f"{good + 3}人"])
    buf = io.BytesIO()
    wb.save(buf)
    bad = {first_bad: "id_number", first_bad + 1: "name", first_bad + 2: "phone"}
    return buf.getvalue(), bad


def _run(actor: User, content: bytes, region_code: str | None = None) -> ImportJob:
    job = import_job_create(
        actor=actor,
        filename="东一社区登记表.xlsx",
        content=content,
        enqueue=False,
        region_code=region_code,
    )
    return import_job_run(job_id=job.pk)


def test_a_register_without_a_community_column_goes_to_the_chosen_community(
    tree: Tree, users: dict[str, User]
) -> None:
    content, bad = _register()
    job = _run(users["town_a1"], content, region_code=tree.community_a1.code)
    assert job.status == ImportStatus.DONE, job.message
    assert (job.created_count, job.error_count) == (10, 3)
    assert job.default_region == tree.community_a1
    assert set(Person.objects.values_list("region_id", flat=True)) == {tree.community_a1.pk}
    errors = {(e.row, e.field): e.reason for e in ImportRowError.objects.filter(job=job)}
    assert set(errors) == set(bad.items())
    assert all(errors.values())  # every bad row says why
    assert not Person.objects.filter(name__startswith="填表人").exists()


def test_the_importers_own_community_is_the_default(tree: Tree, users: dict[str, User]) -> None:
    content, _bad = _register(good=4)
    job = _run(users["community_a1"], content)
    assert (job.status, job.created_count, job.error_count) == (ImportStatus.DONE, 4, 3)
    assert job.default_region == tree.community_a1
    assert Person.objects.filter(region=tree.community_a1).count() == 4


def test_a_town_without_a_choice_still_needs_the_column(tree: Tree, users: dict[str, User]) -> None:
    content, _bad = _register(good=2)
    job = _run(users["town_a1"], content)
    assert job.status == ImportStatus.FAILED and "community" in job.message
    assert Person.objects.count() == 0


def test_a_community_column_overrides_the_default_per_row(
    tree: Tree, users: dict[str, User]
) -> None:
    rows = [
        ["姓名", "身份证号", "所属社区", "网格"],
        ["甲", make_resident_id(), "", ""],
        ["乙", make_resident_id(), tree.community_a2.name, ""],
        ["丙", make_resident_id(), "", tree.grid_a1.name],  # a grid of the default community
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    job = _run(users["city"], buf.getvalue(), region_code=tree.community_a1.code)
    assert (job.created_count, job.error_count) == (3, 0)
    placed = dict(Person.objects.values_list("name", "region_id"))
    assert placed == {
        "甲": tree.community_a1.pk,
        "乙": tree.community_a2.pk,
        "丙": tree.grid_a1.pk,
    }


def test_a_region_outside_the_jurisdiction_is_refused(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    content, _bad = _register(good=1)
    for code in (tree.community_a2.code, tree.town_a1.code, "no-such-code"):
        with pytest.raises(FieldError) as exc:
            import_job_create(
                actor=users["town_a1"],
                filename="a.xlsx",
                content=content,
                enqueue=False,
                region_code=code,
            )
        assert exc.value.field == "region"
    api = api_as("town_a1")
    upload = SimpleUploadedFile("a.xlsx", content)
    r = api.client.post(
        "/api/v1/people/imports",
        {"file": upload, "region_code": tree.community_b1.code},
        headers=api.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "region"
    assert ImportJob.objects.count() == 0


def test_the_api_and_the_upload_page_take_the_region(
    tree: Tree, users: dict[str, User], api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    content, _bad = _register(good=3)
    api = api_as("town_a1")
    with django_capture_on_commit_callbacks(execute=True):
        r = api.client.post(
            "/api/v1/people/imports",
            {"file": SimpleUploadedFile("a.xlsx", content), "region_code": tree.grid_a1.code},
            headers=api.headers,
        )
    assert r.status_code == 202, r.content
    assert r.json()["default_region_code"] == tree.grid_a1.code
    assert Person.objects.filter(region=tree.grid_a1).count() == 3

    client = page_client(users["town_a1"])
    form = client.get("/people/import/").content.decode()
    assert f'value="{tree.community_a1.code}"' in form
    assert f'value="{tree.community_b1.code}"' not in form  # another district's community
    content, _bad = _register(good=2, seed=8)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/people/import/",
            {
                "file": SimpleUploadedFile("b.xlsx", content),
                "region_code": tree.community_a1.code,
            },
        )
    assert r.status_code == 302, r.content.decode()
    assert Person.objects.filter(region=tree.community_a1).count() == 2
    own = page_client(users["community_a1"]).get("/people/import/").content.decode()
    assert f'<option value="{tree.community_a1.code}" selected>' in own


def test_the_cli_takes_the_region(tree: Tree, users: dict[str, User], tmp_path: Path) -> None:
    content, _bad = _register(good=5)
    path = tmp_path / "登记表.xlsx"
    path.write_bytes(content)
    out = io.StringIO()
    call_command(
        "import_people",
        str(path),
        "--as",
        "town_a1",
        "--region",
        tree.community_a1.code,
        stdout=out,
    )
    assert Person.objects.filter(region=tree.community_a1).count() == 5


@pytest.mark.parametrize(
    "cells, expected",
    [
        (["填表人：王五"], True),
        (["", "审核人: 李四", "联系电话：0571-88886666"], True),
        (["合计", "13人"], True),
        (["备注：外出务工人员另表登记"], True),
        (["王五", "110105194912310021"], False),
        (["填表人：王五", "110105194912310021"], False),  # a document number: a person
        (["张合计", "110105194912310021"], False),
    ],
)
def test_signature_lines_are_told_from_person_rows(cells: list[str], expected: bool) -> None:
    assert is_signature_line(cells) is expected
