"""The quarantine API: scoped reads (a sibling town and another site's staff see nothing),
masked names, exact query counts on the lists, and the allocation round trip."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.models import User
from fangkong.quarantine.models import RoomState
from fangkong.quarantine.services import stays
from tests.clients import api_client, zh
from tests.factories import Tree
from tests.factories.quarantine import SiteSetup, active_site, corridor_rooms, quarantined

BASE = "/api/v1/quarantine"


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    # a district site in town A2; residents of town A1 are quarantined there
    return active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=3))


def test_allocate_check_in_and_out_through_the_api(
    tree: Tree, users: dict[str, User], setup: SiteSetup, api_as: Any
) -> None:
    measure = quarantined(tree.community_a1, name="欧阳明")
    district = api_as("district_a")
    r = district.post(f"{BASE}/stays", {"measure_ids": [measure.pk], "site_id": setup.site.pk})
    assert r.status_code == 201, r.json()
    stay = r.json()["stays"][0]
    assert stay["person_name"] == "欧*明" and stay["state"] == "allocated"
    again = district.post(f"{BASE}/stays", {"measure_ids": [measure.pk], "site_id": setup.site.pk})
    names = {"room": stay["room"], "site": setup.site.institution.name}
    assert again.status_code == 409
    assert again.json()["detail"] == zh(
        "this person already has room %(room)s at %(site)s", **names
    )
    staff = api_client(setup.staff)
    assert staff.post(f"{BASE}/stays/{stay['id']}/check-in").status_code == 200
    out = staff.post(f"{BASE}/stays/{stay['id']}/check-out", {"note": "解除隔离"})
    assert out.status_code == 200 and out.json()["state"] == "checked_out"
    room = staff.get(f"{BASE}/sites/{setup.site.pk}/rooms", state="disinfection").json()
    assert [r["id"] for r in room["items"]] == [stay["room_id"]]
    done = staff.post(f"{BASE}/rooms/{stay['room_id']}/state", {"state": "available"})
    assert done.status_code == 200 and done.json()["state"] == RoomState.AVAILABLE
    # site staff may not allocate
    other = quarantined(tree.community_a1, name="李四")
    refused = staff.post(f"{BASE}/stays", {"measure_ids": [other.pk], "site_id": setup.site.pk})
    assert refused.status_code == 404  # the measure is not theirs to see at all


def test_outsiders_see_nothing(tree: Tree, users: dict[str, User], setup: SiteSetup) -> None:
    stay = stays.stays_allocate(
        actor=users["district_a"], measures=[quarantined(tree.community_a1)], site=setup.site
    ).stays[0]
    other_site = active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=1))
    home_town = api_client(users["town_a1"])  # the resident's town sees the stay elsewhere
    assert home_town.get(f"{BASE}/stays/{stay.pk}").status_code == 200
    assert home_town.get(f"{BASE}/sites/{setup.site.pk}").status_code == 404
    site_town = api_client(users["town_a2"])  # the site's town: the site, not the resident
    assert site_town.get(f"{BASE}/sites/{setup.site.pk}").status_code == 200
    assert site_town.get(f"{BASE}/stays/{stay.pk}").status_code == 404
    for outsider in (api_client(users["district_b"]), api_client(other_site.staff)):
        assert outsider.get(f"{BASE}/stays/{stay.pk}").status_code == 404
        assert outsider.get(f"{BASE}/sites/{setup.site.pk}").status_code == 404
        assert outsider.get(f"{BASE}/sites/{setup.site.pk}/rooms").status_code == 404
        assert outsider.post(f"{BASE}/stays/{stay.pk}/check-in").status_code == 404
        assert outsider.get(f"{BASE}/stays").json()["count"] == 0
    assert api_client(users["district_b"]).get(f"{BASE}/sites").json()["count"] == 0
    assert api_client(setup.staff).get(f"{BASE}/stays").json()["count"] == 1


def test_lists_answer_in_a_fixed_number_of_queries(
    tree: Tree, users: dict[str, User], setup: SiteSetup, django_assert_num_queries: Any
) -> None:
    actor = users["district_a"]
    for i in range(4):
        stays.stays_allocate(
            actor=actor, measures=[quarantined(tree.community_a1, name=f"人{i}")], site=setup.site
        )
    active_site(actor, tree.town_a1, corridor_rooms(pairs=2))
    api = api_client(actor)
    # token, count, page (institution, region, grid joined; room counts in the same SELECT)
    with django_assert_num_queries(3):
        sites = api.get(f"{BASE}/sites").json()
    assert sites["count"] == 2
    counts = {s["id"]: s["rooms"] for s in sites["items"]}
    assert counts[setup.site.pk] == {
        "available": 2, "occupied": 4, "disinfection": 0, "out_of_service": 0,
    }  # fmt: skip
    # token, count, page (person, room, site and institution joined)
    with django_assert_num_queries(3):
        assert api.get(f"{BASE}/stays").json()["count"] == 4
    # token, site, count, page
    with django_assert_num_queries(4):
        assert api.get(f"{BASE}/sites/{setup.site.pk}/rooms").json()["count"] == 6


def test_bad_input_is_named(tree: Tree, users: dict[str, User], setup: SiteSetup) -> None:
    api = api_client(users["district_a"])
    r = api.post(
        f"{BASE}/sites/{setup.site.pk}/rooms",
        {"rooms": [{"building": "1", "floor": 2, "number": "201", "capacity": 0}]},
    )
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "capacity")]
    assert r.json()["errors"][0]["reason"] == zh("capacity is 1 to 6 persons")
    bad = api.post(f"{BASE}/sites", {"code": "", "name": "x", "region_id": tree.town_a1.pk})
    assert bad.status_code == 422
    home = quarantined(tree.community_a1)
    home.kind = "home_quarantine"
    home.save(update_fields=["kind"])
    r = api.post(f"{BASE}/stays", {"measure_ids": [home.pk], "site_id": setup.site.pk})
    assert r.status_code == 422
    state = api.post(f"{BASE}/sites/{setup.site.pk}/state", {"state": "reserve"})
    assert state.status_code == 409


def test_a_batch_houses_whom_it_can_and_names_the_rest(
    tree: Tree, users: dict[str, User], setup: SiteSetup, api_as: Any
) -> None:
    group = [quarantined(tree.community_a1, name=f"批{i}") for i in range(8)]
    district = api_as("district_a")
    body = {"measure_ids": [m.pk for m in group], "site_id": setup.site.pk, "cohort": "K1"}
    r = district.post(f"{BASE}/stays/batch", body)
    assert r.status_code == 200, r.json()
    out = r.json()
    assert [s["measure_id"] for s in out["stays"]] == [m.pk for m in group[:6]]
    assert len({s["room_id"] for s in out["stays"]}) == 6
    assert [x["measure_id"] for x in out["refused"]] == [m.pk for m in group[6:]]
    assert out["refused"][0]["reason"].startswith(setup.site.institution.name)
    # a sibling town cannot name these measures at all; retrying houses nobody twice
    assert api_as("town_a2").post(f"{BASE}/stays/batch", body).status_code == 404
    again = district.post(f"{BASE}/stays/batch", body).json()
    assert again["stays"] == [] and len(again["refused"]) == 8
