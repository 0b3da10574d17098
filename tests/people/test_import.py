"""Person-list import: xlsx/csv parsing, row errors, de-duplication, API, task and CLI."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from fangkong.core import vault
from fangkong.core.http import Forbidden
from fangkong.core.models import AuditEvent, User
from fangkong.core.validators import FieldError
from fangkong.people.bulk import person_insert_values, person_values
from fangkong.people.models import ImportJob, ImportRowError, ImportStatus, Person
from fangkong.people.services.imports import import_job_create, import_job_run
from fangkong.people.services.persons import ID_PURPOSE, person_build, person_validate
from fangkong.people.sheets import open_table
from tests.factories import Tree, make_resident_id

pytestmark = pytest.mark.django_db

IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default"],
    }
}
HEADER_ZH = [
    "序号",
    "姓名",
    "证件类型",
    "身份证号",
    "手机号",
    "现住址",
    "所属社区",
    "网格",
    "职业",
    "重点人群",
    "标签",
]
ENGLISH_HEADER = (
    "name",
    "id_type",
    "id_number",
    "phone",
    "address",
    "community",
    "grid",
    "occupation",
    "key_group",
    "tags",
)
# bad-row kind -> (how many, the field its error must name)
BAD_KINDS = {
    "checksum": (8, "id_number"),
    "short_id": (1, "id_number"),
    "no_name": (7, "name"),
    "phone": (8, "phone"),
    "unknown_grid": (7, "grid"),
    "sibling_grid": (7, "grid"),
    "duplicate": (6, "id_number"),
    "id_type": (2, "id_type"),
    "other_community": (2, "community"),
    "key_group": (2, "key_group"),
}


@pytest.fixture(autouse=True)
def _import_settings(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.DATA_DIR = tmp_path / "data"
    settings.TASKS = IMMEDIATE_TASKS
    # services translate their messages; assert on the English msgids
    with translation.override("en"):
        yield


def _resident_id(i: int) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=i)
    return make_resident_id(random.Random(i), birth=birth, place="110105")


def _good_row(i: int, tree: Tree) -> list[Any]:
    """Valid rows in the shapes real lists use: names or codes, int phones, mixed labels."""
    passport = i % 50 == 7
    grid = ("", tree.grid_a1.name, tree.grid_a1.code)[i % 3]
    return [
        i,
        f"居民{i}",
        "护照" if passport else ("居民身份证", "身份证", "")[i % 3],
        f"E{i:08d}" if passport else _resident_id(i),
        13800000000 + i if i % 2 else f"139{i:08d}",
        f"东街{i}号",
        tree.community_a1.name if i % 2 else tree.community_a1.code,
        grid,
        "教师" if i % 4 == 0 else "",
        ("", "冷链从业人员", "医务人员", "delivery")[i % 4],
        "返乡，复工;重点" if i % 5 == 0 else "",
    ]


def _bad_row(kind: str, i: int, tree: Tree, last_good_id: str) -> list[Any]:
    row = _good_row(i, tree)
    row[2], row[3] = "身份证", _resident_id(i)
    if kind == "checksum":
        row[3] = row[3][:-1] + ("0" if row[3][-1] != "0" else "1")
    elif kind == "short_id":
        row[3] = row[3][:-1]
    elif kind == "no_name":
        row[1] = ""
    elif kind == "phone":
        row[4] = "12345"
    elif kind == "unknown_grid":
        row[7] = "第九十九网格"
    elif kind == "sibling_grid":
        row[7] = tree.grid_a2.code
    elif kind == "duplicate":
        row[3] = last_good_id
    elif kind == "id_type":
        row[2] = "军官证"
    elif kind == "other_community":
        row[6], row[7] = tree.community_b1.name, ""
    elif kind == "key_group":
        row[9] = "宇航员"
    return row


def build_list(tree: Tree, good: int = 1000) -> tuple[list[list[Any]], dict[int, tuple[str, str]]]:
    """Rows (without header) and, per spreadsheet row number, (bad kind, expected field)."""
    kinds = ["good"] * (good - 10) + [k for k, (n, _f) in BAD_KINDS.items() for _i in range(n)]
    random.Random(7).shuffle(kinds)
    kinds = ["good"] * 10 + kinds  # a duplicate always has an earlier row to copy
    rows: list[list[Any]] = []
    expected: dict[int, tuple[str, str]] = {}
    last_good_id = ""
    for i, kind in enumerate(kinds):
        row_no = i + 2  # the header is row 1
        if kind == "good":
            rows.append(_good_row(i, tree))
            last_good_id = rows[-1][3]
        else:
            rows.append(_bad_row(kind, 20_000 + i, tree, last_good_id))
            expected[row_no] = (kind, BAD_KINDS[kind][1])
    return rows, expected


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(lines: list[list[Any]], encoding: str) -> bytes:
    text = "\r\n".join(",".join(str(v) for v in line) for line in lines) + "\r\n"
    return text.encode(encoding)


def run(user: User, filename: str, content: bytes) -> ImportJob:
    job = import_job_create(actor=user, filename=filename, content=content, enqueue=False)
    return import_job_run(job_id=job.pk)


def test_xlsx_good_and_bad_rows_then_reimport(tree: Tree, users: dict[str, User]) -> None:
    rows, expected = build_list(tree)
    content = xlsx_bytes(HEADER_ZH, rows)
    job = run(users["town_a1"], "东街街道名单.xlsx", content)

    assert job.status == ImportStatus.DONE, job.message
    assert (job.created_count, job.existing_count, job.error_count) == (1000, 0, 50)
    assert job.processed_rows == job.total_rows == 1050 and job.percent == 100
    assert Person.objects.filter(source="import").count() == 1000
    errors = list(ImportRowError.objects.filter(job=job))
    assert {(e.row, e.field) for e in errors} == {(r, f) for r, (_k, f) in expected.items()}
    assert len(errors) == 50 and all(e.reason for e in errors)
    for err in errors:  # never echo a rejected value
        bad = rows[err.row - 2]
        assert str(bad[3]) not in err.reason and str(bad[4]) not in err.reason
    dup = next(e for e in errors if expected[e.row][0] == "duplicate")
    first = next(i + 2 for i, r in enumerate(rows) if r[3] == rows[dup.row - 2][3])
    assert dup.reason == f"duplicate of row {first}"
    assert AuditEvent.objects.filter(action="person.import").count() == 1

    again = run(users["town_a1"], "东街街道名单.xlsx", content)
    assert (again.created_count, again.existing_count, again.error_count) == (0, 1000, 50)
    assert Person.objects.count() == 1000


def test_values_are_mapped(tree: Tree, users: dict[str, User]) -> None:
    rows = [_good_row(i, tree) for i in range(20)]
    run(users["town_a1"], "list.xlsx", xlsx_bytes(HEADER_ZH, rows))
    by_name = {p.name: p for p in Person.objects.all()}
    passport = by_name["居民7"]
    assert passport.id_type == "passport" and passport.birth_date is None
    assert by_name["居民0"].region == tree.community_a1  # no grid given
    assert by_name["居民1"].region == tree.grid_a1  # grid by name
    assert by_name["居民2"].region == tree.grid_a1  # grid by code
    assert by_name["居民1"].key_group == "cold_chain"
    assert by_name["居民3"].key_group == "delivery"
    assert by_name["居民5"].tags == ["复工", "返乡", "重点"]
    assert by_name["居民5"].phone_mask == "138****0005"
    assert all(p.region_path.startswith(tree.town_a1.path) for p in by_name.values())
    resident = by_name["居民4"]
    assert vault.decrypt(resident.id_number_ct, purpose=ID_PURPOSE) == _resident_id(4)
    assert resident.birth_date == dt.date(1950, 1, 5) and resident.created_at is not None
    assert resident.created_by == users["town_a1"] and resident.source == "import"


def test_insert_skips_documents_registered_meanwhile(tree: Tree, users: dict[str, User]) -> None:
    """What a concurrent import that won the race looks like to the chunk writer."""
    data = person_validate(name="甲", id_type="resident_id", id_number=_resident_id(9))
    person_build(data=data, region=tree.grid_a1, actor=None).save()
    late = person_build(data=data, region=tree.grid_a1, actor=None)
    other = person_validate(name="乙", id_type="resident_id", id_number=_resident_id(10))
    fresh = person_build(data=other, region=tree.grid_a1, actor=None)
    inserted = person_insert_values([person_values(late), person_values(fresh)])
    assert inserted in (1, None)  # None: the portable path cannot tell
    assert Person.objects.count() == 2


def test_rerun_is_safe(tree: Tree, users: dict[str, User]) -> None:
    rows, _expected = build_list(tree, good=60)
    job = run(users["town_a1"], "a.xlsx", xlsx_bytes(HEADER_ZH, rows))
    audits = AuditEvent.objects.count()
    assert import_job_run(job_id=job.pk).created_count == 60  # done: left alone
    assert AuditEvent.objects.count() == audits
    # a worker that died mid-job leaves it "running", its upload still in place (a finished
    # job's file is deleted once the finish commits); running it again is harmless
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, stored_path=f"imports/{job.pk}.xlsx"
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.existing_count, job.error_count) == (0, 60, 50)
    assert job.row_errors.count() == 50 and Person.objects.count() == 60


def test_csv_gb18030_chinese_headers(tree: Tree, users: dict[str, User]) -> None:
    header = ["序 号", "姓　名", "证件类型", "证件号码：", "联系电话（必填）", "居住地址"]
    header += ["*社区", "所属网格", "职业", "重点人群", "标签"]
    good_id = _resident_id(3)
    bad_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    lines = [
        ["东街街道返乡人员名单"],  # a title line above the header
        header,
        [1, "王芳", "居民身份证", good_id, "13912345678", "东街1号", "东一社区", "", "", "", ""],
        [2, "John Smith", "护照", "E1234567", "", "", "东一社区", "东一社区第一网格"],
        [],
        [3, "陈小明", "港澳通行证", "H12345678", "", "", tree.community_a1.code, "", "", ""],
        [4, "赵六", "身份证", bad_id, "", "", "东一社区", "", "", "", ""],
        [5, "林七", "台胞证", "T0001234", "", "", "东一社区", "", "司机", "快递外卖人员", "a、b"],
    ]
    job = run(users["town_a1"], "名单.csv", csv_bytes(lines, "gb18030"))
    assert job.status == ImportStatus.DONE, job.message
    assert (job.processed_rows, job.created_count, job.error_count) == (6, 4, 1)
    err = job.row_errors.get()
    assert (err.row, err.field) == (7, "id_number")
    types = dict(Person.objects.values_list("name", "id_type"))
    assert types == {
        "王芳": "resident_id",
        "John Smith": "passport",
        "陈小明": "hk_macau_permit",
        "林七": "taiwan_permit",
    }
    lin = Person.objects.get(name="林七")
    assert (lin.key_group, lin.tags, lin.occupation) == ("delivery", ["a", "b"], "司机")


def test_csv_english_headers_utf8_bom(tree: Tree, users: dict[str, User]) -> None:
    lines = [
        list(ENGLISH_HEADER),
        [
            "Li Lei",
            "resident_id",
            _resident_id(1),
            "+8613700000001",
            "",
            tree.community_a1.code,
            tree.grid_a1.code,
            "driver",
            "cold_chain",
            "x;y",
        ],
        ["Han Mei", "passport", "P7654321", "", "", "东一社区", "", "", "", ""],
    ]
    job = run(users["town_a1"], "list.CSV", csv_bytes(lines, "utf-8-sig"))
    assert (job.status, job.created_count, job.error_count) == ("done", 2, 0)
    assert Person.objects.get(name="Li Lei").key_group == "cold_chain"


def test_missing_required_column_fails_the_job(tree: Tree, users: dict[str, User]) -> None:
    content = xlsx_bytes(["姓名", "手机号", "所属社区"], [["张三", "13800138000", "东一社区"]])
    job = run(users["town_a1"], "a.xlsx", content)
    assert job.status == ImportStatus.FAILED
    assert "身份证号 (id_number)" in job.message and job.finished_at is not None
    no_region = run(users["town_a1"], "b.xlsx", xlsx_bytes(["姓名", "身份证号"], []))
    assert no_region.status == ImportStatus.FAILED and "community" in no_region.message
    broken = run(users["town_a1"], "c.xlsx", b"not a zip file")
    assert broken.status == ImportStatus.FAILED and "Excel" in broken.message
    assert Person.objects.count() == 0


def test_who_may_import(tree: Tree, users: dict[str, User]) -> None:
    for who in ("admin", "inspector", "lab"):
        with pytest.raises(Forbidden):
            import_job_create(actor=users[who], filename="a.xlsx", content=b"x", enqueue=False)
    with pytest.raises(FieldError):
        import_job_create(actor=users["town_a1"], filename="a.xls", content=b"x", enqueue=False)


def _upload(api: Any, name: str, content: bytes) -> Any:
    upload = SimpleUploadedFile(name, content)
    return api.client.post("/api/v1/people/imports", {"file": upload}, headers=api.headers)


def test_api_upload_poll_and_errors(
    tree: Tree, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rows, expected = build_list(tree, good=40)
    api = api_as("town_a1")
    with django_capture_on_commit_callbacks(execute=True):
        r = _upload(api, "名单.xlsx", xlsx_bytes(HEADER_ZH, rows))
    assert r.status_code == 202, r.content
    assert r.json()["status"] == "queued"
    url = f"/api/v1/people/imports/{r.json()['id']}"

    job = api.get(url).json()
    assert (job["status"], job["percent"], job["created_count"], job["error_count"]) == (
        "done",
        100,
        40,
        50,
    )
    page = api.get(f"{url}/errors", page=2, page_size=20).json()
    assert page["count"] == 50 and len(page["results"]) == 20
    assert {(e["row"], e["field"]) for e in page["results"]} <= {
        (row, field) for row, (_k, field) in expected.items()
    }
    xlsx = api.get(f"{url}/errors.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx["Content-Type"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    with translation.override("zh-hans"):  # the request's language: the default, Chinese
        assert values[0] == (_("Row"), _("Field"), _("Reason")) and len(values) == 51
    assert {v[0] for v in values[1:]} == set(expected)
    for body in (r.content, api.get(f"{url}/errors", page_size=100).content, xlsx.content):
        assert not any(str(row[3]) in body.decode("latin-1") for row in rows)

    assert api.get("/api/v1/people/imports").json()["count"] == 1
    assert api_as("city").get("/api/v1/people/imports").json()["count"] == 1
    sibling = api_as("town_a2")
    for path in (url, f"{url}/errors", f"{url}/errors.xlsx"):
        assert sibling.get(path).status_code == 404
    assert sibling.get("/api/v1/people/imports").json()["count"] == 0
    assert api.get("/api/v1/people/imports/00000000-0000-0000-0000-000000000000").status_code == 404


def test_api_refuses_roles_without_people(tree: Tree, api_as: Any) -> None:
    r = _upload(api_as("admin"), "a.xlsx", xlsx_bytes(HEADER_ZH, []))
    assert r.status_code == 403
    r = _upload(api_as("town_a1"), "a.xls", b"x")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "file"


def test_task_through_database_backend(
    tree: Tree, users: dict[str, User], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    rows = [_good_row(i, tree) for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(
            actor=users["town_a1"], filename="a.xlsx", content=xlsx_bytes(HEADER_ZH, rows)
        )
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "fangkong.people.tasks.run_import"
    # what `fangkong db_worker` does with it (the worker itself closes the test's connection)
    args = queued.args_kwargs
    import_string(queued.task_path).call(*args["args"], **args["kwargs"])
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 5)


def test_cli_import(tree: Tree, users: dict[str, User], tmp_path: Path) -> None:
    rows, _expected = build_list(tree, good=30)
    path = tmp_path / "名单.xlsx"
    path.write_bytes(xlsx_bytes(HEADER_ZH, rows))
    out = io.StringIO()
    call_command("import_people", str(path), "--as", "town_a1", stdout=out)
    assert Person.objects.count() == 30
    report = tmp_path / "名单.errors.xlsx"
    sheet = openpyxl.load_workbook(report).active
    assert sheet is not None and sheet.max_row == 51
    assert "30" in out.getvalue()

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes(["姓名"], [["张三"]]))
    with pytest.raises(CommandError, match="id_number"):
        call_command("import_people", str(bad), "--as", "town_a1", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("import_people", str(path), "--as", "nobody", stdout=io.StringIO())


def _without_dimension(content: bytes) -> bytes:
    """The same workbook as some non-Excel writers produce it: no <dimension> element."""
    src, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
            dst.writestr(item, data)
    return out.getvalue()


def test_progress_total_without_declared_dimension(
    tree: Tree, users: dict[str, User], monkeypatch: Any
) -> None:
    monkeypatch.setattr("fangkong.people.services.imports.CHUNK_ROWS", 25)
    rows = [_good_row(i, tree) for i in range(120)]
    content = _without_dimension(xlsx_bytes(HEADER_ZH, rows))
    seen: list[tuple[int, int]] = []
    job = import_job_create(
        actor=users["town_a1"], filename="a.xlsx", content=content, enqueue=False
    )
    job = import_job_run(job_id=job.pk, progress=lambda c: seen.append((c.processed, c.total)))
    assert seen == [(25, 120), (50, 120), (75, 120), (100, 120), (120, 120)]
    assert job.created_count == 120


def _with_shared_strings(content: bytes) -> bytes:
    """Rewrite openpyxl's inline strings into a shared-string table, the way Excel saves."""
    strings: dict[str, int] = {}

    def share(m: re.Match[str]) -> str:
        index = strings.setdefault(m.group(2), len(strings))
        return f'<c r="{m.group(1)}" t="s"><v>{index}</v></c>'

    inline = re.compile(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>(.*?)</t></is></c>', re.S)
    src, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    main = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item).decode()
            if item.filename.startswith("xl/worksheets/sheet"):
                data = inline.sub(share, data)
            elif item.filename == "[Content_Types].xml":
                kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
                data = data.replace(
                    "</Types>",
                    f'<Override PartName="/xl/sharedStrings.xml" '
                    f'ContentType="{kind}.sharedStrings+xml"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    "</Relationships>",
                    f'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="{main}/'
                    'officeDocument/2006/relationships/sharedStrings"/></Relationships>',
                )
            dst.writestr(item, data)
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)
        dst.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{main}/spreadsheetml/2006/main" count="{len(strings)}">{items}</sst>',
        )
    return out.getvalue()


