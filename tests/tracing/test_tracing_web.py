"""Tracing pages: the case list, the case page, the graph JSON, investigations, the export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import translation
from django.utils.translation import gettext as _

from fangkong.core.models import AuditEvent, User
from fangkong.tracing.models import Case
from tests.clients import page_client
from tests.factories import Tree
from tests.factories.tracing import Scenario, build_scenario, confirmed_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }


@pytest.fixture
def scenario(tree: Tree) -> Scenario:
    return build_scenario(tree.grid_a1, fanout=(3, 2), regions={2: tree.grid_a2})


@pytest.fixture
def case(
    scenario: Scenario, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> Case:
    with django_capture_on_commit_callbacks(execute=True):
        return confirmed_case(actor=users["town_a1"], person=scenario.root)


def test_case_list_and_case_page(case: Case, scenario: Scenario, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    page = client.get("/tracing/")
    assert page.status_code == 200
    assert f"/tracing/cases/{case.pk}/" in page.content.decode()
    detail = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    assert 'data-testid="gen-1-count">3<' in detail
    assert 'data-testid="gen-2-count">6<' in detail
    assert 'data-testid="gen-3-count">0<' in detail
    assert "vendor/echarts/echarts.min.js" in detail
    for person in scenario.levels[0]:
        assert person.name in detail
    # masks keep only place code + check digit, so an outsider's may equal an insider's
    shown = {p.id_number_mask for p in [scenario.root, *scenario.levels[0]]}
    for person in scenario.levels[1]:  # they live in the sibling town
        assert person.name not in detail
        assert person.id_number_mask in shown or person.id_number_mask not in detail
    with translation.override("zh-hans"):
        outside = _("Outside your jurisdiction")
    assert detail.count(outside) >= 6


def test_sibling_town_gets_404_on_every_page(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a2"])
    for path in (
        f"/tracing/cases/{case.pk}/",
        f"/tracing/cases/{case.pk}/graph.json",
    ):
        assert client.get(path).status_code == 404
    assert (
        client.post(f"/tracing/cases/{case.pk}/export/", {"reason": "协查协查"}).status_code == 404
    )
    inv = case.investigation.pk
    assert client.post(f"/tracing/investigations/{inv}/close/").status_code == 404
    assert f"/tracing/cases/{case.pk}/" not in client.get("/tracing/").content.decode()
    listed = client.get("/tracing/investigations/?show=all").content.decode()
    assert f"/tracing/cases/{case.pk}/" not in listed


def test_graph_json_page_matches_the_api_rules(
    case: Case, scenario: Scenario, users: dict[str, User]
) -> None:
    body = page_client(users["town_a1"]).get(f"/tracing/cases/{case.pk}/graph.json").json()
    outsiders = [n for n in body["nodes"] if n["outside"]]
    assert len(outsiders) == 6
    assert all(set(n) == {"id", "generation", "outside", "name"} for n in outsiders)


def test_overdue_list_and_actions(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    assert (
        f"/tracing/cases/{case.pk}/" not in client.get("/tracing/investigations/").content.decode()
    )
    with time_machine.travel(case.investigation.deadline + dt.timedelta(hours=1), tick=False):
        client = page_client(users["town_a1"])  # the session idled out on the way
        page = client.get("/tracing/investigations/").content.decode()
        assert f"/tracing/cases/{case.pk}/" in page and "overdue-badge" in page
        assert "overdue-badge" in client.get("/tracing/?overdue=1").content.decode()
        r = client.post(f"/tracing/investigations/{case.investigation.pk}/close/", follow=True)
    assert r.status_code == 200
    with translation.override("zh-hans"):
        expected = _("%(n)s close or secondary contacts are not traced yet") % {"n": 9}
    assert expected in r.content.decode()


def test_export_from_the_case_page(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    r = client.post(f"/tracing/cases/{case.pk}/export/", {"reason": ""}, follow=True)
    with translation.override("zh-hans"):
        expected = _("give the reason for revealing (at least 4 characters)")
    assert expected in r.content.decode()
    r = client.post(f"/tracing/cases/{case.pk}/export/", {"reason": "发南街协查函"})
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action="tracing.assistance_export").count() == 1
