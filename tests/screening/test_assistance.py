"""Assistance requests (协查): a list from another jurisdiction is matched, assigned to towns,
given deadlines and screening records; bad rows are reported with row, field and reason."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.core.models import AuditEvent, User
from fangkong.people.models import Person
from fangkong.screening.assistance_layout import COLUMNS, layout_workbook, map_header
from fangkong.screening.models import (
    AssistanceItem,
    AssistanceRequest,
    AssistanceRowError,
    ScreeningRecord,
)
from fangkong.screening.services import assistance
from tests.factories import Tree, make_person
from tests.factories.screening import ensure_default_rules, local, resident_ids, sheet_bytes

HEADER = [zh for _f, zh, _en in COLUMNS]
ENGLISH = [en for _f, _zh, en in COLUMNS]


@pytest.fixture(autouse=True)
def _seeded(db: Any, settings: Any, tmp_path: Any) -> None:
    ensure_default_rules()
    settings.DATA_DIR = tmp_path  # stored uploads go here, not into var/


def _places(tree: Tree) -> list[tuple[tuple[str, str, str], Any]]:
    """(district, town, community) as a list might name them, and the town it belongs to."""
    return [
        (("", "", "东一社区"), tree.town_a1),
        (("东城区", "南街街道", ""), tree.town_a2),
        (("", "", tree.community_b1.code), tree.town_b1),
        (("西城区", "西街街道", "西一社区"), tree.town_b1),
        (("", tree.town_a1.code, ""), tree.town_a1),
    ]


def _big_list(tree: Tree) -> tuple[bytes, dict[int, Any], set[int]]:
    """500 rows: 480 good ones spread over the towns, 20 bad ones. Returns the file, the
    expected town of each good row (by sheet row number) and the bad row numbers."""
    ids = resident_ids(500)
    places = _places(tree)
    rows, expected, bad = [], {}, set()
    for i in range(500):
        row_no = i + 2  # row 1 is the header
        (district, town, community), target = places[i % len(places)]
        row = [
            f"人员{i}",
            ids[i],
            f"139{i:08d}",
            f"某路{i}号",
            district,
            town,
            community,
            "密接",
            "",
        ]
        if i % 25 == 7:  # 20 bad rows of four kinds
            kind = (i // 25) % 4
            if kind == 0:
                row[1] = ids[i][:-1] + ("0" if ids[i][-1] != "0" else "1")  # wrong checksum
            elif kind == 1:
                row[0] = ""  # no name
            elif kind == 2:
                row[2] = "12345"  # not a phone number
            else:
                row[1] = ids[i - 1]  # the same document as the row before
            bad.add(row_no)
        else:
            expected[row_no] = target
        rows.append(row)
    return sheet_bytes(HEADER, rows), expected, bad


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(local(2022, 5, 10, 10, 0), tick=False) as traveller:
        yield traveller


def _import(user: User, content: bytes, **info: Any) -> Any:
    return assistance.assistance_import(
        actor=user,
        info=assistance.RequestInfo(
            from_jurisdiction=info.get("source", "上海市浦东新区疫情防控指挥部"),
            reference_number=info.get("reference", "沪浦协〔2022〕118号"),
            received_at=info.get("received_at"),
            deadline=info.get("deadline"),
        ),
        filename="协查名单.xlsx",
        content=content,
    )


def test_500_rows_with_20_bad_assigns_480_to_the_right_towns(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    content, expected, bad = _big_list(tree)
    request = _import(users["city"], content, deadline=local(2022, 5, 11, 10, 0))

    assert request.total_rows == 500
    assert request.assigned_count == 480
    assert request.unplaced_count == 0
    assert request.error_count == 20
    errors = list(AssistanceRowError.objects.filter(request=request))
    assert {e.row for e in errors} == bad
    assert {e.field for e in errors} == {"id_number", "name", "phone"}
    assert any("duplicate of row" in e.reason or "重复" in e.reason for e in errors)

    items = {i.row: i for i in AssistanceItem.objects.filter(request=request)}
    assert set(items) == set(expected)
    for row_no, town in expected.items():
        assert items[row_no].town_id == town.pk, row_no
        assert items[row_no].placed
        assert items[row_no].deadline == local(2022, 5, 11, 10, 0)
    # rows naming a community are worked in that community, the rest in their town
    assert items[2].region_id == tree.community_a1.pk
    assert items[3].region_id == tree.town_a2.pk
    assert Person.objects.count() == 480
    records = ScreeningRecord.objects.filter(source="assistance_request")
    assert records.count() == 480
    assert set(records.values_list("status", flat=True)) == {"pending"}
    assert not records.filter(person__isnull=True).exists()
    audit = AuditEvent.objects.get(action="assistance.import")
    assert audit.details["assigned"] == 480 and audit.details["errors"] == 20


def test_towns_see_their_own_rows_only(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any
) -> None:
    content, expected, _bad = _big_list(tree)
    request = _import(users["city"], content)
    mine = sum(1 for t in expected.values() if t.pk == tree.town_a1.pk)
    theirs = sum(1 for t in expected.values() if t.pk == tree.town_a2.pk)

    town = api_as("town_a1")
    listed = town.get("/api/v1/screening/screenings", source="assistance_request", page_size=200)
    assert listed.json()["count"] == mine
    items = town.get(f"/api/v1/screening/assistance-requests/{request.pk}/items", page_size=500)
    assert items.json()["count"] == mine
    assert {i["town_code"] for i in items.json()["results"]} == {tree.town_a1.code}
    # the request itself belongs to the city that imported it
    assert town.get(f"/api/v1/screening/assistance-requests/{request.pk}").status_code == 404
    assert (
        town.get(f"/api/v1/screening/assistance-requests/{request.pk}/errors.xlsx").status_code
        == 404
    )

    sibling = api_as("town_a2")
    assert (
        sibling.get("/api/v1/screening/screenings", source="assistance_request").json()["count"]
        == theirs
    )
    record = ScreeningRecord.objects.filter(destination_path__startswith=tree.town_a1.path).first()
    assert record is not None
    assert sibling.get(f"/api/v1/screening/screenings/{record.pk}").status_code == 404


def test_unplaceable_rows_stay_in_the_importers_queue(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    ids = resident_ids(4, seed=11)
    content = sheet_bytes(
        ENGLISH,  # English headers work as well
        [
            ["甲", ids[0], "", "", "", "", "不存在社区", "", ""],
            ["乙", ids[1], "", "", "西城区", "东街街道", "", "", ""],  # town not in that district
            ["丙", ids[2], "", "", "", "", "", "", ""],  # no region at all
            ["丁", ids[3], "", "", "", "", tree.community_a2.name, "", ""],
        ],
    )
    request = _import(users["district_a"], content)
    assert (request.assigned_count, request.unplaced_count, request.error_count) == (1, 3, 0)
    queued = AssistanceItem.objects.filter(request=request, placed=False)
    assert queued.count() == 3
    assert set(queued.values_list("region_id", flat=True)) == {tree.district_a.pk}
    assert set(queued.values_list("town_id", flat=True)) == {None}
    # a district cannot place rows in another district: 西城区 is outside district A
    placed = AssistanceItem.objects.get(request=request, placed=True)
    assert placed.town_id == tree.town_a2.pk


def test_existing_persons_are_matched_not_duplicated(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    ids = resident_ids(2, seed=5)
    known = make_person(tree.grid_b1, name="老住户", id_number=ids[0])
    content = sheet_bytes(
        HEADER,
        [
            ["老住户", ids[0], "", "", "", "", "东一社区", "次密接", "已核实"],
            ["新人员", ids[1], "", "", "", "", "东一社区", "", ""],
        ],
    )
    request = _import(users["city"], content)
    assert request.created_persons == 1
    assert Person.objects.count() == 2
    item = AssistanceItem.objects.get(request=request, row=2)
    assert item.person_id == known.pk
    record = ScreeningRecord.objects.get(assistance_item=item)
    assert record.person_id == known.pk and record.note == "次密接 已核实"


def test_deadline_defaults_to_24_hours(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    content = sheet_bytes(HEADER, [["甲", resident_ids(1)[0], "", "", "", "", "东一社区", "", ""]])
    request = _import(users["city"], content, received_at=local(2022, 5, 10, 8, 0))
    assert request.deadline == local(2022, 5, 11, 8, 0)
    assert AssistanceItem.objects.get().deadline == request.deadline


def test_whole_file_problems(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    from fangkong.core.http import Forbidden
    from fangkong.core.validators import FieldError

    with pytest.raises(FieldError) as missing:
        _import(users["city"], sheet_bytes(["姓名", "手机号"], [["甲", "13900000000"]]))
    assert missing.value.field == "file"
    with pytest.raises(FieldError):
        _import(users["city"], b"not a workbook")
    with pytest.raises(FieldError) as no_source:
        _import(users["city"], sheet_bytes(HEADER, []), source=" ")
    assert no_source.value.field == "from_jurisdiction"
    for who in ("admin", "inspector", "lab"):
        with pytest.raises(Forbidden):
            _import(users[who], sheet_bytes(HEADER, []))
    assert AssistanceItem.objects.count() == 0


def test_api_import_and_error_report(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any, run_file_jobs: Any
) -> None:
    content, _expected, bad = _big_list(tree)
    client = api_as("city")
    response = client.client.post(
        "/api/v1/screening/assistance-requests",
        {
            "file": SimpleUploadedFile("list.xlsx", content),
            "from_jurisdiction": "上海市浦东新区",
            "reference_number": "沪浦协〔2022〕118号",
            "deadline": "2022-05-11T10:00:00+08:00",
        },
        headers=client.headers,
    )
    # the request stores the list; the worker reads it
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued" and not AssistanceRequest.objects.exists()
    run_file_jobs()
    job = client.get(f"/api/v1/jobs/{response.json()['id']}").json()
    assert job["status"] == "done", job
    assert (job["result"]["assigned_count"], job["result"]["error_count"]) == (480, 20)
    assert api_as("district_b").get(f"/api/v1/jobs/{job['id']}").status_code == 404
    found = client.get(f"/api/v1/screening/assistance-requests/{job['result']['request_id']}")
    body = found.json()
    assert (body["assigned_count"], body["error_count"]) == (480, 20)
    towns = {t["town_code"]: t["count"] for t in body["towns"]}
    assert sum(towns.values()) == 480 and set(towns) == {
        tree.town_a1.code,
        tree.town_a2.code,
        tree.town_b1.code,
    }
    errors = client.get(f"/api/v1/screening/assistance-requests/{body['id']}/errors")
    assert errors.json()["count"] == 20
    xlsx = client.get(f"/api/v1/screening/assistance-requests/{body['id']}/errors.xlsx")
    assert xlsx.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 21 and {r[0] for r in rows[1:]} == bad
    assert "list.xlsx" not in xlsx["Content-Disposition"]
    listed = client.get("/api/v1/screening/assistance-requests")
    assert listed.json()["count"] == 1
    assert api_as("district_b").get("/api/v1/screening/assistance-requests").json()["count"] == 0


def test_layout_round_trip(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    """What we export in the layout, the importer reads back unchanged."""
    ids = resident_ids(2, seed=9)
    data = layout_workbook(
        [
            {"name": "甲", "id_number": ids[0], "phone": 13900001111, "community": "东一社区"},
            {"name": "乙", "id_number": ids[1], "town": "南街街道", "risk_type": "密接"},
        ]
    )
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws is not None
    header = next(ws.iter_rows(values_only=True))
    assert list(header) == HEADER
    assert set(map_header(header)) == {f for f, _zh, _en in COLUMNS}
    request = _import(users["city"], data)
    assert (request.assigned_count, request.error_count) == (2, 0)
    towns = set(AssistanceItem.objects.values_list("town__code", flat=True))
    assert towns == {tree.town_a1.code, tree.town_a2.code}


def test_confirming_an_assistance_record_uses_its_person(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    from fangkong.screening.services import arrivals as services

    content = sheet_bytes(HEADER, [["甲", resident_ids(1)[0], "", "", "", "", "东一社区", "", ""]])
    _import(users["city"], content)
    record = ScreeningRecord.objects.get()
    confirmed = services.screening_confirm(actor=users["town_a1"], record=record)
    assert confirmed.person_id == record.person_id
    assert Person.objects.count() == 1
    assert confirmed.status == "classified"
    assert dt.date(2022, 5, 10) == confirmed.decided_at.astimezone(local(2022, 1, 1).tzinfo).date()


def test_import_command(tree: Tree, users: dict[str, User], frozen: Any, tmp_path: Any) -> None:
    from django.core.management import call_command

    path = tmp_path / "list.xlsx"
    ids = resident_ids(2, seed=31)
    path.write_bytes(
        sheet_bytes(
            HEADER,
            [
                ["甲", ids[0], "", "", "", "", "东一社区", "", ""],
                ["乙", "1", "", "", "", "", "", "", ""],
            ],
        )
    )
    out = io.StringIO()
    call_command("import_assistance", str(path), "--as", "city", "--from", "上海市", stdout=out)
    assert AssistanceItem.objects.count() == 1
    assert (tmp_path / "list.errors.xlsx").exists()


def test_list_endpoints_query_counts(
    tree: Tree,
    users: dict[str, User],
    api_as: Any,
    frozen: Any,
    django_assert_num_queries: Any,
) -> None:
    content, _expected, _bad = _big_list(tree)
    request = _import(users["city"], content)
    _import(users["city"], sheet_bytes(HEADER, [["甲", resident_ids(1, seed=77)[0]]]))
    client = api_as("city")
    with django_assert_num_queries(3):  # token, count, page with region and importer
        listed = client.get("/api/v1/screening/assistance-requests")
    assert listed.json()["count"] == 2
    with django_assert_num_queries(3):  # token, count, page with person, region, town, record
        items = client.get(
            f"/api/v1/screening/assistance-requests/{request.pk}/items", page_size=200
        )
    assert items.json()["count"] == 480 and len(items.json()["results"]) == 200
    with django_assert_num_queries(4):  # token, the request, count, page
        errors = client.get(f"/api/v1/screening/assistance-requests/{request.pk}/errors")
    assert errors.json()["count"] == 20
