"""Risk areas and zones: history kept on every change, writes by command office and districts
only, xlsx import with row errors, scoping of zones, and the API with exact query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import User
from fangkong.core.validators import FieldError
from fangkong.screening.models import RiskArea, Zone
from fangkong.screening.services import areas
from tests.factories import Tree
from tests.factories.screening import ensure_default_rules, local, make_area, sheet_bytes

BASE = "/api/v1/screening"
NOW = local(2022, 5, 10, 10, 0)


@pytest.fixture(autouse=True)
def _seeded(db: Any) -> None:
    ensure_default_rules()


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _data(**kw: Any) -> areas.AreaData:
    base = {"name": "上海市浦东新区", "division_code": "310115", "level": "medium"}
    base.update(kw)
    return areas.risk_area_validate(**base)


def test_revision_closes_the_old_row_and_keeps_it(users: dict[str, User], frozen: Any) -> None:
    first = areas.risk_area_create(actor=users["city"], data=_data(valid_from=local(2022, 5, 1)))
    second = areas.risk_area_revise(
        actor=users["city"], area=first, data=_data(level="high", valid_from=NOW)
    )
    first.refresh_from_db()
    assert first.valid_to == NOW and first.level == "medium"
    assert second.previous_id == first.pk and second.level == "high"
    assert RiskArea.objects.count() == 2
    with pytest.raises(Conflict):  # only the latest version can be revised
        areas.risk_area_revise(actor=users["city"], area=first, data=_data(valid_from=NOW))
    closed = areas.risk_area_close(actor=users["city"], area=second, at=local(2022, 5, 12))
    assert closed.valid_to == local(2022, 5, 12)
    with pytest.raises(Conflict):
        areas.risk_area_close(actor=users["city"], area=second, at=local(2022, 5, 13))


def test_only_the_city_command_office_changes_city_wide_risk_areas(
    users: dict[str, User], frozen: Any
) -> None:
    # Risk areas classify every district's arrivals: a district may not create, revise, close
    # or import them (it could re-classify arrivals of all its siblings).
    for who in ("district_a", "town_a1", "community_a1", "admin", "inspector"):
        with pytest.raises(Forbidden):
            areas.risk_area_create(actor=users[who], data=_data())
    area = make_area(code="310115")
    for who in ("district_a", "town_a1"):
        with pytest.raises(Forbidden):
            areas.risk_area_close(actor=users[who], area=area)
        with pytest.raises(Forbidden):
            areas.risk_area_revise(actor=users[who], area=area, data=_data(level="low"))
    content = sheet_bytes(["Area code", "Area name", "Risk level"], [["310115", "Pudong", "high"]])
    with pytest.raises(Forbidden):
        areas.risk_areas_import(actor=users["district_a"], filename="x.xlsx", content=content)


def test_validation(frozen: Any, db: Any) -> None:
    with pytest.raises(FieldError) as code:
        _data(division_code="31011")
    assert code.value.field == "division_code"
    with pytest.raises(FieldError) as level:
        _data(level="extreme")
    assert level.value.field == "level"
    with pytest.raises(FieldError) as period:
        _data(valid_from=local(2022, 5, 2), valid_to=local(2022, 5, 1))
    assert period.value.field == "valid_to"
    with pytest.raises(FieldError):
        _data(name="", division_code="")
    assert _data(name="", division_code="310115").name == "310115"


def test_import_with_row_errors_and_revisions(users: dict[str, User], frozen: Any) -> None:
    make_area(code="310115", name="上海市浦东新区", level="medium", valid_from=local(2022, 5, 1))
    content = sheet_bytes(
        ["地区代码", "地区名称", "风险等级", "开始时间", "结束时间"],
        [
            ["310115", "上海市浦东新区", "高风险", "2022-05-10 08:00", ""],  # revises the medium
            ["320102", "南京市玄武区", "中风险", dt.datetime(2022, 5, 8, 12, 0), None],
            ["", "南京南站候车厅", "病例活动场所", "2022年5月5日", ""],
            ["3201", "错误代码", "高", "", ""],  # bad code
            ["440305", "深圳市南山区", "极高", "", ""],  # bad level
            ["440306", "深圳市宝安区", "高", "昨天", ""],  # bad date
            ["440307", "深圳市龙岗区", "高", "2022-05-09", "2022-05-01"],  # ends before it starts
            ["", "", "", "", ""],  # blank line
        ],
    )
    report = areas.risk_areas_import(actor=users["city"], filename="风险地区.xlsx", content=content)
    assert (report.rows, report.created, report.revised, report.unchanged) == (7, 2, 1, 0)
    assert [(row, field) for row, field, _why in report.errors] == [
        (5, "division_code"),
        (6, "level"),
        (7, "valid_from"),
        (8, "valid_to"),
    ]
    current = RiskArea.objects.get(division_code="310115", next_version__isnull=True)
    assert current.level == "high" and current.valid_from == local(2022, 5, 10, 8)
    assert current.previous is not None and current.previous.valid_to == local(2022, 5, 10, 8)
    assert RiskArea.objects.get(name="南京南站候车厅").kind == "case_place"
    # importing the same list again changes nothing
    again = areas.risk_areas_import(actor=users["city"], filename="a.xlsx", content=content)
    assert (again.created, again.revised, again.unchanged) == (0, 0, 3)


def test_import_english_headers_and_bad_files(users: dict[str, User], frozen: Any) -> None:
    content = sheet_bytes(
        ["Area code", "Area name", "Risk level", "Start", "End"],
        [["310115", "Pudong", "high", "2022-05-01", ""]],
    )
    report = areas.risk_areas_import(actor=users["city"], filename="x.xlsx", content=content)
    assert report.created == 1 and not report.errors
    with pytest.raises(FieldError) as no_columns:
        areas.risk_areas_import(
            actor=users["city"], filename="x.xlsx", content=sheet_bytes(["名称"], [["x"]])
        )
    assert no_columns.value.field == "file"
    with pytest.raises(FieldError):
        areas.risk_areas_import(actor=users["city"], filename="x.pdf", content=b"%PDF")
    with pytest.raises(Forbidden):
        areas.risk_areas_import(actor=users["town_a1"], filename="x.xlsx", content=content)


def test_risk_area_api(
    users: dict[str, User],
    api_as: Any,
    frozen: Any,
    django_assert_num_queries: Any,
    run_file_jobs: Any,
) -> None:
    city = api_as("city")
    created = city.post(
        f"{BASE}/risk-areas",
        {"division_code": "310115", "name": "上海市浦东新区", "level": "high", "source": "通告1"},
    )
    assert created.status_code == 201
    area_id = created.json()["id"]
    revised = city.post(
        f"{BASE}/risk-areas/{area_id}/revise",
        {
            "division_code": "310115",
            "name": "上海市浦东新区",
            "level": "medium",
            "valid_from": "2022-05-10T12:00:00+08:00",
        },
    )
    assert revised.status_code == 201 and revised.json()["previous_id"] == area_id
    make_area(code="110105", level="medium", valid_from=local(2022, 4, 1))
    make_area(code="110106", level="high", valid_from=local(2022, 4, 1), valid_to=local(2022, 5, 1))

    town = api_as("town_a1")  # everyone on the staff reads the list; only writers change it
    with django_assert_num_queries(3):  # token, count, page
        listed = town.get(f"{BASE}/risk-areas")
    assert {a["division_code"] for a in listed.json()["results"]} == {"310115", "110105"}
    history = town.get(f"{BASE}/risk-areas", history="true")
    assert history.json()["count"] == 4
    assert town.get(f"{BASE}/risk-areas", level="high").json()["count"] == 1
    assert town.get(f"{BASE}/risk-areas", q="1101").json()["count"] == 1
    assert town.post(f"{BASE}/risk-areas", {"name": "x", "level": "high"}).status_code == 403
    assert town.post(f"{BASE}/risk-areas/{area_id}/close", {}).status_code == 403
    later = city.post(
        f"{BASE}/risk-areas/{revised.json()['id']}/close", {"at": "2022-05-11T00:00:00+08:00"}
    )
    assert later.status_code == 200 and later.json()["valid_to"].startswith("2022-05-11")

    upload = city.client.post(
        f"{BASE}/risk-areas/import",
        {
            "file": SimpleUploadedFile(
                "a.xlsx",
                sheet_bytes(
                    ["地区代码", "地区名称", "风险等级"],
                    [["440305", "深圳市南山区", "中"], ["1", "x", "高"]],
                ),
            )
        },
        headers=city.headers,
    )
    assert upload.status_code == 202 and upload.json()["kind"] == "risk_areas"
    run_file_jobs()
    job = city.get(f"/api/v1/jobs/{upload.json()['id']}").json()
    assert job["status"] == "done", job
    assert job["result"]["created"] == 1
    assert job["result"]["errors"][0]["row"] == 3


def test_zones_are_scoped_and_keep_history(
    tree: Tree, users: dict[str, User], api_as: Any, frozen: Any, django_assert_num_queries: Any
) -> None:
    district = api_as("district_a")
    made = district.post(
        f"{BASE}/zones",
        {"name": "东一社区封控区", "kind": "lockdown", "grid_codes": [tree.grid_a1.code]},
    )
    assert made.status_code == 201, made.content
    zone = made.json()
    # the zone belongs to the lowest region holding all its grids: the grid's own branch
    assert zone["region_code"] == tree.grid_a1.code
    assert zone["grid_codes"] == [tree.grid_a1.code]
    wide = district.post(
        f"{BASE}/zones",
        {
            "name": "东城区防范区",
            "kind": "precaution",
            "grid_codes": [tree.grid_a1.code, tree.grid_a2.code],
        },
    )
    assert wide.json()["region_code"] == tree.district_a.code
    outside = district.post(
        f"{BASE}/zones", {"name": "x", "kind": "control", "grid_codes": [tree.grid_b1.code]}
    )
    assert outside.status_code == 422
    polygon = district.post(
        f"{BASE}/zones",
        {
            "name": "南街管控区",
            "kind": "control",
            "region_code": tree.town_a2.code,
            "polygon": {
                "type": "Polygon",
                "coordinates": [[[116.3, 39.9], [116.31, 39.9], [116.31, 39.91], [116.3, 39.9]]],
            },
        },
    )
    assert polygon.status_code == 201 and polygon.json()["region_code"] == tree.town_a2.code
    assert (
        api_as("town_a1")
        .post(f"{BASE}/zones", {"name": "x", "kind": "control", "grid_codes": [tree.grid_a1.code]})
        .status_code
        == 403
    )

    town = api_as("town_a1")
    with django_assert_num_queries(4):  # token, count, page, grids
        listed = town.get(f"{BASE}/zones")
    assert [z["name"] for z in listed.json()["results"]] == ["东一社区封控区"]
    assert town.get(f"{BASE}/zones/{polygon.json()['id']}").status_code == 404
    assert api_as("town_a2").get(f"{BASE}/zones/{zone['id']}").status_code == 404
    assert api_as("district_b").get(f"{BASE}/zones").json()["count"] == 0

    revised = district.post(
        f"{BASE}/zones/{zone['id']}/revise",
        {
            "name": "东一社区管控区",
            "kind": "control",
            "grid_codes": [tree.grid_a1.code],
            "valid_from": "2022-05-10T12:00:00+08:00",
        },
    )
    assert revised.status_code == 201 and revised.json()["previous_id"] == zone["id"]
    old = Zone.objects.get(pk=zone["id"])
    assert old.kind == "lockdown" and old.valid_to == local(2022, 5, 10, 12)
    closed = district.post(
        f"{BASE}/zones/{revised.json()['id']}/close", {"at": "2022-05-20T00:00:00+08:00"}
    )
    assert closed.status_code == 200


def test_import_command(users: dict[str, User], frozen: Any, tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "areas.xlsx"
    path.write_bytes(
        sheet_bytes(
            ["地区代码", "地区名称", "风险等级"], [["310115", "浦东", "高"], ["x", "y", "z"]]
        )
    )
    out = StringIO()
    call_command("import_risk_areas", str(path), "--as", users["city"].username, stdout=out)
    assert RiskArea.objects.filter(division_code="310115").count() == 1
    assert "3" in out.getvalue()  # the rejected row is listed
