"""The tracing API: scoping (sibling towns see nothing), the chain graph's outsiders,
exposure batches, case lifecycle, investigations, exact query counts, the 协查 export."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import openpyxl
import pytest
import time_machine
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fangkong.core import vault
from fangkong.core.models import AuditEvent, Role, User
from fangkong.core.services import api_token_issue
from fangkong.people.models import ControlMeasure, Person
from fangkong.people.services.persons import ID_PURPOSE
from fangkong.screening.assistance_layout import COLUMNS
from fangkong.tracing.models import Case, CaseContact, Exposure
from tests.clients import ApiClient
from tests.factories import Tree, UserFactory, make_resident_id
from tests.factories.tracing import Scenario, build_scenario, bulk_persons, confirmed_case

pytestmark = pytest.mark.django_db

BASE = "/api/v1/tracing"


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: Any) -> None:
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }


@pytest.fixture
def world(
    tree: Tree, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """A case in town a1 whose 3 close contacts live in a1 and 6 secondary ones in town a2."""
    scenario = build_scenario(tree.grid_a1, fanout=(3, 2), regions={2: tree.grid_a2})
    with django_capture_on_commit_callbacks(execute=True):
        case = confirmed_case(actor=users["town_a1"], person=scenario.root)
    return {"scenario": scenario, "case": case}


def _case(world: dict[str, Any]) -> Case:
    return world["case"]


def _scenario(world: dict[str, Any]) -> Scenario:
    return world["scenario"]


# --- scoping -------------------------------------------------------------------------------


def test_sibling_town_user_gets_404_for_cases_contacts_and_measures(
    world: dict[str, Any], api_as: Any
) -> None:
    case = _case(world)
    inv_id = case.investigation.pk
    contact = CaseContact.objects.filter(case=case, generation=1).first()
    assert contact is not None and contact.measure is not None
    own = api_as("town_a1")
    assert own.get(f"{BASE}/cases/{case.pk}").status_code == 200
    assert own.get(f"/api/v1/measures/{contact.measure.pk}").status_code == 200
    for who in ("town_a2", "district_b", "lab", "admin", "inspector"):
        api = api_as(who)
        gets = [
            f"{BASE}/cases/{case.pk}",
            f"{BASE}/cases/{case.pk}/contacts",
            f"{BASE}/cases/{case.pk}/exposures",
            f"{BASE}/cases/{case.pk}/graph",
            f"{BASE}/investigations/{inv_id}",
            f"/api/v1/measures/{contact.measure.pk}",
        ]
        for path in gets:
            assert api.get(path).status_code == 404, (who, path)
        posts = [
            (f"{BASE}/cases/{case.pk}/generations", {}),
            (f"{BASE}/cases/{case.pk}/exposures", {"items": []}),
            (f"{BASE}/cases/{case.pk}/assistance-export", {"reason": "协查外地密接"}),
            (f"{BASE}/investigations/{inv_id}/close", {}),
            (f"{BASE}/investigations/{inv_id}/traced", {}),
        ]
        for path, body in posts:
            assert api.post(path, body).status_code == 404, (who, path)
        assert api.patch(f"{BASE}/cases/{case.pk}", {"notes": "x"}).status_code == 404
        assert (
            api.patch(
                f"{BASE}/cases/{case.pk}/contacts/{contact.pk}",
                {"trace_status": "unreachable", "note": "无人"},
            ).status_code
            == 404
        )
        assert api.get(f"{BASE}/cases").json()["count"] == 0
        assert api.get(f"{BASE}/investigations").json()["count"] == 0
    # the a2 town sees the measures of its own residents (the secondary contacts) and no more
    a2_measures = api_as("town_a2").get("/api/v1/measures").json()
    a2_people = {p.pk for p in _scenario(world).levels[1]}
    assert {m["person"]["id"] for m in a2_measures["results"]} == a2_people


def test_chain_graph_shows_outsiders_without_personal_data(
    world: dict[str, Any], api_as: Any
) -> None:
    case, scenario = _case(world), _scenario(world)
    r = api_as("town_a1").get(f"{BASE}/cases/{case.pk}/graph")
    assert r.status_code == 200
    body = r.json()
    raw = r.content.decode()
    assert len(body["nodes"]) == 1 + 3 + 6
    assert body["counts"] == {"1": 3, "2": 6}
    outsiders = [n for n in body["nodes"] if n["outside"]]
    assert len(outsiders) == 6
    with translation.override("zh-hans"):  # the API answers in the default language
        label = _("Outside your jurisdiction")
    for node in outsiders:
        assert set(node) == {"id", "generation", "outside", "name"}
        assert node["name"] == label
        assert node["generation"] == 2
    # masks keep only place code + check digit, so an outsider's may equal an insider's
    shown = {p.id_number_mask for p in [scenario.root, *scenario.levels[0]]}
    for person in scenario.levels[1]:
        plain = vault.decrypt(person.id_number_ct, purpose=ID_PURPOSE)
        for secret in (person.name, plain, person.phone_mask):
            assert secret not in raw
        assert person.id_number_mask in shown or person.id_number_mask not in raw
    # no person id anywhere: node ids are opaque and change with every response
    person_ids = {str(p.pk) for p in Person.objects.all()}
    assert not {n["id"] for n in body["nodes"]} & person_ids
    again = api_as("town_a1").get(f"{BASE}/cases/{case.pk}/graph").json()
    assert not {n["id"] for n in again["nodes"]} & {n["id"] for n in body["nodes"]}
    insiders = [n for n in body["nodes"] if not n["outside"] and not n.get("case")]
    assert {n["name"] for n in insiders} == {"第**0", "第**1", "第**2"}
    assert all(n["measure"]["state"] == "proposed" for n in insiders)
    assert len(body["links"]) == 9
    # the district above both towns sees everyone
    district = api_as("district_a").get(f"{BASE}/cases/{case.pk}/graph").json()
    assert not any(n["outside"] for n in district["nodes"])


def test_contact_list_hides_outsiders(world: dict[str, Any], api_as: Any) -> None:
    case = _case(world)
    body = api_as("town_a1").get(f"{BASE}/cases/{case.pk}/contacts").json()
    assert body["count"] == 9 and body["counts"] == {"1": 3, "2": 6}
    outside = [c for c in body["results"] if c["outside"]]
    assert len(outside) == 6
    assert all(c["person"] is None and c["measure"] is None for c in outside)
    assert all(c["region_name"] is None for c in outside)
    gen1 = api_as("town_a1").get(f"{BASE}/cases/{case.pk}/contacts", generation=1).json()
    assert [c["generation"] for c in gen1["results"]] == [1, 1, 1]
    assert all(c["measure"]["state"] == "proposed" for c in gen1["results"])


# --- exact query counts --------------------------------------------------------------------


def test_list_endpoints_run_a_fixed_number_of_queries(
    tree: Tree,
    users: dict[str, User],
    api_as: Any,
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    persons = bulk_persons(tree.grid_a1, 8, prefix="列表")
    with django_capture_on_commit_callbacks(execute=True):
        cases = [confirmed_case(actor=users["town_a1"], person=p) for p in persons[:4]]
    big = build_scenario(tree.grid_a1, fanout=(6, 2))
    with django_capture_on_commit_callbacks(execute=True):
        with_contacts = confirmed_case(actor=users["town_a1"], person=big.root)
    assert len(cases) == 4
    api = api_as("town_a1")
    # token, count, page (person, region and investigation joined; overdue in the same SELECT)
    with django_assert_num_queries(3):
        body = api.get(f"{BASE}/cases").json()
    assert body["count"] == 5
    with django_assert_num_queries(3):
        assert api.get(f"{BASE}/investigations").json()["count"] == 5
    with django_assert_num_queries(3):
        assert api.get(f"{BASE}/investigations", overdue="true").json()["count"] == 0
    # token, case, count, page (person, region, measure and plan joined), generation counts
    with django_assert_num_queries(5):
        contacts = api.get(f"{BASE}/cases/{with_contacts.pk}/contacts").json()
    assert contacts["count"] == 18
    # token, case, exposures with both persons joined
    Exposure.objects.filter(person_a=big.root).update(case=with_contacts)
    with django_assert_num_queries(3):
        assert len(api.get(f"{BASE}/cases/{with_contacts.pk}/exposures").json()) == 6
    # token, case, contacts with persons and measures
    with django_assert_num_queries(3):
        assert len(api.get(f"{BASE}/cases/{with_contacts.pk}/graph").json()["nodes"]) == 19


# --- cases through the API -----------------------------------------------------------------


def test_create_confirm_and_conflict(
    tree: Tree, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    person, contact = bulk_persons(tree.grid_a1, 2, prefix="接口")
    Exposure.objects.create(
        person_a_id=min(person.pk, contact.pk),
        person_b_id=max(person.pk, contact.pk),
        context="household",
        day=timezone.localdate(),
        region_path=person.region_path,
    )
    api = api_as("town_a1")
    today = timezone.localdate().isoformat()
    payload = {
        "person_id": person.pk,
        "kind": "confirmed",
        "report_date": today,
        "onset_date": today,
        "source": "local",
        "severity": "mild",
    }
    r = api.post(f"{BASE}/cases", payload)
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["status"] == "reported" and created["investigation_id"]
    assert created["person"]["id_number"] == person.id_number_mask
    assert not CaseContact.objects.exists()
    assert api.post(f"{BASE}/cases", payload).status_code == 409
    bad = api.post(f"{BASE}/cases", {**payload, "person_id": contact.pk, "kind": "nope"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "kind"
    # a person of the sibling town cannot be made a case by us
    other = bulk_persons(tree.grid_a2, 1, prefix="邻镇")[0]
    assert api.post(f"{BASE}/cases", {**payload, "person_id": other.pk}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        r = api.patch(f"{BASE}/cases/{created['id']}", {"status": "confirmed"})
    assert r.status_code == 200 and r.json()["confirmed_at"]
    assert CaseContact.objects.filter(case_id=created["id"]).count() == 1
    assert api.patch(f"{BASE}/cases/{created['id']}", {"status": "reported"}).status_code == 409
    r = api.post(f"{BASE}/cases/{created['id']}/generations")
    assert r.status_code == 200
    assert r.json() == {
        "case_id": created["id"],
        "created": 0,
        "updated": 0,
        "removed": 0,
        "proposed": 0,
        "by_generation": {"1": 1},
    }


def test_exposure_batch_reports_each_bad_item(
    tree: Tree, world: dict[str, Any], api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _case(world)
    known = bulk_persons(tree.grid_a1, 2, prefix="批量")
    outsider = _scenario(world).levels[1][0]  # lives in town a2
    new_id = make_resident_id()
    today = timezone.localdate()
    day, day_before = today.isoformat(), (today - dt.timedelta(days=1)).isoformat()
    items: list[Any] = [
        {"contact": {"person_id": known[0].pk}, "context": "household", "day": day},
        # the same contact entered again, other way round: no duplicate
        {
            "person": {"person_id": known[0].pk},
            "contact": {"person_id": case.person_id},
            "context": "household",
            "day": day,
        },
        {"contact": {"person_id": known[1].pk}, "context": "karaoke", "day": day},
        {"contact": {"person_id": outsider.pk}, "context": "venue", "day": day},
        {"contact": {"person_id": known[1].pk}, "context": "venue"},
        {"contact": {"person_id": known[1].pk}, "context": "venue", "day": "not a date"},
        {
            "contact": {
                "id_number": new_id,
                "name": "新登记",
                "region_code": tree.grid_a1.code,
            },
            "context": "vehicle",
            "started_at": f"{day_before}T08:00:00+08:00",
            "ended_at": f"{day_before}T09:30:00+08:00",
            "place": "K1 路公交",
        },
        # a known document with its registered name matches the person, wherever they live
        {
            "contact": {
                "id_number": vault.decrypt(outsider.id_number_ct, purpose=ID_PURPOSE),
                "name": outsider.name,
            },
            "context": "workplace",
            "day": day_before,
        },
    ]
    with django_capture_on_commit_callbacks(execute=True):
        r = api_as("town_a1").post(f"{BASE}/cases/{case.pk}/exposures", {"items": items})
    assert r.status_code == 200, r.content
    body = r.json()
    statuses = [x["status"] for x in body["results"]]
    assert statuses == [
        "created",
        "existing",
        "error",
        "error",
        "error",
        "error",
        "created",
        "created",
    ]
    errors = {x["index"]: x["errors"][0]["field"] for x in body["results"] if x["errors"]}
    assert errors == {2: "context", 3: "contact.person_id", 4: "day", 5: "day"}
    assert (body["created"], body["existing"], body["rejected"]) == (3, 1, 4)
    assert Person.objects.filter(name="新登记").count() == 1
    listed = api_as("town_a1").get(f"{BASE}/cases/{case.pk}/exposures").json()
    assert len(listed) == 3
    outside_end = next(e for e in listed if e["context"] == "workplace")
    ends = [outside_end["person_a"], outside_end["person_b"]]
    assert {e["outside"] for e in ends} == {True, False}
    assert [e["person"] for e in ends if e["outside"]] == [None]
    # new exposures of a confirmed case update its contacts right away
    assert CaseContact.objects.filter(case=case, person=known[0], generation=1).exists()
    assert CaseContact.objects.filter(case=case, person=outsider, generation=1).exists()


# --- investigations ------------------------------------------------------------------------


def test_close_refuses_while_contacts_are_untraced(world: dict[str, Any], api_as: Any) -> None:
    case = _case(world)
    api = api_as("town_a1")
    inv = case.investigation.pk
    r = api.post(f"{BASE}/investigations/{inv}/close", {"notes": "完成"})
    assert r.status_code == 409 and r.json()["untraced"] == 9
    for contact in CaseContact.objects.filter(case=case):
        r = api.patch(
            f"{BASE}/cases/{case.pk}/contacts/{contact.pk}",
            {"trace_status": "elsewhere", "note": "已发协查函"},
        )
        assert r.status_code == 200
    r = api.post(f"{BASE}/investigations/{inv}/close", {"notes": "完成"})
    assert r.status_code == 200 and r.json()["closed_at"] and not r.json()["overdue"]


# --- assistance export ---------------------------------------------------------------------


def test_assistance_export_of_contacts_living_elsewhere(world: dict[str, Any], api_as: Any) -> None:
    case, scenario = _case(world), _scenario(world)
    api = api_as("town_a1")
    path = f"{BASE}/cases/{case.pk}/assistance-export"
    r = api.post(path, {"reason": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    assert not AuditEvent.objects.filter(action="tracing.assistance_export").exists()
    r = api.post(path, {"reason": "发南街街道协查"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [zh for _f, zh, _en in COLUMNS]
    # reached through exposures nobody here typed their details into: the other town's
    # registry is not decrypted into the file; the rows ask to route via the command office
    assert len(rows) == 1 + len(scenario.levels[1])
    plain = {vault.decrypt(p.id_number_ct, purpose=ID_PURPOSE) for p in scenario.levels[1]}
    col = [f for f, _zh, _en in COLUMNS].index("id_number")
    assert {row[col] for row in rows[1:]} == {None}
    assert not plain & {str(v) for row in rows for v in row}
    note = [f for f, _zh, _en in COLUMNS].index("note")
    assert all("指挥部" in row[note] for row in rows[1:])
    town = [f for f, _zh, _en in COLUMNS].index("town")
    assert {row[town] for row in rows[1:]} == {"南街街道"}
    audit = AuditEvent.objects.get(action="tracing.assistance_export")
    assert audit.reason == "发南街街道协查"
    assert sorted(audit.details["persons"]) == sorted(p.pk for p in scenario.levels[1])
    # handing them over counts as traced for the deadline
    assert set(
        CaseContact.objects.filter(case=case, trace_status="elsewhere").values_list(
            "person_id", flat=True
        )
    ) == {p.pk for p in scenario.levels[1]}
    # a grid worker sees the case but may not reveal
    grid = UserFactory(username="grid1", role=Role.GRID_WORKER, region=case.region)
    r = ApiClient(api_token_issue(user=grid)).post(path, {"reason": "发南街街道协查"})
    assert r.status_code == 403


def test_overdue_flag_in_case_and_investigation_lists(world: dict[str, Any], api_as: Any) -> None:
    case = _case(world)
    later = case.investigation.deadline + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        api = api_as("town_a1")
        cases = api.get(f"{BASE}/cases", overdue="true").json()
        assert [c["id"] for c in cases["results"]] == [case.pk]
        assert cases["results"][0]["overdue"] is True
        listed = api.get(f"{BASE}/investigations", overdue="true").json()
        assert [i["case_id"] for i in listed["results"]] == [case.pk]
    assert json.dumps(listed)  # serialisable as is
    assert ControlMeasure.objects.filter(source_type="case_contact").count() == 9
