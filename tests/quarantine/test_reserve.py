"""The room reserve: rooms by state per region, rooms per 10,000 residents against the
standard, the 24/72 h need, the alarm on the home page, the policy, scope and query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.core.models import Region, User
from fangkong.core.permissions import Forbidden
from fangkong.quarantine.models import RoomState
from fangkong.quarantine.reserve import alarms, reserve_region
from fangkong.quarantine.services import reserve as reserve_services
from fangkong.quarantine.services import sites, stays
from fangkong.tracing.models import CaseContact
from tests.factories import Tree, make_person
from tests.factories.quarantine import active_site, corridor_rooms, quarantined
from tests.factories.tracing import confirmed_case

BASE = "/api/v1/quarantine"


@pytest.fixture
def city(tree: Tree, users: dict[str, User]) -> dict[str, Any]:
    """Town A1: an active site of 8 rooms (1 out of service, 1 occupied); town A2: a reserve
    site of 4 rooms. District A has 20,000 residents, A1 12,000, A2 8,000."""
    actor = users["district_a"]
    for region, n in ((tree.district_a, 20_000), (tree.town_a1, 12_000), (tree.town_a2, 8_000)):
        Region.objects.filter(pk=region.pk).update(population=n)
    for region in (tree.district_a, tree.town_a1, tree.town_a2):
        region.refresh_from_db()
    active = active_site(actor, tree.town_a1, corridor_rooms(pairs=4))
    reserve_site = sites.site_create(actor=actor, code="RS1", name="储备点", region=tree.town_a2)
    sites.rooms_add(actor=actor, site=reserve_site, rooms=corridor_rooms(pairs=2))
    broken = active.site.rooms.order_by("number").last()
    sites.room_set_state(actor=actor, room=broken, state=RoomState.OUT_OF_SERVICE)
    housed = quarantined(tree.community_a1, name="已入住")
    stays.stays_allocate(actor=actor, measures=[housed], site=active.site)
    today = timezone.localdate()
    quarantined(tree.community_a1, name="今天", start=today)  # 24 h
    quarantined(tree.community_a2, name="后天", start=today + dt.timedelta(days=2))  # 72 h
    quarantined(tree.community_a2, name="五天后", start=today + dt.timedelta(days=5))  # neither
    case = confirmed_case(actor=actor, person=make_person(tree.community_a1, name="病例"))
    contact = make_person(tree.community_a1, name="密接")
    now = timezone.now()
    for generation in (1, 2):  # only the close contact is counted
        CaseContact.objects.create(
            case=case, person=contact if generation == 1 else make_person(tree.community_a1),
            generation=generation, region_path=case.region_path, computed_at=now,
            updated_at=now,
        )  # fmt: skip
    return {"active": active, "reserve": reserve_site}


def _rows(actor: User, region: Region) -> dict[str, Any]:
    found = reserve_region(actor=actor, region=region)
    return {"total": found.total, **{r.region.code: r for r in found.rows}}


def test_rooms_ratio_and_need_per_region(
    tree: Tree, users: dict[str, User], city: dict[str, Any]
) -> None:
    rows = _rows(users["district_a"], tree.district_a)
    a1, a2, total = rows[tree.town_a1.code], rows[tree.town_a2.code], rows["total"]
    assert a1.rooms == {"available": 6, "occupied": 1, "disinfection": 0, "out_of_service": 1}
    assert (a1.total, a1.usable, a1.free, a1.standby) == (8, 7, 6, 0)
    assert (a2.total, a2.free, a2.standby) == (4, 0, 4)
    assert a1.per_10k == pytest.approx(7 * 10_000 / 12_000)
    assert total.per_10k == pytest.approx(11 * 10_000 / 20_000)
    # the national standard: 20 per 10,000 — 24 rooms for 12,000 residents
    assert a1.required == 24 and not a1.meets_standard
    assert (a1.need_24h, a1.need_72h) == (1, 2)  # today's measure; plus the close contact
    assert (a2.need_24h, a2.need_72h) == (0, 1)
    assert (total.need_24h, total.need_72h) == (1, 3)
    # 6 free at active sites is below the default alarm of 10; A2 holds rooms but none free
    assert a1.alarm and a2.alarm and total.alarm


def test_a_policy_set_above_is_followed_below_and_clears_the_alarm(
    tree: Tree, users: dict[str, User], city: dict[str, Any]
) -> None:
    reserve_services.reserve_policy_set(
        actor=users["district_a"], region=tree.district_a, rooms_per_10k=5, min_free_rooms=2
    )
    rows = _rows(users["district_a"], tree.district_a)
    a1 = rows[tree.town_a1.code]
    assert a1.policy.rooms_per_10k == 5 and a1.policy.set_at == tree.district_a
    assert a1.required == 6 and a1.meets_standard and not a1.alarm
    assert rows[tree.town_a2.code].alarm  # no free room at all
    with pytest.raises(Forbidden):
        reserve_services.reserve_policy_set(
            actor=users["town_a1"], region=tree.town_a1, rooms_per_10k=5, min_free_rooms=2
        )
    # the district as a whole has 6 free for a need of 1: only town A2 is listed
    assert [r.region for r in alarms(actor=users["district_a"])] == [tree.town_a2]


def test_a_sibling_district_sees_nothing_and_counts_obey_scope(
    tree: Tree, users: dict[str, User], city: dict[str, Any], api_as: Any
) -> None:
    mine = reserve_region(actor=users["district_b"]).total
    assert (mine.total, mine.need_24h, mine.need_72h) == (0, 0, 0)
    client = api_as("district_b")
    assert client.get(f"{BASE}/reserve", region_id=tree.district_a.pk).status_code == 404
    refused = client.post(
        f"{BASE}/reserve/{tree.district_a.pk}/policy", {"rooms_per_10k": 1, "min_free_rooms": 0}
    )
    assert refused.status_code == 404
    # the site's staff see their own site's rooms, and no one's need but their site's region's
    staff = reserve_region(actor=city["active"].staff).total
    assert staff.total == 8


def test_the_api_answers_in_a_fixed_number_of_queries(
    tree: Tree, users: dict[str, User], city: dict[str, Any], api_as: Any
) -> None:
    client = api_as("city")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(f"{BASE}/reserve", region_id=tree.district_a.pk)
        assert r.status_code == 200
        return len(ctx.captured_queries)

    before = count()
    active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=3))
    quarantined(tree.community_a2, name="又一位")
    assert count() == before
    body = client.get(f"{BASE}/reserve", region_id=tree.district_a.pk).json()
    a2 = next(r for r in body["rows"] if r["region_code"] == tree.town_a2.code)
    assert a2["free"] == 6 and a2["standby"] == 4 and a2["need_24h"] == 1


def test_the_page_the_form_and_the_home_page_alarm(
    tree: Tree, users: dict[str, User], city: dict[str, Any]
) -> None:
    client = Client()
    client.force_login(users["district_a"])
    page = client.get("/quarantine/reserve/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="policy-form"' in html and tree.town_a1.name in html
    home = client.get("/").content.decode()
    assert 'data-testid="reserve-alarms"' in home
    saved = client.post(
        f"/quarantine/reserve/{tree.district_a.pk}/policy/",
        {"policy-rooms_per_10k": 5, "policy-min_free_rooms": 0},
    )
    assert saved.status_code == 302
    bad = client.post(
        f"/quarantine/reserve/{tree.district_a.pk}/policy/",
        {"policy-rooms_per_10k": 0, "policy-min_free_rooms": 0},
    )
    assert bad.status_code == 422
    town = Client()
    town.force_login(users["town_a1"])
    town_page = town.get("/quarantine/reserve/").content.decode()
    assert 'data-testid="policy-form"' not in town_page
    assert 'data-testid="reserve-alarms"' not in town.get("/").content.decode()