def test_lean_xlsx_reader_matches_openpyxl(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "身份证号", "数字", "小数", "日期", "是否", "公式"])
    ws.append(["张三", "110105194912310021", 13800138000, 2.5, dt.datetime(2022, 4, 1), True])
    ws["G2"] = "=1+1"
    ws["C5"] = "隔行"  # rows 3 and 4 are missing from the XML
    ws["K6"] = 7  # a far column leaves a gap of empty cells
    ws.append([None, None, "x & <y>"])
    for name, content in (
        ("inline.xlsx", _save(wb)),
        ("shared.xlsx", _with_shared_strings(_save(wb))),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        with open_table(path, lean=True) as (rows, total):
            lean = [tuple(row) for row in rows]
        with open_table(path, lean=False) as (rows, _total):
            reference = [tuple(row) for row in rows]  # openpyxl gives [] for a missing row
        assert lean == reference and len(lean) == total == 7
        assert lean[1][:4] == ("张三", "110105194912310021", 13800138000, 2.5)


def test_worker_processes_give_the_same_result(
    tree: Tree, users: dict[str, User], settings: Any
) -> None:
    """The parallel path (large files) agrees with the in-process one, row for row."""
    rows, expected = build_list(tree, good=300)
    content = xlsx_bytes(HEADER_ZH, rows)
    settings.IMPORT_WORKERS, settings.IMPORT_PARALLEL_MIN_ROWS = 2, 1
    job = run(users["town_a1"], "a.xlsx", content)
    assert (job.status, job.created_count, job.error_count) == ("done", 300, 50), job.message
    parallel = sorted(job.row_errors.values_list("row", "field", "reason"))
    stored = sorted(Person.objects.values_list("name", "id_number_bidx", "region_id", "tags"))
    Person.objects.all().delete()
    settings.IMPORT_WORKERS = 0
    serial = run(users["town_a1"], "a.xlsx", content)
    assert serial.created_count == 300
    assert sorted(serial.row_errors.values_list("row", "field", "reason")) == parallel
    assert sorted(Person.objects.values_list("name", "id_number_bidx", "region_id", "tags")) == (
        stored
    )
    assert {row for row, _f, _r in parallel} == set(expected)
