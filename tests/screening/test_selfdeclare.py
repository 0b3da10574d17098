"""The public self-declaration page: no login, CSRF, per-field errors, a pending record with an
opaque QR token, the per-address throttle, and the scoped token lookup at checkpoints."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from fangkong.core.models import AuditEvent, User
from fangkong.people.models import Person
from fangkong.screening.models import DeclarationHit, ScreeningRecord
from tests.factories import PASSWORD, Tree, make_resident_id
from tests.factories.screening import ensure_default_rules, local

URL = "/declare/"


@pytest.fixture(autouse=True)
def _seeded(db: Any) -> None:
    ensure_default_rules()


def _form(tree: Tree, **overrides: str) -> dict[str, str]:
    data = {
        "name": "赵六",
        "id_type": "resident_id",
        "id_number": make_resident_id(),
        "phone": "13712345678",
        "origin_place": "上海市浦东新区张江镇",
        "route_text": "2022-05-07 上海市浦东新区\n2022-05-08 320102 南京市玄武区",
        "arrival_at": "2022-05-11T15:30",
        "travel_mode": "train",
        "destination": tree.community_a1.code,
        "address": "东街5号1单元101",
        "promise": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(local(2022, 5, 10, 10, 0), tick=False) as traveller:
        yield traveller


def test_page_needs_no_login_and_lists_communities(client: Client, tree: Tree) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'action="{URL}"' in body
    assert tree.community_a1.code in body and tree.community_b1.name in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'name="viewport"' in body


def test_declaration_creates_a_pending_record_and_a_qr_token(
    client: Client, tree: Tree, frozen: Any
) -> None:
    data = _form(tree)
    response = client.post(URL, data)
    assert response.status_code == 200
    record = ScreeningRecord.objects.get()
    assert record.source == "self_declaration"
    assert record.status == "pending"
    assert record.destination_id == tree.community_a1.pk
    assert record.person_id is None and Person.objects.count() == 0
    assert record.route == [
        {"date": "2022-05-07", "code": "", "place": "上海市浦东新区"},
        {"date": "2022-05-08", "code": "320102", "place": "南京市玄武区"},
    ]
    assert record.arrival_at == local(2022, 5, 11, 15, 30)
    # the token is random, url-safe, 22 characters, and unrelated to the person
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", record.token)
    assert data["id_number"] not in record.token and data["phone"][-4:] not in record.token
    body = response.content.decode()
    assert record.token in body
    assert "<svg" in body and 'class="qr-code"' in body
    # personal data is stored encrypted and shown masked only
    assert data["id_number"] not in body
    assert record.id_number_ct and data["id_number"] not in record.id_number_ct
    assert AuditEvent.objects.filter(action="screening.self_declare").count() == 1


def test_bad_input_is_reported_per_field(client: Client, tree: Tree, frozen: Any) -> None:
    response = client.post(
        URL,
        _form(tree, id_number="110105199001011234", phone="12345", destination="", promise=""),
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) >= {"id_number", "phone", "destination", "promise"}
    assert (
        "resident ID checksum is wrong" in str(form.errors["id_number"]) or form.errors["id_number"]
    )
    assert ScreeningRecord.objects.count() == 0
    body = response.content.decode()
    assert body.count('class="field-error"') >= 4
    # the rejected number is not echoed back into the page
    assert "110105199001011234" not in body


def test_csrf_is_enforced(tree: Tree, frozen: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(URL, _form(tree)).status_code == 403
    page = client.get(URL)
    token = page.context["csrf_token"]
    assert client.post(URL, {**_form(tree), "csrfmiddlewaretoken": str(token)}).status_code == 200


def test_throttle_per_client_address(
    client: Client, tree: Tree, settings: Any, frozen: Any
) -> None:
    settings.SELF_DECLARATIONS_PER_HOUR = 3
    assert client.post(URL, _form(tree)).status_code == 200
    assert client.post(URL, _form(tree, phone="1")).status_code == 422  # bad posts count too
    assert client.post(URL, _form(tree)).status_code == 200
    blocked = client.post(URL, _form(tree))
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "3600"
    assert "一小时" in blocked.content.decode() or "hour" in blocked.content.decode()
    assert ScreeningRecord.objects.count() == 2
    # another address is not affected; the address itself is stored only as a keyed hash
    other = client.post(URL, _form(tree), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200
    assert not DeclarationHit.objects.filter(client_key__contains="127.0.0.1").exists()
    frozen.shift(dt.timedelta(hours=1, minutes=1))
    assert client.post(URL, _form(tree)).status_code == 200


def _login(client: Client, user: User) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def test_checkpoint_looks_up_the_token_within_its_jurisdiction(
    client: Client, tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    client.post(URL, _form(tree))
    record = ScreeningRecord.objects.get()

    staff = Client()
    _login(staff, users["town_a1"])
    found = staff.post("/screening/lookup/", {"token": record.token})
    assert found.status_code == 302
    assert found["Location"] == f"/screening/{record.pk}/"
    page = staff.get(found["Location"])
    assert page.status_code == 200 and "赵六" in page.content.decode()

    sibling = Client()
    _login(sibling, users["town_a2"])
    missing = sibling.post("/screening/lookup/", {"token": record.token})
    assert missing.status_code == 404
    assert "赵六" not in missing.content.decode()
    assert sibling.get(f"/screening/{record.pk}/").status_code == 404
    # the lookup is a POST body: a GET with the token in the URL is refused
    assert staff.get("/screening/lookup/", {"token": record.token}).status_code == 405


def test_api_lookup_is_scoped(api_as: Any, client: Client, tree: Tree, frozen: Any) -> None:
    client.post(URL, _form(tree))
    record = ScreeningRecord.objects.get()
    ok = api_as("community_a1").post("/api/v1/screening/screenings/lookup", {"token": record.token})
    assert ok.status_code == 200 and ok.json()["id"] == record.pk
    assert ok.json()["id_number"].count("*") >= 8
    miss = api_as("town_a2").post("/api/v1/screening/screenings/lookup", {"token": record.token})
    assert miss.status_code == 404
