"""Capacity planning over HTTP: the API operations and the planner page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from fangkong.core.models import User
from tests.clients import page_client
from tests.factories import Tree

PLAN = "/api/v1/masstesting/capacity/plan"
DORFMAN = "/api/v1/masstesting/capacity/dorfman"
PAGE = "/masstesting/capacity/"

COUNTY = {
    "population": 150_000,
    "pool_size": 10,
    "prevalence": 0,
    "lab_tubes_per_day": [2200],
    "sampling_points": 100,
    "persons_per_hour": 120,
    "hours_per_day": 12,
    "window_hours": 168,
}


def _field_of(response: Any) -> set[str]:
    return {str(d["loc"][-1]) for d in response.json()["detail"]}


@pytest.mark.django_db
def test_plan_for_the_seed_county(api_as: Any) -> None:
    r = api_as("town_a1").post(PLAN, COUNTY)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["feasible"] is True
    assert body["bottleneck"] == "lab"
    assert body["people_per_lab_day"] == 22_000
    assert body["tubes_total"] == 15_000
    assert body["missing"] == {
        "sampling_points": 0,
        "lab_tubes_per_day": 0,
        "min_window_hours": 164,
        "sampling_points_required": 15,  # 150,000 / (120 × 84 opening hours)
        "lab_tubes_per_day_required": 2143,
    }


@pytest.mark.django_db
def test_plan_for_a_city_in_a_day_says_what_is_missing(api_as: Any) -> None:
    city = {
        **COUNTY,
        "population": 10_000_000,
        "hours_per_day": 24,
        "window_hours": 24,
        "lab_tubes_per_day": [2200, 3000],
    }
    body = api_as("city").post(PLAN, city).json()
    assert body["feasible"] is False
    assert body["bottleneck"] == "lab"
    assert body["lab_tubes_per_day"] == 5200
    assert body["missing"]["lab_tubes_per_day_required"] == 1_000_000
    assert body["missing"]["lab_tubes_per_day"] == 994_800
    assert body["missing"]["sampling_points_required"] == 3473
    assert body["missing"]["sampling_points"] == 3373


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"population": 0}, "population"),
        ({"pool_size": 60}, "pool_size"),
        ({"prevalence": 1.2}, "prevalence"),
        ({"lab_tubes_per_day": []}, "lab_tubes_per_day"),
        ({"hours_per_day": 30}, "hours_per_day"),
        ({"sampling_points": "many"}, "sampling_points"),
        ({"window_hours": None}, "window_hours"),
    ],
)
def test_plan_bad_input_is_422_naming_the_field(
    api_as: Any, change: dict[str, Any], field: str
) -> None:
    r = api_as("town_a1").post(PLAN, {**COUNTY, **change})
    assert r.status_code == 422, r.content
    assert field in _field_of(r)


@pytest.mark.django_db
def test_plan_missing_field_is_422(api_as: Any) -> None:
    body = {k: v for k, v in COUNTY.items() if k != "population"}
    r = api_as("town_a1").post(PLAN, body)
    assert r.status_code == 422
    assert "population" in _field_of(r)


@pytest.mark.django_db
def test_dorfman_table(api_as: Any) -> None:
    r = api_as("town_a1").post(DORFMAN, {"prevalence": 0.01})
    assert r.status_code == 200
    body = r.json()
    assert [row["pool_size"] for row in body["rows"]] == [1, 5, 10, 20]
    assert body["best_overall"]["pool_size"] == 11
    assert body["best_overall"]["expected_tests"] == pytest.approx(0.1956, abs=5e-5)
    assert body["best_allowed"]["pool_size"] == 10
    assert len(body["curve"]) == 50


@pytest.mark.django_db
def test_dorfman_high_prevalence_and_bad_input(api_as: Any) -> None:
    client = api_as("town_a1")
    assert client.post(DORFMAN, {"prevalence": 0.5}).json()["best_overall"]["pool_size"] == 1
    r = client.post(DORFMAN, {"prevalence": 0.01, "pool_sizes": [10, 0]})
    assert r.status_code == 422
    assert _field_of(r) == {"pool_sizes"}
    r = client.post(DORFMAN, {"prevalence": -1})
    assert r.status_code == 422
    assert _field_of(r) == {"prevalence"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", [PLAN, DORFMAN])
def test_unauthenticated_is_401(users: dict[str, User], path: str) -> None:
    r = Client().post(path, {"prevalence": 0.01}, content_type="application/json")
    assert r.status_code == 401


# --- the page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_requires_login(users: dict[str, User]) -> None:
    r = Client().get(PAGE)
    assert r.status_code == 302
    assert "/login/" in r["Location"]


@pytest.mark.django_db
def test_page_prefills_the_town_population(tree: Tree, users: dict[str, User]) -> None:
    tree.town_a1.population = 58_300
    tree.town_a1.save()
    tree.town_a2.population = 41_000
    tree.town_a2.save()
    r = page_client(users["town_a1"]).get(PAGE)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'value="58300"' in html
    assert 'data-testid="verdict"' in html
    assert 'data-feasible="yes"' in html
    assert "data-chart=" in html
    assert 'data-testid="scenario-city"' in html
    # the sibling town's figure is not the town user's default
    sibling = page_client(users["town_a2"]).get(PAGE).content.decode()
    assert 'value="41000"' in sibling
    assert 'value="58300"' not in sibling


@pytest.mark.django_db
def test_page_sums_children_when_the_home_region_has_no_figure(
    tree: Tree, users: dict[str, User]
) -> None:
    for region, population in ((tree.town_a1, 50_000), (tree.town_a2, 30_000)):
        region.population = population
        region.save()
    html = page_client(users["district_a"]).get(PAGE).content.decode()
    assert 'value="80000"' in html


@pytest.mark.django_db
def test_page_without_population_uses_the_example(users: dict[str, User]) -> None:
    html = page_client(users["town_a1"]).get(PAGE).content.decode()
    assert 'value="150000"' in html


@pytest.mark.django_db
def test_htmx_recompute_reports_the_bottleneck(users: dict[str, User]) -> None:
    client = page_client(users["town_a1"])
    params = {
        "population": "10000000",
        "pool_size": "10",
        "prevalence_pct": "0",
        "lab_tubes_per_day": "2200, 3000",
        "sampling_points": "100",
        "persons_per_hour": "120",
        "hours_per_day": "24",
        "window_hours": "24",
    }
    r = client.get(PAGE, params, headers={"HX-Request": "true"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html
    assert 'data-feasible="no"' in html
    assert 'data-bottleneck="lab"' in html
    assert 'data-testid="missing-points"' in html
    assert 'data-testid="missing-lab"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lab_tubes_per_day": "2200, x"}, "lab_tubes_per_day"),
        ({"hours_per_day": "30"}, "hours_per_day"),
        ({"prevalence_pct": "100"}, "prevalence_pct"),
        ({"population": "1000000000"}, "population"),
    ],
)
def test_htmx_bad_input_names_the_field(
    users: dict[str, User], change: dict[str, str], field: str
) -> None:
    params = {
        "population": "150000",
        "pool_size": "10",
        "prevalence_pct": "0.1",
        "lab_tubes_per_day": "2200",
        "sampling_points": "100",
        "persons_per_hour": "120",
        "hours_per_day": "12",
        "window_hours": "168",
        **change,
    }
    r = page_client(users["town_a1"]).get(PAGE, params, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert f'data-field="{field}"' in r.content.decode()
