"""Issue 8, item 3: a name typed by the public (a self-declaration) that looks like a formula
reaches every exported workbook as text, never as a formula (spreadsheet formula injection)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from fangkong.core.models import User
from fangkong.core.sheets import csv_cell
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember
from fangkong.people.models import Person
from fangkong.people.sheets import errors_workbook
from fangkong.screening.models import ScreeningRecord
from tests.factories import Tree, make_person, make_resident_id
from tests.factories.masstesting import campaign_setup
from tests.factories.screening import ensure_default_rules
from tests.factories.tracing import confirmed_case

PAYLOAD = '=HYPERLINK("http://x","y")'
SCREENING = "/api/v1/screening"
WEEK = "{}-W{:02d}"


@pytest.fixture(autouse=True)
def _setup(db: Any, settings: Any) -> None:
    ensure_default_rules()
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }


def _declare(tree: Tree, api_as: Any, *, name: str = PAYLOAD) -> Person:
    """The public declares an arrival under `name`; the town confirms it, registering them."""
    now = timezone.localtime()
    form = {
        "name": name,
        "id_type": "resident_id",
        "id_number": make_resident_id(),
        "phone": "13712345678",
        "origin_place": "上海市浦东新区张江镇",
        "route_text": f"{now:%Y-%m-%d} 上海市浦东新区",
        "arrival_at": f"{now - dt.timedelta(hours=1):%Y-%m-%dT%H:%M}",
        "travel_mode": "train",
        "destination": tree.community_a1.code,
        "address": "东街5号1单元101",
        "promise": "on",
    }
    assert Client().post("/declare/", form).status_code == 200
    record = ScreeningRecord.objects.get(source="self_declaration")
    r = api_as("town_a1").post(f"{SCREENING}/screenings/{record.pk}/confirm")
    assert r.status_code == 200, r.content
    record.refresh_from_db()
    assert record.person is not None and record.person.name == name
    return record.person


def _web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _not_sampled_api(tree: Tree, users: dict[str, User], api_as: Any) -> bytes:
    setup = campaign_setup(tree, users)
    _declare(tree, api_as)
    url = f"/api/v1/masstesting/coverage/campaigns/{setup.campaign.pk}/not-sampled/export"
    r = api_as("town_a1").post(url)
    assert r.status_code == 200, r.content
    return bytes(r.content)


def _not_sampled_web(tree: Tree, users: dict[str, User], api_as: Any) -> bytes:
    setup = campaign_setup(tree, users)
    _declare(tree, api_as)
    url = f"/masstesting/board/{setup.campaign.pk}/not-sampled/export/"
    r = _web(users["town_a1"]).post(url)
    assert r.status_code == 200, r.content
    return bytes(r.content)


def _enrolled(tree: Tree, users: dict[str, User], api_as: Any) -> str:
    """The declared person is later enrolled in a key group; their unit is named like them."""
    person = _declare(tree, api_as)
    Person.objects.filter(pk=person.pk).update(key_group="cold_chain")
    groups.regime_create(
        actor=users["city"], region=tree.city, key_group="cold_chain", every_days=7
    )
    groups.members_sync(
        actor=users["city"], region=tree.city, today=timezone.localdate() - dt.timedelta(days=3)
    )
    assert KeyGroupMember.objects.filter(person=person).exists()
    return WEEK.format(*timezone.localdate().isocalendar()[:2])


def _bulletin_api(tree: Tree, users: dict[str, User], api_as: Any) -> bytes:
    week = _enrolled(tree, users, api_as)
    r = api_as("town_a1").get("/api/v1/masstesting/groups/compliance.xlsx", week=week)
    assert r.status_code == 200, r.content
    return bytes(r.content)


def _bulletin_web(tree: Tree, users: dict[str, User], api_as: Any) -> bytes:
    week = _enrolled(tree, users, api_as)
    r = _web(users["town_a1"]).post("/masstesting/groups/bulletin/export/", {"week": week})
    assert r.status_code == 200, r.content
    return bytes(r.content)


def _case_with_contact(tree: Tree, users: dict[str, User], api_as: Any, capture: Any) -> int:
    """A town A1 case whose contact, registered in district B under the name they declared
    (an outsider's ID binds only when the name matches), was entered by that name."""
    idn = make_resident_id()
    make_person(tree.grid_b1, name=PAYLOAD, id_number=idn)
    with capture(execute=True):
        case = confirmed_case(actor=users["town_a1"], person=make_person(tree.grid_a1))
    contact = {"id_number": idn, "name": PAYLOAD, "phone": "+8613700001111"}
    day = str(case.onset_date or case.confirmed_at.date())
    with capture(execute=True):
        r = api_as("town_a1").post(
            f"/api/v1/tracing/cases/{case.pk}/exposures",
            {"items": [{"contact": contact, "context": "household", "day": day}]},
        )
    assert r.status_code == 200, r.content
    return int(case.pk)


def _assistance_api(tree: Tree, users: dict[str, User], api_as: Any, capture: Any) -> bytes:
    case_id = _case_with_contact(tree, users, api_as, capture)
    r = api_as("town_a1").post(
        f"/api/v1/tracing/cases/{case_id}/assistance-export", {"reason": "发西城区协查"}
    )
    assert r.status_code == 200, r.content
    return bytes(r.content)


def _assistance_web(tree: Tree, users: dict[str, User], api_as: Any, capture: Any) -> bytes:
    case_id = _case_with_contact(tree, users, api_as, capture)
    r = _web(users["town_a1"]).post(f"/tracing/cases/{case_id}/export/", {"reason": "发西城区协查"})
    assert r.status_code == 200, r.content
    return bytes(r.content)


ROUTES: dict[str, Callable[..., bytes]] = {
    "not_sampled_api": _not_sampled_api,
    "not_sampled_web": _not_sampled_web,
    "bulletin_api": _bulletin_api,
    "bulletin_web": _bulletin_web,
    "assistance_api": _assistance_api,
    "assistance_web": _assistance_web,
}


def _assert_text_only(data: bytes) -> int:
    """Every cell holding the payload is a text cell, and no sheet has a formula; how many."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[\s>/]", archive.read(name)), name
    found = 0
    for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
                    found += 1
    return found


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_formula_typed_by_the_public_is_exported_as_text(
    route: str,
    tree: Tree,
    users: dict[str, User],
    api_as: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make = ROUTES[route]
    if route.startswith("assistance"):
        data = make(tree, users, api_as, django_capture_on_commit_callbacks)
    else:
        data = make(tree, users, api_as)
    assert _assert_text_only(data) >= 1
    if route.startswith(("not_sampled", "assistance")):
        cells = [
            c.value
            for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets
            for row in ws.iter_rows()
            for c in row
        ]
        assert PAYLOAD in cells  # the exact text, no apostrophe added


def test_error_reports_write_every_risky_prefix_as_text() -> None:
    values = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "+8613700001111"]
    data = errors_workbook([(1, v, v) for v in values])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(min_row=2))
    # XML reads a CR back as LF; the text is otherwise exactly what was written
    assert [r[1].value for r in rows] == [v.replace("\r", "\n") for v in values]
    assert all(r[1].data_type == "s" and r[1].quotePrefix for r in rows)
    assert ws["A2"].data_type == "n" and not ws["A1"].quotePrefix


def test_csv_cells_get_a_leading_apostrophe() -> None:
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@x") == "'@x"
    assert csv_cell("张三") == "张三" and csv_cell(-1) == -1


def test_no_export_writes_rows_around_the_helper() -> None:
    """Every worksheet row and CSV line goes through fangkong.core.sheets."""
    root = Path(__file__).resolve().parents[2] / "fangkong"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "sheets.py" and path.parent.name == "core":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bws\.append\(|csv\.(writer|DictWriter)\(", text):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
