"""The tracer's actions on the tracing pages, over HTTP: report a case (person chosen by a POST
search), record exposures (a contact found by search or a new person), recompute, mark a
contact, start a contact's measure, move a case on. A sibling town gets 404 everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from fangkong.core.models import AuditEvent, User
from fangkong.people.models import ControlMeasure, Person
from fangkong.tracing.models import Case, CaseContact, Exposure
from fangkong.tracing.services.cases import case_create
from fangkong.tracing.services.generations import GenerationsResult, case_compute_generations
from fangkong.tracing.views_actions import result_message
from tests.clients import page_client, zh
from tests.factories import Tree, make_person, make_resident_id
from tests.factories.tracing import Scenario, build_scenario, confirmed_case

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


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
    # 3 close contacts at home, 6 secondary contacts in the sibling town
    return build_scenario(tree.grid_a1, fanout=(3, 2), regions={2: tree.grid_a2})


@pytest.fixture
def case(
    scenario: Scenario, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> Case:
    with django_capture_on_commit_callbacks(execute=True):
        return confirmed_case(actor=users["town_a1"], person=scenario.root)


# --- report a case -------------------------------------------------------------------------


def test_report_a_case_from_the_ui(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1, name="欧阳明", id_number=make_resident_id())
    client = page_client(users["town_a1"])
    page = client.get("/tracing/cases/new/")
    assert page.status_code == 200 and 'name="q"' in page.content.decode()
    assert 'data-testid="report-case"' in client.get("/tracing/").content.decode()

    # by name (the start of it) and by the whole document number, in the POST body
    found = client.post("/tracing/cases/new/", {"action": "search", "q": "欧阳"}, headers=HTMX)
    assert found.status_code == 200 and f'value="{person.pk}"' in found.content.decode()
    assert "欧阳明" in found.content.decode() and person.id_number_mask in found.content.decode()
    number = Person.objects.get(pk=person.pk)
    from fangkong.people.services.persons import _decrypt_fields

    plain = _decrypt_fields(number, ["id_number"])["id_number"]
    by_id = client.post("/tracing/cases/new/", {"action": "search", "q": plain}, headers=HTMX)
    assert f'value="{person.pk}"' in by_id.content.decode()
    assert plain not in by_id.content.decode()  # never echoed back

    today = timezone.localdate()
    r = client.post(
        "/tracing/cases/new/",
        {
            "person": person.pk,
            "kind": "confirmed",
            "status": "reported",
            "onset_date": (today - dt.timedelta(days=2)).isoformat(),
            "sampling_date": (today - dt.timedelta(days=1)).isoformat(),
            "report_date": today.isoformat(),
            "source": "local",
            "severity": "mild",
            "notes": "发热门诊报告",
        },
    )
    case = Case.objects.get(person=person)
    assert r.status_code == 302 and r["Location"] == f"/tracing/cases/{case.pk}/"
    assert (case.kind, case.status, case.severity, case.source) == (
        "confirmed",
        "reported",
        "mild",
        "local",
    )
    assert case.investigation.deadline > timezone.now()
    assert AuditEvent.objects.filter(action="case.create", object_id=str(case.pk)).exists()
    follow = client.get(r["Location"]).content.decode()
    assert zh("Case #%(id)s reported.") % {"id": case.pk} in follow


def test_report_form_errors_and_scope(tree: Tree, users: dict[str, User]) -> None:
    neighbour = make_person(tree.grid_a2, name="邻镇人员")
    client = page_client(users["town_a1"])
    # a person of the sibling town is neither found nor accepted
    found = client.post("/tracing/cases/new/", {"action": "search", "q": "邻镇"}, headers=HTMX)
    assert f'value="{neighbour.pk}"' not in found.content.decode()
    base = {
        "kind": "asymptomatic",
        "status": "reported",
        "report_date": timezone.localdate().isoformat(),
        "source": "screening",
    }
    r = client.post("/tracing/cases/new/", {**base, "person": neighbour.pk})
    assert r.status_code == 422
    assert zh("search for the person and choose one") in r.content.decode()
    assert not Case.objects.exists()
    # the service's rule lands on its field: an asymptomatic infection has no onset date
    mine = make_person(tree.grid_a1, name="本镇人员")
    r = client.post(
        "/tracing/cases/new/",
        {**base, "person": mine.pk, "onset_date": timezone.localdate().isoformat()},
    )
    assert r.status_code == 422
    assert zh("an asymptomatic infection has no onset date") in r.content.decode()
    assert "本镇人员" in r.content.decode()  # the chosen person stays chosen
    # a second live case for the same person is refused, not duplicated
    assert client.post("/tracing/cases/new/", {**base, "person": mine.pk}).status_code == 302
    again = client.post("/tracing/cases/new/", {**base, "person": mine.pk})
    assert again.status_code == 409 and Case.objects.filter(person=mine).count() == 1
    # roles without personal data may not report
    admin = page_client(users["admin"])
    assert admin.post("/tracing/cases/new/", {**base, "person": mine.pk}).status_code == 403


def test_search_runs_a_fixed_number_of_queries(
    tree: Tree, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    for i in range(30):
        make_person(tree.grid_a1, name=f"王{i:02d}")
    client = page_client(users["town_a1"])
    client.get("/tracing/cases/new/")  # the session is loaded once before counting
    # session and user, one query for the matches (with their regions), then the session's
    # activity stamp is written back (savepoint, update, release)
    with django_assert_num_queries(6):
        r = client.post("/tracing/cases/new/", {"action": "search", "q": "王"}, headers=HTMX)
    assert r.content.decode().count('name="person"') == 20
    case = confirmed_case(actor=users["town_a1"], person=make_person(tree.grid_a1, name="李"))
    with django_assert_num_queries(7):  # + the case
        r = client.post(
            f"/tracing/cases/{case.pk}/exposures/", {"action": "search", "q": "王"}, headers=HTMX
        )
    assert r.content.decode().count('name="contact"') == 20
    assert r["HX-Retarget"] == "#pick-contact"


# --- exposures and recomputation -----------------------------------------------------------


def test_add_exposures_and_recompute(
    tree: Tree, case: Case, scenario: Scenario, users: dict[str, User], settings: Any
) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}
    }
    client = page_client(users["town_a1"])
    known = make_person(tree.grid_a1, name="同事甲")
    today = timezone.localdate().isoformat()
    r = client.post(
        f"/tracing/cases/{case.pk}/exposures/",
        {"contact": known.pk, "context": "workplace", "day": today, "place": "东街菜场"},
        headers=HTMX,
    )
    assert r.status_code == 200, r.content.decode()
    body = r.content.decode()
    assert zh("Exposure recorded.") in body and "同事甲" in body and "东街菜场" in body
    # a new person, registered through the person services in the chosen community
    new_id = make_resident_id()
    r = client.post(
        f"/tracing/cases/{case.pk}/exposures/",
        {
            "name": "新密接",
            "id_type": "resident_id",
            "id_number": new_id,
            "phone": "13912345678",
            "region": tree.community_a1.code,
            "context": "household",
            "day": today,
            "source": scenario.levels[0][0].pk,  # a contact of a close contact
        },
        headers=HTMX,
    )
    assert r.status_code == 200, r.content.decode()
    assert new_id not in r.content.decode()
    newcomer = Person.objects.get(name="新密接")
    assert newcomer.region_id == tree.community_a1.pk
    assert AuditEvent.objects.filter(action="person.create", object_id=str(newcomer.pk)).exists()
    assert Exposure.objects.filter(case=case).count() == 2
    assert AuditEvent.objects.filter(action="exposure.record").count() == 2
    # the same exposure again changes nothing
    again = client.post(
        f"/tracing/cases/{case.pk}/exposures/",
        {"contact": known.pk, "context": "workplace", "day": today},
        headers=HTMX,
    )
    assert zh("This exposure was already recorded; nothing changed.") in again.content.decode()

    # recompute: the new close contact and the new secondary contact appear, with measures
    r = client.post(f"/tracing/cases/{case.pk}/generations/", headers=HTMX)
    assert r.status_code == 204 and r["HX-Refresh"] == "true"
    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    assert 'data-testid="gen-1-count">4<' in page and 'data-testid="gen-2-count">7<' in page
    assert "同事甲" in page and "新密接" in page
    with translation.override("zh-hans"):
        expected = result_message(
            GenerationsResult(case.pk, 2, 0, 0, 2, by_generation={1: 4, 2: 7})
        )
    assert expected in page
    row = CaseContact.objects.get(case=case, person=newcomer)
    assert row.generation == 2 and row.measure is not None


def test_exposure_form_errors(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    url = f"/tracing/cases/{case.pk}/exposures/"
    today = timezone.localdate().isoformat()
    r = client.post(url, {"context": "venue", "day": today}, headers=HTMX)
    assert r.status_code == 422
    assert (
        zh("choose the contact from the search, or enter a new person with an ID number")
        in r.content.decode()
    )
    r = client.post(
        url,
        {
            "name": "无地区",
            "id_type": "resident_id",
            "id_number": make_resident_id(),
            "region": "",
            "context": "venue",
            "day": today,
        },
        headers=HTMX,
    )
    assert r.status_code == 422
    assert zh("choose where the new person is registered") in r.content.decode()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    other = make_person(case.region, name="明天")
    r = client.post(url, {"contact": other.pk, "context": "venue", "day": tomorrow}, headers=HTMX)
    assert r.status_code == 422
    assert zh("the date cannot be in the future") in r.content.decode()
    assert not Exposure.objects.filter(case=case).exists()
    # without JavaScript the whole page comes back with the errors in place
    r = client.post(url, {"context": "venue", "day": today})
    assert r.status_code == 422 and 'data-testid="contact-tree"' in r.content.decode()


def test_recompute_reports_the_result(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    r = client.post(f"/tracing/cases/{case.pk}/generations/", follow=True)
    body = r.content.decode()
    assert r.status_code == 200
    with translation.override("zh-hans"):
        expected = result_message(case_compute_generations(actor=users["town_a1"], case=case))
    assert expected in body


# --- contacts --------------------------------------------------------------------------------


def test_mark_a_contact_and_start_its_measure(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    close = CaseContact.objects.filter(case=case, generation=1).order_by("pk")
    first, second = close[0], close[1]
    outsider = CaseContact.objects.filter(case=case, generation=2).first()
    assert outsider is not None

    edit = client.get(f"/tracing/cases/{case.pk}/contacts/{first.pk}/", headers=HTMX)
    assert edit.status_code == 200 and 'name="trace_status"' in edit.content.decode()
    # a reason is required
    r = client.post(
        f"/tracing/cases/{case.pk}/contacts/{first.pk}/trace/",
        {"trace_status": "unreachable", "note": ""},
        headers=HTMX,
    )
    assert r.status_code == 422 and zh("give a reason") in r.content.decode()
    r = client.post(
        f"/tracing/cases/{case.pk}/contacts/{first.pk}/trace/",
        {"trace_status": "unreachable", "note": "电话停机"},
        headers=HTMX,
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert 'hx-swap-oob="true"' in body and 'data-testid="untraced-count">8<' in body
    first.refresh_from_db()
    assert (first.trace_status, first.trace_note) == ("unreachable", "电话停机")
    assert AuditEvent.objects.filter(action="case_contact.trace", object_id=str(first.pk))

    # a contact living elsewhere may be handed over, and shows no personal data
    r = client.post(
        f"/tracing/cases/{case.pk}/contacts/{outsider.pk}/trace/",
        {"trace_status": "elsewhere", "note": "已发南街街道协查函"},
        headers=HTMX,
    )
    assert r.status_code == 200
    assert outsider.person.name not in r.content.decode()
    assert "已发南街街道协查函" not in r.content.decode().split("investigation-panel")[0]

    r = client.post(f"/tracing/cases/{case.pk}/contacts/{second.pk}/start/", headers=HTMX)
    assert r.status_code == 200
    measure = ControlMeasure.objects.get(pk=second.measure_id)
    assert measure.state == "in_force"
    assert 'data-testid="untraced-count">6<' in r.content.decode()
    # twice: the service refuses, the row says why
    r = client.post(f"/tracing/cases/{case.pk}/contacts/{second.pk}/start/", headers=HTMX)
    assert r.status_code == 409 and 'data-testid="row-error"' in r.content.decode()
    # without htmx: back to the page
    r = client.post(f"/tracing/cases/{case.pk}/contacts/{first.pk}/start/")
    assert r.status_code == 302 and r["Location"].endswith(f"#contact-{first.pk}")


def test_case_status_buttons(
    tree: Tree, users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    scenario = build_scenario(tree.grid_a1, fanout=(2,))
    reported = case_create(
        actor=users["town_a1"],
        person=scenario.root,
        kind="confirmed",
        report_date=timezone.localdate(),
        source="local",
    )
    client = page_client(users["town_a1"])
    page = client.get(f"/tracing/cases/{reported.pk}/").content.decode()
    assert 'data-testid="status-confirmed"' in page and 'data-testid="recompute"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/tracing/cases/{reported.pk}/status/", {"status": "confirmed"})
    assert r.status_code == 302
    reported.refresh_from_db()
    assert reported.status == "confirmed"
    assert CaseContact.objects.filter(case=reported).count() == 2
    r = client.post(f"/tracing/cases/{reported.pk}/status/", {"status": "reported"}, follow=True)
    assert reported.__class__.objects.get(pk=reported.pk).status == "confirmed"
    assert 'data-testid="status-recovered"' in r.content.decode()


def test_sibling_town_gets_404_on_every_action(case: Case, users: dict[str, User]) -> None:
    client = page_client(users["town_a2"])
    contact = CaseContact.objects.filter(case=case).first()
    assert contact is not None
    today = timezone.localdate().isoformat()
    for path, data in (
        (f"/tracing/cases/{case.pk}/exposures/", {"context": "venue", "day": today}),
        (f"/tracing/cases/{case.pk}/exposures/", {"action": "search", "q": "王"}),
        (f"/tracing/cases/{case.pk}/generations/", {}),
        (f"/tracing/cases/{case.pk}/status/", {"status": "recovered"}),
        (f"/tracing/cases/{case.pk}/contacts/{contact.pk}/trace/", {"trace_status": "pending"}),
        (f"/tracing/cases/{case.pk}/contacts/{contact.pk}/start/", {}),
    ):
        assert client.post(path, data, headers=HTMX).status_code == 404, path
    assert client.get(f"/tracing/cases/{case.pk}/contacts/{contact.pk}/").status_code == 404
    # a contact id of another case under the caller's own case is 404 too
    mine = confirmed_case(actor=users["town_a2"], person=make_person(users["town_a2"].region))
    assert (
        client.post(
            f"/tracing/cases/{mine.pk}/contacts/{contact.pk}/trace/", {"trace_status": "pending"}
        ).status_code
        == 404
    )
    case.refresh_from_db()
    assert case.status == "confirmed"
    assert not Exposure.objects.filter(case=case).exists()


def test_roles_without_personal_data_see_no_actions(case: Case, users: dict[str, User]) -> None:
    # the city's command office may act everywhere below it
    page = page_client(users["city"]).get(f"/tracing/cases/{case.pk}/").content.decode()
    assert 'data-testid="exposure-form"' in page and 'data-testid="recompute"' in page
    # an inspector sees no case at all (cases hold personal data)
    inspector = page_client(users["inspector"])
    assert inspector.get(f"/tracing/cases/{case.pk}/").status_code == 404
    assert inspector.post(f"/tracing/cases/{case.pk}/generations/").status_code == 404
    listing = inspector.get("/tracing/").content.decode()
    assert 'data-testid="report-case"' not in listing
