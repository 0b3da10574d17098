"""Screening pages: the town inbox (scoped, counts, filters), confirm / reject from the record
page, the staff entry form, the rule editor (command office only), risk-area, zone and
assistance pages, and every page refusing the sibling town."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fangkong.core.models import User
from fangkong.screening.models import ClassificationRule, RiskArea, ScreeningRecord
from tests.clients import page_client
from tests.factories import Tree, make_resident_id
from tests.factories.screening import (
    ensure_default_rules,
    local,
    make_area,
    make_screening,
    resident_ids,
    sheet_bytes,
)


@pytest.fixture(autouse=True)
def _seeded(db: Any, settings: Any, tmp_path: Any) -> None:
    ensure_default_rules()
    settings.DATA_DIR = tmp_path  # stored uploads go here, not into var/


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(local(2022, 5, 10, 10, 0), tick=False) as traveller:
        yield traveller


def test_inbox_is_scoped_and_counts(
    tree: Tree, users: dict[str, User], frozen: Any, django_assert_max_num_queries: Any
) -> None:
    mine = make_screening(users["town_a1"], tree.community_a1, name="本镇人员")
    make_screening(users["town_a1"], tree.grid_a1, name="网格人员", source="door_to_door")
    theirs = make_screening(users["town_a2"], tree.community_a2, name="邻镇人员")

    page = page_client(users["town_a1"]).get("/screening/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "本镇人员" in body and "网格人员" in body and "邻镇人员" not in body
    assert page.context["counts"]["pending"] == 2
    assert {k: n for k, _label, n in page.context["pending_sources"]} == {
        "checkpoint": 1,
        "door_to_door": 1,
    }

    sibling = page_client(users["town_a2"])
    assert "本镇人员" not in sibling.get("/screening/?status=").content.decode()
    assert sibling.get(f"/screening/{mine.pk}/").status_code == 404
    assert sibling.post(f"/screening/{mine.pk}/confirm/").status_code == 404
    assert sibling.post(f"/screening/{mine.pk}/reject/", {"reason": "不是本镇"}).status_code == 404
    mine.refresh_from_db()
    assert mine.status == "pending"
    assert sibling.get(f"/screening/{theirs.pk}/").status_code == 200

    # filters by source and status, as a full page and as the htmx fragment
    client = page_client(users["town_a1"])
    filtered = client.get("/screening/", {"status": "pending", "source": "door_to_door"})
    assert filtered.context["count"] == 1
    fragment = client.get("/screening/", {"status": ""}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()


def test_confirm_from_the_record_page_shows_the_measure(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    make_area(code="310115", name="上海市浦东新区", level="high")
    record = make_screening(
        users["town_a1"], tree.community_a1, origin_code="310115", arrival_at=local(2022, 5, 9, 20)
    )
    client = page_client(users["town_a1"])
    detail = client.get(f"/screening/{record.pk}/")
    assert 'data-testid="confirm"' in detail.content.decode()
    done = client.post(f"/screening/{record.pk}/confirm/")
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert 'data-testid="measure"' in page
    assert "2022-05-10" in page and "2022-05-19" in page
    again = client.post(f"/screening/{record.pk}/confirm/")
    assert again.status_code == 409


def test_reject_needs_a_reason(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    record = make_screening(users["town_a1"], tree.community_a1)
    client = page_client(users["town_a1"])
    assert client.post(f"/screening/{record.pk}/reject/", {"reason": ""}).status_code == 422
    assert client.post(f"/screening/{record.pk}/reject/", {"reason": "重复报备"}).status_code == 302
    record.refresh_from_db()
    assert record.status == "rejected"


def test_staff_entry_form(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    client = page_client(users["town_a1"])
    form = client.get("/screening/new/")
    assert form.status_code == 200
    options = form.context["form"].fields["destination"].choices
    codes = {code for code, _label in options}
    assert tree.community_a1.code in codes and tree.community_a2.code not in codes
    data = {
        "source": "checkpoint",
        "destination": tree.community_a1.code,
        "name": "孙八",
        "id_type": "resident_id",
        "id_number": make_resident_id(),
        "phone": "",
        "origin_place": "南京市",
        "arrival_at": "2022-05-10T08:00",
        "route_text": "2022/5/8 320102 南京市玄武区",
    }
    bad = client.post("/screening/new/", {**data, "destination": tree.community_a2.code})
    assert bad.status_code == 422 and "destination" in bad.context["form"].errors
    created = client.post("/screening/new/", data)
    assert created.status_code == 302
    record = ScreeningRecord.objects.get(name="孙八")
    assert record.route == [{"date": "2022-05-08", "code": "320102", "place": "南京市玄武区"}]
    assert record.created_by_id == users["town_a1"].pk


def test_rule_editor_is_for_the_command_office(users: dict[str, User], db: Any) -> None:
    rule = ClassificationRule.objects.get(origin_level="high")
    town = page_client(users["town_a1"])
    assert town.get("/screening/rules/").status_code == 200  # everyone reads the table
    assert town.get(f"/screening/rules/{rule.pk}/").status_code == 403
    assert town.post(f"/screening/rules/{rule.pk}/", {"name": "x"}).status_code == 403

    city = page_client(users["city"])
    page = city.get(f"/screening/rules/{rule.pk}/")
    assert page.status_code == 200
    initial = page.context["form"].initial
    data = {
        **{k: v for k, v in initial.items() if v not in (None, False, [])},
        "within_days": 14,
        "valid_from": "2022-01-01T00:00",
        "active": "on",
    }
    saved = city.post(f"/screening/rules/{rule.pk}/", data)
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else ""
    rule.refresh_from_db()
    assert rule.within_days == 14 and rule.version == 2
    new = city.post(
        "/screening/rules/new/",
        {
            "priority": 40,
            "name": "药店购药人员",
            "sources": ["pharmacy"],
            "plan_key": "tests_3_in_3",
            "valid_from": "2022-01-01T00:00",
            "active": "on",
        },
    )
    assert new.status_code == 302
    assert ClassificationRule.objects.get(priority=40).sources == ["pharmacy"]


def test_risk_area_pages(users: dict[str, User], frozen: Any, run_file_jobs: Any) -> None:
    make_area(code="310115", name="上海市浦东新区", level="high")
    town = page_client(users["town_a1"])
    page = town.get("/screening/risk-areas/")
    assert page.status_code == 200 and "上海市浦东新区" in page.content.decode()
    assert town.post("/screening/risk-areas/", {"name": "x", "level": "high"}).status_code == 403

    city = page_client(users["city"])
    added = city.post(
        "/screening/risk-areas/",
        {"division_code": "320102", "name": "南京市玄武区", "level": "medium", "kind": "area"},
    )
    assert added.status_code == 302
    area = RiskArea.objects.get(division_code="320102")
    revised = city.post(
        f"/screening/risk-areas/{area.pk}/revise/",
        {
            "division_code": "320102",
            "name": "南京市玄武区",
            "level": "high",
            "kind": "area",
            "valid_from": "2022-05-10T12:00",
        },
    )
    assert revised.status_code == 302
    assert RiskArea.objects.filter(division_code="320102").count() == 2
    history = city.get(f"/screening/risk-areas/{area.pk}/revise/")
    assert len(history.context["versions"]) == 2
    imported = city.post(
        "/screening/risk-areas/import/",
        {
            "file": SimpleUploadedFile(
                "a.xlsx",
                sheet_bytes(
                    ["地区代码", "地区名称", "风险等级"],
                    [["440305", "深圳市南山区", "中"], ["9", "x", "高"]],
                ),
            )
        },
    )
    assert imported.status_code == 302  # to the job page, which shows the outcome
    run_file_jobs()
    job_page = city.get(imported["Location"])
    assert job_page.status_code == 200
    assert job_page.context["job"].result["created"] == 1
    assert job_page.context["job"].result["errors"][0]["row"] == 3
    assert 'data-testid="import-errors"' in job_page.content.decode()
    report = city.get(f"/jobs/{job_page.context['job'].pk}/errors.xlsx")
    assert report.status_code == 200 and report.content.startswith(b"PK")


def test_zone_page(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    district = page_client(users["district_a"])
    made = district.post(
        "/screening/zones/",
        {"name": "东一封控区", "kind": "lockdown", "grids": [tree.grid_a1.code]},
    )
    assert made.status_code == 302
    assert "东一封控区" in page_client(users["town_a1"]).get("/screening/zones/").content.decode()
    assert (
        "东一封控区" not in page_client(users["town_a2"]).get("/screening/zones/").content.decode()
    )
    bad = district.post(
        "/screening/zones/", {"name": "x", "kind": "control", "polygon": "{not json"}
    )
    assert bad.status_code == 422 and "polygon" in bad.context["form"].errors
    drawn = district.post(
        "/screening/zones/",
        {
            "name": "南街管控区",
            "kind": "control",
            "region": tree.town_a2.code,
            "polygon": '{"type": "Polygon", "coordinates": [[[116.3, 39.9], [116.4, 39.9], '
            "[116.4, 40.0], [116.3, 39.9]]]}",
        },
    )
    assert drawn.status_code == 302
    assert "南街管控区" in page_client(users["town_a2"]).get("/screening/zones/").content.decode()
    assert page_client(users["town_a1"]).post("/screening/zones/", {"name": "x"}).status_code == 403


def test_assistance_pages(
    tree: Tree, users: dict[str, User], frozen: Any, run_file_jobs: Any
) -> None:
    ids = resident_ids(3, seed=21)
    content = sheet_bytes(
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
        [
            ["甲", ids[0], "", "", "", "", "东一社区", "密接", ""],
            ["乙", "123", "", "", "", "", "南一社区", "", ""],
            ["丙", ids[2], "", "", "", "", "无名社区", "", ""],
        ],
    )
    city = page_client(users["city"])
    posted = city.post(
        "/screening/assistance/",
        {
            "from_jurisdiction": "上海市浦东新区",
            "reference_number": "118",
            "file": SimpleUploadedFile("list.xlsx", content),
        },
    )
    assert posted.status_code == 302 and posted["Location"].startswith("/jobs/")
    assert page_client(users["town_a1"]).get(posted["Location"]).status_code == 404
    (job,) = run_file_jobs()
    page = city.get(posted["Location"]).content.decode()
    assert 'data-status="done"' in page and 'data-testid="open-request"' in page
    location = f"/screening/assistance/{job.result['request_id']}/"
    assert location in page
    detail = city.get(location)
    assert detail.status_code == 200
    assert detail.context["req"].assigned_count == 1
    assert [row for row, _f, _r in detail.context["errors"]] == [3]
    assert len(detail.context["unplaced"]) == 1
    xlsx = city.get(location + "errors.xlsx")
    assert xlsx.status_code == 200
    assert page_client(users["town_a1"]).get(location).status_code == 404
    assert page_client(users["town_a1"]).get("/screening/assistance/layout.xlsx").status_code == 200


def test_pages_need_login(db: Any) -> None:
    for path in ("/screening/", "/screening/risk-areas/", "/screening/rules/", "/screening/zones/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]
