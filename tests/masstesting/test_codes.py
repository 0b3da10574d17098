"""Registration codes: the QR payload, printable sheets (scoped, audited, codes created in
bulk) and the public self-service page by token."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fangkong.core.models import AuditEvent, Region, User
from fangkong.masstesting.models import RegistrationCode, Scan, ScanBatch, Tube, TubeStatus
from fangkong.masstesting.sampling.services import codes
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.people.models import Person
from tests.clients import page_client
from tests.factories import Tree, make_person
from tests.factories.masstesting import MassTestingSetup, campaign_setup

SHEETS = "/masstesting/codes/"
PRINT = "/masstesting/codes/print/"
# session, user, grid, residents, codes (read, insert, re-read), audit chain (head, lock,
# insert, update), session save, and the savepoints around them
PRINT_QUERIES = 18


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def residents(region: Region, n: int, *, name: str = "欧阳明") -> list[Person]:
    """n persons in bulk, without codes (the sheet creates them)."""
    tag = uuid.uuid4().hex[:8]
    Person.objects.bulk_create(
        [
            Person(
                name=name,
                id_type="resident_id",
                id_number_ct="x",
                id_number_bidx=f"{tag}{i}",
                id_number_mask="3701**********123X",
                region=region,
                region_path=region.path,
            )
            for i in range(n)
        ]
    )
    return list(Person.objects.filter(id_number_bidx__startswith=tag).order_by("pk"))


# ---------------------------------------------------------------- payload and QR


def test_payload_carries_only_the_token() -> None:
    assert codes.code_payload("abc_-123") == "FK1:abc_-123"
    assert codes.token_from_payload(" FK1:abc_-123\n") == "abc_-123"
    assert codes.token_from_payload("fk1:abc") == "abc"
    assert codes.token_from_payload("abc") == "abc"
    svg = codes.qr_svg("abc_-123")
    assert svg.startswith("<svg") and "qr-code" in svg


def test_mask_name() -> None:
    assert codes.mask_name("张三") == "张*"
    assert codes.mask_name("王小明") == "王*明"
    assert codes.mask_name("欧阳小明") == "欧**明"
    assert codes.mask_name("") == "*"


def test_codes_ensure_keeps_existing_tokens(tree: Tree) -> None:
    people = residents(tree.grid_a1, 5)
    kept = registration_code_for(person=people[0]).token
    tokens = codes.codes_ensure(person_ids=[p.pk for p in people])
    assert tokens[people[0].pk] == kept
    assert len(set(tokens.values())) == 5
    assert codes.codes_ensure(person_ids=[p.pk for p in people]) == tokens


# ---------------------------------------------------------------- sheets


def test_sheet_page_lists_the_grid_masked(tree: Tree, users: dict[str, User]) -> None:
    make_person(tree.grid_a1, name="张三丰")
    r = page_client(users["community_a1"]).get(SHEETS, {"grid": tree.grid_a1.pk})
    assert r.status_code == 200
    html = r.content.decode()
    assert "张*丰" in html and "张三丰" not in html
    assert tree.grid_a1.name in html
    assert tree.grid_b1.name not in html  # grids of another district are not offered


def test_sheet_page_sibling_town_404(tree: Tree, users: dict[str, User]) -> None:
    residents(tree.grid_a1, 2)
    for who in ("town_a2", "district_b"):
        client = page_client(users[who])
        assert client.get(SHEETS, {"grid": tree.grid_a1.pk}).status_code == 404, who
        r = client.post(PRINT, {"grid": tree.grid_a1.pk, "scope": "grid"})
        assert r.status_code == 404, who
    assert RegistrationCode.objects.count() == 0
    assert not AuditEvent.objects.filter(action="masstesting.code_sheet").exists()


def test_print_whole_grid_creates_codes_and_audits(tree: Tree, users: dict[str, User]) -> None:
    people = residents(tree.grid_a1, 12)
    residents(tree.grid_a2, 3)  # another grid of the same district: not on the sheet
    registration_code_for(person=people[0])
    r = page_client(users["town_a1"]).post(PRINT, {"grid": tree.grid_a1.pk, "scope": "grid"})
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count('data-testid="code-card"') == 12
    assert html.count('data-testid="sheet-page"') == 2  # ten cards to a page
    assert "欧*明" in html and "欧阳明" not in html
    assert "3701**********123X" in html
    assert RegistrationCode.objects.filter(person__region=tree.grid_a1).count() == 12
    assert RegistrationCode.objects.filter(person__region=tree.grid_a2).count() == 0
    (event,) = AuditEvent.objects.filter(action="masstesting.code_sheet")
    assert event.actor == users["town_a1"]
    assert event.object_id == str(tree.grid_a1.pk)
    assert event.details == {"grid": tree.grid_a1.code, "persons": 12}
    # the token is drawn as a QR, never printed as text beside the name
    assert RegistrationCode.objects.get(person=people[0]).token not in html


def test_print_selected_persons_only(tree: Tree, users: dict[str, User]) -> None:
    people = residents(tree.grid_a1, 5)
    (elsewhere,) = residents(tree.grid_a2, 1)
    chosen = [people[1].pk, people[3].pk, elsewhere.pk]
    r = page_client(users["community_a1"]).post(
        PRINT, {"grid": tree.grid_a1.pk, "scope": "selected", "person": chosen}
    )
    assert r.status_code == 200
    assert r.content.decode().count('data-testid="code-card"') == 2
    assert set(RegistrationCode.objects.values_list("person_id", flat=True)) == {
        people[1].pk,
        people[3].pk,
    }
    (event,) = AuditEvent.objects.filter(action="masstesting.code_sheet")
    assert event.details["persons"] == 2


def test_print_needs_a_personal_data_role(tree: Tree, users: dict[str, User]) -> None:
    residents(tree.grid_a1, 2)
    r = page_client(users["admin"]).post(PRINT, {"grid": tree.grid_a1.pk, "scope": "grid"})
    assert r.status_code == 403
    assert RegistrationCode.objects.count() == 0


def test_print_query_count_is_constant(
    tree: Tree, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    """A sheet costs the same queries for 3 cards or 60: codes are created in bulk."""
    residents(tree.grid_a1, 3)
    residents(tree.grid_a2, 60)
    client = page_client(users["district_a"])
    # an empty sheet first: the audit chain's head row exists from then on
    client.post(PRINT, {"grid": tree.grid_a1.pk, "scope": "selected"})
    for grid, n in ((tree.grid_a1, 3), (tree.grid_a2, 60)):
        with django_assert_num_queries(PRINT_QUERIES):
            r = client.post(PRINT, {"grid": grid.pk, "scope": "grid"})
        assert r.content.decode().count('data-testid="code-card"') == n


# ---------------------------------------------------------------- self-service page


def _negative_sample(mt: MassTestingSetup, person: Person, at: dt.datetime) -> None:
    tube = Tube.objects.create(
        campaign=mt.campaign,
        barcode="HS0001",
        point=mt.point,
        capacity=10,
        members=1,
        status=TubeStatus.RESULTED,
        opened_at=at,
        result="negative",
        resulted_at=at + dt.timedelta(hours=5),
    )
    batch = ScanBatch.objects.create(point=mt.point, idempotency_key="hs", body_hash="x")
    Scan.objects.create(
        campaign=mt.campaign,
        tube=tube,
        person=person,
        token="t",
        point=mt.point,
        batch=batch,
        scanned_at=at,
    )


def test_self_service_shows_code_and_result(tree: Tree, users: dict[str, User]) -> None:
    mt = campaign_setup(tree, users)
    person = make_person(tree.grid_a1, name="李四")
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    _negative_sample(mt, person, timezone.now() - dt.timedelta(hours=3))
    secret = url.split("/")[2]
    assert url == reverse("masstesting_public:self_service", args=[secret]) == f"/hs/{secret}/"
    r = Client().get(url)
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    html = r.content.decode()
    assert "李*" in html and "李四" not in html
    assert person.id_number_mask in html
    assert 'data-state="negative"' in html
    assert html.count('data-testid="sample-row"') == 1
    assert "<svg" in html
    assert "阴性" in html  # zh-Hans by default


def test_self_service_without_samples(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1, name="王五")
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    r = Client().get(url)
    assert r.status_code == 200
    assert 'data-state="none"' in r.content.decode()


def test_self_service_unknown_token_is_a_plain_404(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    person = make_person(tree.grid_a1)
    registration_code_for(person=person)
    missing = Client().get("/no-such-page-here/")
    with caplog.at_level(logging.INFO):
        r = Client().get("/hs/AAAAAAAAAAAAAAAAAAAAAA/")
    assert r.status_code == 404

    def page(html: bytes, path: str) -> str:
        # the language switch returns to the page's own path; the rest is the same page
        text = html.decode().replace(path, "PATH")
        return re.sub(r"[A-Za-z0-9]{64}", "CSRF", re.sub(r"\s+", "", text))

    assert page(r.content, "/hs/AAAAAAAAAAAAAAAAAAAAAA/") == page(
        missing.content, "/no-such-page-here/"
    )
    assert "AAAAAAAAAAAAAAAAAAAAAA" not in caplog.text


def test_self_service_throttled_per_address(
    tree: Tree, users: dict[str, User], settings: Any
) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 3
    person = make_person(tree.grid_a1)
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.get(f"/hs/bad{i}/").status_code for i in range(3)] == [404, 404, 404]
    r = client.get(url)
    assert r.status_code == 429
    assert r["Retry-After"] == "3600"
    assert Client(REMOTE_ADDR="203.0.113.10").get(url).status_code == 200


def test_self_service_in_english(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1)
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    client = Client()
    client.post(reverse("web:set_language"), {"language": "en", "next": "/"})
    html = client.get(url).content.decode()
    assert "Latest result" in html
