"""No API answer carries an unmasked ID or phone number, except reveal's.

`run_person_flows` drives every person endpoint, including the error paths, and records each
request and answer; tests/core/test_security_logs.py runs the same flows while capturing logs.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from fangkong.core.models import User
from fangkong.core.services import api_token_issue
from tests.clients import ApiClient
from tests.factories import PASSWORD, Tree, make_person, make_resident_id

pytestmark = pytest.mark.django_db

PHONE_1, PHONE_2, PHONE_3 = "13912345678", "13687654321", "15011112222"


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    body: str


@dataclass
class FlowRecord:
    exchanges: list[Exchange] = field(default_factory=list)
    secrets: dict[str, list[str]] = field(default_factory=dict)  # label -> forms to look for

    def answers(self, *, reveals: bool) -> list[Exchange]:
        return [e for e in self.exchanges if e.url.endswith("/reveal") == reveals]


class RecordingClient(ApiClient):
    def __init__(self, token: str | None, record: FlowRecord, ip: str = "10.7.0.1") -> None:
        super().__init__(token)
        self.record = record
        self.ip = ip

    def _keep(self, method: str, url: str, response: Any) -> Any:
        full = response.wsgi_request.get_full_path() if hasattr(response, "wsgi_request") else url
        body = response.content.decode("utf-8", "replace")
        # JSON escapes non-ASCII; compare against the decoded text too
        with contextlib.suppress(ValueError):
            body += "\n" + json.dumps(json.loads(body), ensure_ascii=False)
        self.record.exchanges.append(Exchange(method, full, response.status_code, body))
        return response

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params, headers=self.headers, REMOTE_ADDR=self.ip)
        return self._keep("GET", path, r)

    def post(self, path: str, data: Any = None) -> Any:
        r = self.client.post(
            path,
            data or {},
            content_type="application/json",
            headers=self.headers,
            REMOTE_ADDR=self.ip,
        )
        return self._keep("POST", path, r)

    def patch(self, path: str, data: Any) -> Any:
        r = self.client.patch(
            path, data, content_type="application/json", headers=self.headers, REMOTE_ADDR=self.ip
        )
        return self._keep("PATCH", path, r)


def id_forms(id_number: str, *, birth: bool = True) -> list[str]:
    """An ID as written, in lower case, its 17 body digits and (for answers) its birth date.

    The birth date beside the mask and the region would give the ID away in an answer; it is
    a plain column of the person row, so SQL debug logs legitimately show it (birth=False).
    """
    forms = {id_number, id_number.lower(), id_number[:17]}
    if birth:
        day = id_number[6:14]
        forms |= {day, f"{day[:4]}-{day[4:6]}-{day[6:]}"}
    return sorted(forms)


def without_birth_dates(secrets: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: [f for f in v if not _is_birth_form(f)] for k, v in secrets.items()}


def _is_birth_form(form: str) -> bool:
    return (len(form) == 10 and form[4] == "-") or (len(form) == 8 and form.isdigit())


def phone_forms(national: str) -> list[str]:
    return [national, f"+86{national}", f"{national[:3]} {national[3:7]} {national[7:]}"]


def _bad_checksum(id_number: str) -> str:
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


@dataclass
class _Flow:
    tree: Tree
    record: FlowRecord
    town: RecordingClient
    ids: dict[str, str]
    new: dict[str, Any]


def run_person_flows(tree: Tree, users: dict[str, User]) -> FlowRecord:
    """Create, get, list, search, update, 409, 422, reveal, other scopes and a failed login."""
    record = FlowRecord()
    ids = {"1": make_resident_id(), "2": make_resident_id(), "3": make_resident_id()}
    ids["bad"] = _bad_checksum(make_resident_id())
    record.secrets = {
        **{f"id_{k}": id_forms(v) for k, v in ids.items() if k != "bad"},
        "bad_id": [ids["bad"], ids["bad"][:17]],
        **{f"phone_{i}": phone_forms(p) for i, p in enumerate((PHONE_1, PHONE_2, PHONE_3), 1)},
    }
    elsewhere = make_person(tree.grid_b1, name="外区人", id_number=ids["3"], phone=PHONE_3)

    def client(who: str) -> RecordingClient:
        return RecordingClient(api_token_issue(user=users[who]), record)

    new = {"name": "李四", "id_number": ids["1"], "phone": PHONE_1, "address": "东街8号3单元"}
    flow = _Flow(tree, record, client("town_a1"), ids, new)
    pk = _create_read_update(flow)
    _conflicts_and_bad_input(flow, pk)
    shown = flow.town.post(f"/api/v1/people/{pk}/reveal", {"reason": "电话通知隔离"})
    assert shown.status_code == 200 and shown.json()["id_number"] == ids["2"]

    # other scopes: the city sees, the other district does not
    city, dist_b = client("city"), client("district_b")
    assert city.get("/api/v1/people").json()["count"] == 2
    assert city.get(f"/api/v1/people/{elsewhere.pk}").status_code == 200
    assert city.get("/api/v1/audit").status_code == 200
    assert dist_b.get(f"/api/v1/people/{pk}").status_code == 404
    assert dist_b.post("/api/v1/people/search", {"id_number": ids["2"]}).json()["count"] == 0

    anonymous = RecordingClient(None, record, ip="10.7.0.9")
    failed = anonymous.post("/api/v1/auth/token", {"username": "town_a1", "password": "wrong"})
    assert failed.status_code == 401
    return record


def _create_read_update(flow: _Flow) -> int:
    town, id_1 = flow.town, flow.ids["1"]
    created = town.post("/api/v1/people", {**flow.new, "region_code": flow.tree.grid_a1.code})
    assert created.status_code == 201, created.content
    pk = int(created.json()["id"])
    assert town.get(f"/api/v1/people/{pk}").status_code == 200
    assert town.get("/api/v1/people").json()["count"] == 1
    assert town.get("/api/v1/people", name="李", region=flow.tree.grid_a1.code).status_code == 200
    for query in ({"id_number": id_1}, {"id_number": id_1.lower()}, {"phone": PHONE_1}):
        assert town.post("/api/v1/people/search", query).json()["count"] == 1
    assert town.post("/api/v1/people/search", {"phone": f"+86{PHONE_1}"}).json()["count"] == 1
    changed = town.patch(f"/api/v1/people/{pk}", {"phone": PHONE_2, "id_number": flow.ids["2"]})
    assert changed.status_code == 200, changed.content
    return pk


def _conflicts_and_bad_input(flow: _Flow, pk: int) -> None:
    town, here = flow.town, flow.tree.town_a1.code
    # conflicts: the caller's own person, then someone in the other district
    own_dup = town.post(
        "/api/v1/people", {**flow.new, "id_number": flow.ids["2"], "region_code": here}
    )
    assert own_dup.status_code == 409 and own_dup.json()["existing"]["id"] == pk
    far_dup = town.post(
        "/api/v1/people", {**flow.new, "id_number": flow.ids["3"], "region_code": here}
    )
    assert far_dup.status_code == 202 and far_dup.json()["existing"] is None  # referred
    assert town.patch(f"/api/v1/people/{pk}", {"id_number": flow.ids["3"]}).status_code == 409
    # bad input: our validator, pydantic's type check, a bad phone, a reveal without reason
    bad = town.post(
        "/api/v1/people", {**flow.new, "id_number": flow.ids["bad"], "region_code": here}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "id_number"
    typed = {**flow.new, "id_number": int(flow.ids["1"][:17]), "region_code": here}
    assert town.post("/api/v1/people", typed).status_code == 422
    assert town.patch(f"/api/v1/people/{pk}", {"phone": PHONE_1[:-2]}).status_code == 422
    assert town.post("/api/v1/people/search", {}).status_code == 422
    assert town.post(f"/api/v1/people/{pk}/reveal", {"reason": "x"}).status_code == 422


def _leaks(text: str, secrets: dict[str, list[str]]) -> list[str]:
    return [
        f"{label}: {form!r}" for label, forms in secrets.items() for form in forms if form in text
    ]


def test_no_answer_holds_plaintext_except_reveal(tree: Tree, users: dict[str, User]) -> None:
    record = run_person_flows(tree, users)
    checked = record.answers(reveals=False)
    assert len(checked) >= 20
    problems = [
        f"{e.method} {e.url} ({e.status}) leaks {leak}"
        for e in checked
        for leak in _leaks(e.body, record.secrets)
    ]
    assert not problems, "\n".join(problems)
    # the scan is meaningful: the reveal answer does hold the plaintext it looks for
    revealed = " ".join(e.body for e in record.answers(reveals=True) if e.status == 200)
    assert _leaks(revealed, {"id_2": record.secrets["id_2"][:1]})
    assert _leaks(revealed, {"phone_2": record.secrets["phone_2"][1:2]})


def test_no_url_holds_an_id_or_phone_number(tree: Tree, users: dict[str, User]) -> None:
    record = run_person_flows(tree, users)
    problems = [
        f"{e.method} {e.url} holds {leak}"
        for e in record.exchanges
        for leak in _leaks(e.url, record.secrets)
    ]
    assert not problems, "\n".join(problems)


def test_answers_show_the_documented_masks(tree: Tree, api_as: Any) -> None:
    idn = make_resident_id()
    person = make_person(tree.grid_a1, id_number=idn, phone=PHONE_1)
    body = api_as("town_a1").get(f"/api/v1/people/{person.pk}").json()
    assert body["id_number"] == f"{idn[:6]}{'*' * 11}{idn[-1:]}"
    assert body["phone"] == "139****5678"
    assert body["birth_year"] == int(idn[6:10])
    assert "birth_date" not in body


def test_reveal_needs_a_reveal_role_and_is_audited_with_reason(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    from fangkong.core.models import AuditEvent, Role
    from tests.factories import UserFactory

    person = make_person(tree.grid_a1, phone=PHONE_1)
    grid_worker = UserFactory(username="gw", role=Role.GRID_WORKER, region=tree.grid_a1)
    api = ApiClient(api_token_issue(user=grid_worker))
    # the grid worker sees the masked person but may not unmask
    assert api.get(f"/api/v1/people/{person.pk}").status_code == 200
    refused = api.post(f"/api/v1/people/{person.pk}/reveal", {"reason": "上门随访"})
    assert refused.status_code == 403 and PHONE_1 not in refused.content.decode()
    assert not AuditEvent.objects.filter(action="person.reveal").exists()
    ok = api_as("town_a1").post(
        f"/api/v1/people/{person.pk}/reveal", {"reason": "上门随访", "fields": ["phone"]}
    )
    assert ok.json() == {
        "id": person.pk,
        "id_number": None,
        "phone": f"+86{PHONE_1}",
        "address": None,
    }
    event = AuditEvent.objects.get(action="person.reveal")
    assert (event.actor_username, event.object_id, event.reason) == (
        "town_a1",
        str(person.pk),
        "上门随访",
    )
    assert event.details == {"fields": ["phone"]}
    assert PHONE_1 not in json.dumps(event.details) + event.reason


def test_search_by_id_is_post_only(tree: Tree, api_as: Any) -> None:
    """There is no GET search that would put an ID number into a URL."""
    assert Client().get("/api/v1/people/search").status_code in (401, 405)
    assert api_as("town_a1").get("/api/v1/people/search", id_number="x").status_code == 405


# -- transport headers and cookies --------------------------------------------------------

HSTS = "max-age=31536000; includeSubDomains"


def _login(client: Client, **extra: Any) -> Any:
    page = client.get("/login/", **extra)
    assert page.status_code == 200
    done = client.post("/login/", {"username": "town_a1", "password": PASSWORD}, **extra)
    assert done.status_code == 302
    return page, done


def test_headers_and_cookie_flags_that_hold_without_tls(users: dict[str, User]) -> None:
    from fangkong.core.middleware import CONTENT_SECURITY_POLICY

    page, done = _login(Client())
    for answer in (page, done):
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert answer["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in answer
    assert page["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    csrf, session = page.cookies["csrftoken"], done.cookies["sessionid"]
    assert csrf["httponly"] and session["httponly"] and session["samesite"] == "Lax"
    assert not csrf["secure"] and not session["secure"]


def _tls(settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = 31_536_000, True
    settings.SECURE_SSL_REDIRECT = True


def test_tls_redirects_plain_http_and_sends_hsts_and_secure_cookies(
    users: dict[str, User], settings: Any
) -> None:
    _tls(settings)
    plain = Client().get("/people/?page=2")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/people/?page=2"
    page, done = _login(Client(), secure=True)
    assert page["Strict-Transport-Security"] == HSTS
    assert page.cookies["csrftoken"]["secure"] and done.cookies["sessionid"]["secure"]


def test_x_forwarded_proto_counts_only_when_trusted(users: dict[str, User], settings: Any) -> None:
    _tls(settings)
    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    assert Client().get("/login/", **proxied).status_code == 301  # a client could forge it
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    answer = Client().get("/login/", **proxied)
    assert answer.status_code == 200 and answer["Strict-Transport-Security"] == HSTS
