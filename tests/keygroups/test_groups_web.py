"""Key-group routine testing pages: regimes, members, the weekly bulletin and its export."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.urls import reverse

from fangkong.core.models import AuditEvent, User
from fangkong.keygroups.models import KeyGroupRegime
from fangkong.masstesting.models import Campaign
from tests.clients import page_client
from tests.factories import Tree
from tests.keygroups.test_groups import World, build_world


@pytest.fixture
def world(tree: Tree, users: dict[str, User]) -> World:
    return build_world(tree, users)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def test_regimes_page_and_forms(tree: Tree, users: dict[str, User], world: World) -> None:
    city = page_client(users["city"])
    page = city.get(reverse("keygroups:groups"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cold-chain worker" in html and 'data-testid="regime-form"' in html
    r = city.post(
        reverse("keygroups:groups"),
        {"region": tree.town_a1.pk, "key_group": "delivery", "every_days": 7, "pool_size": 10},
    )
    assert r.status_code == 302
    regime = KeyGroupRegime.objects.get(key_group="delivery")
    edit = reverse("keygroups:groups_regime_edit", args=[regime.pk])
    assert city.post(edit, {"every_days": 3, "pool_size": 5, "active": "on"}).status_code == 302
    regime.refresh_from_db()
    assert (regime.every_days, regime.pool_size) == (3, 5)
    round_url = reverse("keygroups:groups_regime_round", args=[regime.pk])
    assert city.post(round_url, {"hours": "24"}).status_code == 302
    assert Campaign.objects.filter(key_groups=["delivery"]).count() == 1
    # the sibling town and the other district get 404 for the regime, and see no members
    for who in ("town_a2", "district_b"):
        other = page_client(users[who])
        assert other.get(edit).status_code == 404
        assert other.post(round_url).status_code == 404
    community = page_client(users["community_a1"])
    assert (
        'data-testid="regime-form"'
        not in community.get(reverse("keygroups:groups")).content.decode()
    )


def test_members_page_highlights_overdue(users: dict[str, User], world: World) -> None:
    page = page_client(users["town_a2"]).get(reverse("keygroups:groups_members"), {"overdue": "1"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("kg-overdue-row") == 1 and "1 member" in html
    west = (
        page_client(users["district_b"]).get(reverse("keygroups:groups_members")).content.decode()
    )
    assert "东一冷库" not in west and "1 member" in west


def test_bulletin_page_and_audited_export(users: dict[str, User], world: World) -> None:
    week = f"{world.year}-W{world.week:02d}"
    client = page_client(users["district_a"])
    page = client.get(reverse("keygroups:groups_bulletin"), {"week": week})
    html = page.content.decode()
    assert page.status_code == 200
    assert "东一冷库" in html and 'data-testid="laggard-table"' in html
    assert "50.0%" in html
    # sibling town: only its own unit bucket, none of the other town's units
    town = page_client(users["town_a2"]).get(reverse("keygroups:groups_bulletin"), {"week": week})
    assert "东一冷库" not in town.content.decode()
    export = reverse("keygroups:groups_bulletin_xlsx")
    assert client.get(export).status_code == 405
    r = client.post(export, {"week": week})
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.worksheets[0]["A4"].value == "东一冷库"
    assert AuditEvent.objects.filter(action="keygroup_bulletin.export").count() == 1


def test_import_page_lists_row_errors(
    users: dict[str, User], world: World, run_file_jobs: Any
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["身份证号", "重点人群", "单位"])
    ws.append(["110105199001011230", "cold_chain", "东一冷库"])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "members.xlsx"
    client = page_client(users["town_a1"])
    r = client.post(reverse("keygroups:groups_members_import"), {"file": buffer})
    assert r.status_code == 302  # to the job page, which shows the outcome
    run_file_jobs()
    page = client.get(r["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="import-errors"' in html
    assert "No person with this ID number in your jurisdiction" in html
    bad = client.post(reverse("keygroups:groups_members_import"), {})
    assert bad.status_code == 422
