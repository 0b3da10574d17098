"""Jurisdiction scoping through the API: out of scope looks exactly like missing.

Every test here also tries the user who must NOT see the object (the Healthchecks habit).
"""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.models import Role, User
from fangkong.core.services import api_token_issue
from tests.clients import ApiClient
from tests.factories import Tree, UserFactory, make_person, make_resident_id

pytestmark = pytest.mark.django_db

PHONE_A1, PHONE_A2, PHONE_B1 = "13700000001", "13700000002", "13700000003"
PHONES = {"a1": PHONE_A1, "a2": PHONE_A2, "b1": PHONE_B1}


@pytest.fixture
def people(tree: Tree) -> dict[str, Any]:
    """One person in each of the sibling towns a1, a2 and in town b1 of the other district."""
    ids = {k: make_resident_id() for k in ("a1", "a2", "b1")}
    return {
        "ids": ids,
        "a1": make_person(tree.grid_a1, name="甲一", id_number=ids["a1"], phone=PHONE_A1),
        "a2": make_person(tree.grid_a2, name="乙二", id_number=ids["a2"], phone=PHONE_A2),
        "b1": make_person(tree.grid_b1, name="丙三", id_number=ids["b1"], phone=PHONE_B1),
    }


@pytest.fixture
def client_for(users: dict[str, User], tree: Tree) -> Any:
    """API client for a fixture user, or for an extra role created on demand."""
    extra = {
        "sampler": {"role": Role.SAMPLER, "institution": tree.lab},
        "market": {"role": Role.MARKET_REGULATOR, "region": tree.city},
        "grid_a1": {"role": Role.GRID_WORKER, "region": tree.grid_a1},
    }

    def make(who: str) -> ApiClient:
        user = users.get(who) or UserFactory(username=who, **extra[who])
        return ApiClient(api_token_issue(user=user))

    return make


def _listed(api: ApiClient, **params: Any) -> tuple[int, set[str]]:
    r = api.get("/api/v1/people", **params)
    assert r.status_code == 200, r.content
    body = r.json()
    return body["count"], {p["name"] for p in body["results"]}


def _searched(api: ApiClient, **body: str) -> set[str]:
    r = api.post("/api/v1/people/search", body)
    if r.status_code == 403:  # a role the table refuses search to learns nothing either
        return set()
    assert r.status_code == 200, r.content
    assert r.json()["count"] == len(r.json()["results"])
    return {p["name"] for p in r.json()["results"]}


def _assert_invisible(api: ApiClient, person: Any, id_number: str, phone: str) -> None:
    """Every way of reaching a person answers as if they did not exist."""
    assert api.get(f"/api/v1/people/{person.pk}").status_code == 404
    assert api.post(f"/api/v1/people/{person.pk}/reveal", {"reason": "核查身份"}).status_code == 404
    assert api.patch(f"/api/v1/people/{person.pk}", {"name": "改名"}).status_code == 404
    assert person.name not in _searched(api, id_number=id_number)
    assert person.name not in _searched(api, phone=phone)
    assert person.name not in _listed(api, name=person.name)[1]
    assert person.name not in _listed(api, region=person.region.code)[1]


