"""The command pages: a unit's queue with tiles per stage, an obligation acknowledged,
worked with a photo and completed on its page, verified by the issuer; a new order to many
units; minutes read into directives, edited and confirmed; a sibling town finds nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fangkong.command.models import (
    DailyReport,
    Issue,
    Obligation,
    ObligationState,
    ReportTemplate,
    UnitKind,
)
from fangkong.command.services import ledger, reports
from tests.clients import page_client, zh
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, command_structure

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def cs(tree: Tree, settings: Any, tmp_path: Path) -> Structure:
    settings.DATA_DIR = tmp_path
    return command_structure(tree)


def _order(cs: Structure, clock: Clock, *keys: str) -> Issue:
    return ledger.issue_create(
        actor=cs.users["office_a"], issuer=cs.units["office_a"], kind="order", title="摸底排查",
        body="本周内完成摸底排查", deadline=clock.now() + dt.timedelta(days=2),
        parts=[ledger.Part(unit=cs.units[k]) for k in keys],
    )  # fmt: skip


def test_the_queue_shows_tiles_and_rows(cs: Structure, clock: Clock) -> None:
    _order(cs, clock, "town_a1", "town_a2")
    page = page_client(cs.users["town_a1"]).get("/command/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="obligation-row"') == 1 and "摸底排查" in html
    assert zh("On track") in html
    clock.travel(dt.timedelta(days=2, hours=1))
    overdue = page_client(cs.users["town_a1"]).get("/command/?stage=overdue").content.decode()
    assert overdue.count('data-testid="obligation-row"') == 1
    assert 'data-stage="overdue"' in overdue


def test_an_obligation_worked_and_verified_on_its_page(cs: Structure, clock: Clock) -> None:
    _order(cs, clock, "town_a1")
    ob = Obligation.objects.get(unit=cs.units["town_a1"])
    town = page_client(cs.users["town_a1"])
    url = f"/command/obligations/{ob.pk}/"
    assert 'data-testid="acknowledge"' in town.get(url).content.decode()
    assert town.post(url + "acknowledge/").status_code == 302
    photo = SimpleUploadedFile("现场.png", PNG, "image/png")
    done = town.post(url + "note/", {"text": "已完成", "complete": "on", "files": [photo]})
    assert done.status_code == 302
    ob.refresh_from_db()
    assert ob.state == ObligationState.COMPLETED
    refused = town.post(url + "verify/")
    assert refused.status_code == 403 and 'data-testid="refusal"' in refused.content.decode()
    office = page_client(cs.users["office_a"])
    html = office.get(url).content.decode()
    assert 'data-testid="verify"' in html and "现场.png" in html
    assert office.post(url + "verify/", {"note": "核验通过"}).status_code == 302
    ob.refresh_from_db()
    assert ob.state == ObligationState.VERIFIED
    evidence = ob.events.get(kind="completed").files.get()
    assert b"".join(office.get(f"/command/evidence/{evidence.pk}/").streaming_content) == PNG
    sibling = page_client(cs.users["town_a2"])
    assert sibling.get(url).status_code == 404
    assert sibling.get(f"/command/evidence/{evidence.pk}/").status_code == 404
    assert sibling.post(url + "acknowledge/").status_code == 404


def test_a_new_order_to_many_units_from_the_page(cs: Structure, clock: Clock) -> None:
    office = page_client(cs.users["office_a"])
    form = office.get("/command/orders/new/").content.decode()
    assert form.count('name="lead"') == 6  # the district's six units, its own office included
    deadline = timezone.localtime(clock.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    lead = [cs.units[k].pk for k in ("town_a1", "town_a2", "transport_a")]
    made = office.post("/command/orders/new/", {
        "issuer": cs.units["office_a"].pk, "title": "车辆备案", "body": "", "deadline": deadline,
        "lead": lead, "support": [cs.units["police_a"].pk],
    })  # fmt: skip
    assert made.status_code == 302, made.content.decode()[:2000]
    issue = Issue.objects.get(title="车辆备案")
    assert issue.obligations.count() == 4
    page = office.get(made["Location"]).content.decode()
    assert page.count('data-testid="unit-row"') == 4
    again = office.post("/command/orders/new/", {
        "issuer": cs.units["office_a"].pk, "title": "x", "deadline": deadline, "lead": [],
    })  # fmt: skip
    assert again.status_code == 422
    assert page_client(cs.users["transport_a"]).post("/command/orders/new/", {}).status_code == 403


def test_minutes_read_edited_and_confirmed(cs: Structure, clock: Clock) -> None:
    office = page_client(cs.users["office_a"])
    text = "一、区交通局要3日内完成车辆登记。\n二、公安分局负责重点场所管控，限期整改。"
    base = {"issuer": cs.units["office_a"].pk, "title": "调度会",
            "held_on": clock.today().isoformat(), "minutes": text}  # fmt: skip
    read = office.post("/command/minutes/", {**base, "step": "read"}).content.decode()
    assert read.count('data-testid="proposal"') == 2
    assert zh("set the time limit") in read
    deadline = timezone.localtime(clock.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    items = {
        "count": "2", "item-1-include": "on", "item-1-duty": "区交通局要3日内完成车辆登记",
        "item-1-lead": [cs.units["transport_a"].pk], "item-1-deadline": deadline,
        "item-2-include": "on", "item-2-duty": "公安分局负责重点场所管控",
        "item-2-lead": [cs.units["police_a"].pk], "item-2-deadline": "",
    }  # fmt: skip
    refused = office.post("/command/minutes/", {**base, **items, "step": "confirm"})
    assert refused.status_code == 422 and not Issue.objects.exists()
    assert 'data-testid="refusal"' in refused.content.decode()
    items["item-2-deadline"] = deadline
    done = office.post("/command/minutes/", {**base, **items, "step": "confirm"})
    assert done.status_code == 302
    assert Issue.objects.filter(kind="directive").count() == 2


def test_the_units_page_lists_the_structure_in_scope(cs: Structure) -> None:
    html = page_client(cs.users["town_a1"]).get("/command/units/").content.decode()
    assert html.count('data-testid="unit-row"') == 1 and "东街街道" in html
    city = page_client(cs.users["city_office"]).get("/command/units/").content.decode()
    assert city.count('data-testid="unit-row"') == len(cs.units)


def _daily(cs: Structure, clock: Clock) -> ReportTemplate:
    return reports.template_create(
        actor=cs.users["city_office"], region=cs.units["city_office"].region, code="TOWN-DAILY",
        name="镇街防控日报", unit_kinds=[UnitKind.TOWN], cutoff=dt.time(10, 0),
        fields=[reports.FieldSpec("arrivals", "", figure="arrivals_screened"),
                reports.FieldSpec("visits", "走访户数")],
        starts_on=clock.today() - dt.timedelta(days=7),
    )  # fmt: skip


def test_a_units_report_filled_confirmed_and_a_zero_report_in_one_click(
    cs: Structure, clock: Clock
) -> None:
    template = _daily(cs, clock)
    yesterday = clock.today() - dt.timedelta(days=1)
    town = page_client(cs.users["town_a1"])
    page = town.get(f"/command/reports/?day={yesterday.isoformat()}").content.decode()
    assert page.count('data-testid="duty"') == 1 and 'data-testid="report-zero"' in page
    form = {"unit": cs.units["town_a1"].pk, "template": template.pk, "day": yesterday}
    bad = town.post("/command/reports/", form | {"v_arrivals": "0", "v_visits": "many"})
    assert bad.status_code == 422 and 'data-testid="report-refusal"' in bad.content.decode()
    assert not DailyReport.objects.exists()
    done = town.post("/command/reports/", form | {"v_arrivals": "0", "v_visits": "12"})
    assert done.status_code == 302
    assert DailyReport.objects.get().values == {"arrivals": 0, "visits": 12}
    zero = page_client(cs.users["town_a2"]).post(
        "/command/reports/", form | {"unit": cs.units["town_a2"].pk, "zero": "1"}
    )
    assert zero.status_code == 302 and DailyReport.objects.filter(zero=True).count() == 1
    # a town may not report in a sibling's name
    theirs = town.post("/command/reports/", form | {"unit": cs.units["town_b1"].pk, "zero": "1"})
    assert theirs.status_code in (404, 422) and DailyReport.objects.count() == 2


def test_compliance_names_the_missing_and_a_sibling_sees_none_of_them(
    cs: Structure, clock: Clock
) -> None:
    template = _daily(cs, clock)
    yesterday = clock.today() - dt.timedelta(days=1)
    reports.report_submit(actor=cs.users["town_a1"], unit=cs.units["town_a1"],
                          template=template, day=yesterday, zero=True)  # fmt: skip
    url = f"/command/reports/compliance/?start={yesterday}&end={yesterday}"
    office = page_client(cs.users["city_office"]).get(url).content.decode()
    assert office.count('data-testid="unit-row"') == 3  # three towns must report
    assert "南街街道" in office and "西街街道" in office
    sibling = page_client(cs.users["town_b1"]).get(url).content.decode()
    assert sibling.count('data-testid="unit-row"') == 1
    assert "东街街道" not in sibling and "南街街道" not in sibling


def test_templates_set_up_from_the_page_and_refused_to_a_department(
    cs: Structure, clock: Clock
) -> None:
    office = page_client(cs.users["office_a"])
    form = {
        "region": cs.units["office_a"].region.pk, "code": "EAST-DAILY", "name": "东城区日报",
        "unit_kinds": ["town"], "cutoff": "09:30", "weekdays": ["0", "1", "2", "3", "4"],
        "figures": ["under_control"], "typed": "走访户数\n发放物资",
    }  # fmt: skip
    assert office.post("/command/reports/templates/", form).status_code == 302
    template = ReportTemplate.objects.get(code="EAST-DAILY")
    assert [f["label"] for f in template.fields][1:] == ["走访户数", "发放物资"]
    assert template.weekdays == [0, 1, 2, 3, 4] and template.cutoff == dt.time(9, 30)
    listed = page_client(cs.users["town_b1"]).get("/command/reports/templates/")
    assert "东城区日报" not in listed.content.decode()
    refused = page_client(cs.users["transport_a"]).post(
        "/command/reports/templates/", form | {"code": "DEPT"}
    )
    assert refused.status_code == 403 and not ReportTemplate.objects.filter(code="DEPT").exists()
