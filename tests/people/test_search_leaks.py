"""Issue 8, item 3: ID and phone search — who may search, audit, throttle, and what masks leak."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from fangkong.core.models import AuditEvent, Role
from fangkong.core.services import api_token_issue
from fangkong.core.vault import blind_index
from tests.clients import ApiClient
from tests.factories import PASSWORD, UserFactory, make_person, make_resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Any:
    cache.clear()
    yield
    cache.clear()


def _check_digit(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(body17, weights, strict=True))
    return "10X98765432"[total % 11]


def _candidates(mask: str, *, birth_year: int | None, sex: str) -> int:
    """How many valid 18-digit resident IDs agree with the mask and the fields shown beside it."""
    assert len(mask) == 18
    place, check = mask[:6], mask[17]
    assert "*" not in place
    # the middle of the mask must hide every birth-date and sequence digit
    assert mask[6:17] == "*" * 11, mask
    count = 0
    years = [birth_year] if birth_year else range(1900, 2027)
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            for seq in range(1000):
                if sex in ("M", "F") and (seq % 2 == 1) != (sex == "M"):
                    continue
                body = f"{place}{day:%Y%m%d}{seq:03d}"
                if _check_digit(body) == check:
                    count += 1
            day += dt.timedelta(days=1)
        if not birth_year and count >= 1000:
            break
    return count


def test_the_34_guess_attack_is_refused_audited_and_leaves_a_thousand_candidates(
    tree: Any, users: dict[str, Any], api_as: Any
) -> None:
    idn = make_resident_id(birth=dt.date(1985, 6, 17))
    victim = make_person(tree.grid_a1, id_number=idn, phone="13912345678")
    grid = UserFactory(username="grid_a1", role=Role.GRID_WORKER, region=tree.grid_a1)
    attacker = ApiClient(api_token_issue(user=grid))
    # a grid worker may not search at all: the attack has no oracle
    for guess in (idn, make_resident_id()):
        r = attacker.post("/api/v1/people/search", {"id_number": guess})
        assert r.status_code == 403, r.content
    assert attacker.post("/api/v1/people/search", {"phone": "13912345678"}).status_code == 403
    web = Client()
    web.login(username="grid_a1", password=PASSWORD)
    assert web.post("/people/search/", {"id_number": idn}).status_code == 403

    # a permitted searcher: every search leaves an audit row with a keyed hash, never the term
    town = api_as("town_a1")
    before = AuditEvent.objects.filter(action="person.search").count()
    hit = town.post("/api/v1/people/search", {"id_number": idn})
    assert hit.status_code == 200 and hit.json()["count"] == 1
    miss = town.post("/api/v1/people/search", {"phone": "13700000000"})
    assert miss.status_code == 200 and miss.json()["count"] == 0
    rows = list(AuditEvent.objects.filter(action="person.search").order_by("seq"))[before:]
    assert len(rows) == 2
    assert [r.details["hits"] for r in rows] == [1, 0]
    assert all(r.actor_username == "town_a1" for r in rows)
    assert rows[0].details["term_hash"] == blind_index(idn, purpose="audit.person_search")
    for row in rows:
        dumped = str(row.details) + row.reason + row.object_id
        assert idn not in dumped and "13700000000" not in dumped and "0000000" not in dumped

    # what the answer shows leaves at least 1000 candidates for the full ID
    shown = hit.json()["results"][0]
    assert idn not in hit.content.decode()
    left = _candidates(shown["id_number"], birth_year=shown["birth_year"], sex=shown["sex"])
    assert left >= 1000, left
    assert victim.id_number_mask == shown["id_number"]


def test_a_searcher_past_the_limit_gets_429_with_retry_after(
    tree: Any, api_as: Any, settings: Any
) -> None:
    settings.PERSON_SEARCHES_PER_WINDOW = 3
    make_person(tree.grid_a1, phone="13912345678")
    town = api_as("town_a1")
    for _ in range(3):
        assert town.post("/api/v1/people/search", {"phone": "13912345678"}).status_code == 200
    r = town.post("/api/v1/people/search", {"phone": "13912345678"})
    assert r.status_code == 429
    assert int(r["Retry-After"]) > 0
    # the limit is per user: a colleague still searches
    assert api_as("district_a").post("/api/v1/people/search", {"phone": "1"}).status_code == 200
    web = Client()
    web.login(username="town_a1", password=PASSWORD)
    page = web.post("/people/search/", {"phone": "13912345678"})
    assert page.status_code == 429 and int(page["Retry-After"]) > 0


def test_the_search_page_audits_each_search_without_the_term(tree: Any, users: Any) -> None:
    make_person(tree.grid_a1, phone="13912345678")
    web = Client()
    web.login(username="town_a1", password=PASSWORD)
    r = web.post("/people/search/", {"phone": "13912345678"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    row = AuditEvent.objects.filter(action="person.search").latest("seq")
    assert row.details["hits"] == 1 and row.details["kind"] == "phone"
    assert "13912345678" not in str(row.details)