def test_town_user_cannot_reach_a_sibling_towns_person(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    api = client_for("town_a1")
    _assert_invisible(api, people["a2"], people["ids"]["a2"], PHONE_A2)
    # the region filter naming the sibling town matches nothing, it does not error
    assert _listed(api, region=tree.town_a2.code) == (0, set())
    assert _listed(api, region=tree.grid_a2.code) == (0, set())
    # what the town user does see: exactly its own person, and counts say so
    assert _listed(api) == (1, {"甲一"})
    assert _searched(api, id_number=people["ids"]["a1"]) == {"甲一"}
    assert _searched(api, phone=PHONE_A1) == {"甲一"}
    assert api.get(f"/api/v1/people/{people['a1'].pk}").status_code == 200
    # a missing id answers the same as the sibling's
    missing = api.get("/api/v1/people/999999")
    hidden = api.get(f"/api/v1/people/{people['a2'].pk}")
    assert (missing.status_code, missing.content) == (hidden.status_code, hidden.content)


def test_city_office_sees_both_towns_and_both_districts(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    api = client_for("city")
    assert _listed(api) == (3, {"甲一", "乙二", "丙三"})
    assert _listed(api, region=tree.district_a.code) == (2, {"甲一", "乙二"})
    assert _listed(api, region=tree.town_a2.code) == (1, {"乙二"})
    assert _searched(api, id_number=people["ids"]["b1"]) == {"丙三"}
    for key in ("a1", "a2", "b1"):
        assert api.get(f"/api/v1/people/{people[key].pk}").status_code == 200


def test_sibling_districts_see_nothing_of_each_other(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    dist_a, dist_b = client_for("district_a"), client_for("district_b")
    assert _listed(dist_a) == (2, {"甲一", "乙二"})
    assert _listed(dist_b) == (1, {"丙三"})
    _assert_invisible(dist_a, people["b1"], people["ids"]["b1"], PHONE_B1)
    _assert_invisible(dist_b, people["a1"], people["ids"]["a1"], PHONE_A1)
    assert _listed(dist_b, region=tree.district_a.code)[0] == 0
    # regions too: the other district's subtree does not exist for them
    assert dist_b.get(f"/api/v1/regions/{tree.town_a1.code}").status_code == 404
    codes = {r["code"] for r in dist_b.get("/api/v1/regions").json()["results"]}
    assert tree.district_b.code in codes and not codes & {tree.district_a.code, tree.city.code}
    assert dist_b.get("/api/v1/regions", parent=tree.district_a.code).json()["count"] == 0


def test_community_and_grid_users_are_confined_to_their_subtree(
    people: dict[str, Any], client_for: Any
) -> None:
    assert _listed(client_for("community_a1")) == (1, {"甲一"})
    grid = client_for("grid_a1")
    assert _listed(grid) == (1, {"甲一"})
    _assert_invisible(grid, people["a2"], people["ids"]["a2"], PHONE_A2)


@pytest.mark.parametrize("who", ["lab", "sampler", "admin", "inspector", "market"])
def test_roles_without_personal_data_see_no_person(
    who: str, people: dict[str, Any], client_for: Any
) -> None:
    api = client_for(who)
    assert _listed(api) == (0, set())
    for key in ("a1", "a2", "b1"):
        _assert_invisible(api, people[key], people["ids"][key], PHONES[key])


@pytest.mark.parametrize("who", ["lab", "sampler", "admin", "inspector", "market"])
def test_roles_without_personal_data_cannot_register_people(
    who: str, tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    """Creating would hand them a person record, and the 409 path an existence oracle."""
    api = client_for(who)
    for id_number in (make_resident_id(), people["ids"]["a1"]):
        r = api.post(
            "/api/v1/people",
            {"name": "赵六", "id_number": id_number, "region_code": tree.grid_a1.code},
        )
        # 403 for roles that see regions, 422 "unknown region" for those that see none
        assert r.status_code in (403, 422), r.content
        assert "existing" not in r.json()
        assert "甲一" not in r.content.decode()
    assert _listed(client_for("city"))[0] == 3


def test_duplicate_in_another_jurisdiction_does_not_leak(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    api = client_for("town_a1")
    other = people["b1"]
    r = api.post(
        "/api/v1/people",
        {"name": "冒名", "id_number": people["ids"]["b1"], "region_code": tree.grid_a1.code},
    )
    assert r.status_code == 202  # referred to the command office (issue 8), not refused
    body = r.json()
    assert set(body) == {"detail", "existing"} and body["existing"] is None
    text = r.content.decode()
    for secret in (other.name, other.region.code, other.region.name, other.id_number_mask):
        assert secret not in text
    # the same through an update that would collide with the other district's person
    r = api.patch(f"/api/v1/people/{people['a1'].pk}", {"id_number": people["ids"]["b1"]})
    assert r.status_code == 409
    assert r.json()["existing"] is None
    assert other.name not in r.content.decode()
    # nothing was half-written: the person keeps their own document
    own = api.get(f"/api/v1/people/{people['a1'].pk}").json()
    assert own["id_number"] == people["a1"].id_number_mask


def test_duplicate_in_own_jurisdiction_names_the_existing_person(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    r = client_for("district_a").post(
        "/api/v1/people",
        {"name": "重复", "id_number": people["ids"]["a2"], "region_code": tree.grid_a1.code},
    )
    assert r.status_code == 409
    assert r.json()["existing"] == {"id": people["a2"].pk, "name": "乙二"}


def test_update_cannot_move_a_person_out_of_scope(
    tree: Tree, people: dict[str, Any], client_for: Any
) -> None:
    api = client_for("town_a1")
    r = api.patch(f"/api/v1/people/{people['a1'].pk}", {"region_code": tree.grid_b1.code})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "region"
    assert api.get(f"/api/v1/people/{people['a1'].pk}").json()["region_code"] == tree.grid_a1.code


def test_create_outside_scope_is_refused(tree: Tree, client_for: Any) -> None:
    r = client_for("town_a1").post(
        "/api/v1/people",
        {"name": "越界", "id_number": make_resident_id(), "region_code": tree.grid_a2.code},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "region"


def test_audit_log_is_for_the_command_office_only(client_for: Any) -> None:
    assert client_for("city").get("/api/v1/audit").status_code == 200
    for who in ("district_a", "town_a1", "admin", "inspector", "lab"):
        assert client_for(who).get("/api/v1/audit").status_code == 403


# --- list endpoints cost a fixed number of queries, however many rows -------------------


def _many_people(tree: Tree, n: int) -> None:
    for i in range(n):
        make_person(tree.grid_a1 if i % 2 else tree.grid_a2, name=f"人{i}", phone="")


def test_person_list_query_count_does_not_grow(
    tree: Tree, client_for: Any, django_assert_num_queries: Any
) -> None:
    api = client_for("city")
    _many_people(tree, 3)
    # token lookup (with user, region, institution), count, one page with regions joined
    with django_assert_num_queries(3):
        assert api.get("/api/v1/people").json()["count"] == 3
    _many_people(tree, 12)
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/people").json()["results"]) == 15
    # a region filter adds exactly the region lookup
    with django_assert_num_queries(4):
        assert api.get("/api/v1/people", region=tree.town_a1.code).json()["count"] == 7


def test_region_list_query_count_does_not_grow(
    tree: Tree, client_for: Any, django_assert_num_queries: Any
) -> None:
    from fangkong.core.models import Region, RegionLevel

    api = client_for("city")
    with django_assert_num_queries(3):
        first = api.get("/api/v1/regions").json()["count"]
    for i in range(10):
        Region.objects.create(
            code=f"{tree.community_a1.code}G{i + 10}",
            name=f"网格{i}",
            level=RegionLevel.GRID,
            parent=tree.community_a1,
        )
    with django_assert_num_queries(3):
        body = api.get("/api/v1/regions").json()
    assert body["count"] == first + 10 == len(body["results"])


def test_import_jobs_are_personal_data(tree: Tree, users: dict[str, User]) -> None:
    """A job is a list of named people: roles without personal data must not see it."""
    from fangkong.people.models import ImportJob
    from fangkong.people.selectors.persons import import_job_list

    job = ImportJob.objects.create(
        created_by=users["town_a1"],
        region=tree.town_a1,
        filename="名单.csv",
        stored_path="imports/x.csv",
        file_sha256="0" * 64,
    )
    for who in ("town_a1", "district_a", "city"):
        assert list(import_job_list(actor=users[who])) == [job]
    for who in ("town_a2", "district_b", "inspector", "admin", "lab"):
        assert not import_job_list(actor=users[who]).exists()
