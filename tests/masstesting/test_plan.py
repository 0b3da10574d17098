"""Campaign planning: points bound to grids, teams, closing, the assignment of residents to
points by grid, the planning and board pages, scope, and the demo city's running campaign."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from fangkong.core.models import AuditEvent, Institution, Region, RegionLevel, Role, User
from fangkong.drill.outbreak_masstesting import seed_demo_campaign
from fangkong.drill.services import city_seed, demo_accounts_ensure
from fangkong.masstesting.models import Campaign, SamplingPoint, SamplingTeam, Scan
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.conftest import FAST_HASHERS
from tests.factories import Tree, UserFactory
from tests.factories.masstesting import MassTestingSetup, campaign_setup, persons_with_codes

API = "/api/v1/masstesting"


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    setup = campaign_setup(tree, users)
    persons_with_codes(tree.grid_a1, 3)
    persons_with_codes(tree.grid_a2, 2)
    persons_with_codes(tree.grid_b1, 4)
    return setup


def page_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -- API: points, teams, closing ---------------------------------------------------------------


def test_team_create_with_samplers_of_the_points_institution(
    mt: MassTestingSetup, api_as: Any, users: dict[str, User]
) -> None:
    client = api_as("district_a")
    url = f"{API}/points/{mt.point.pk}/teams"
    made = client.post(
        url, {"name": "一队", "shift": "07-14", "size": 3, "sampler_ids": [mt.sampler.pk]}
    )
    assert made.status_code == 201, made.content
    assert made.json()["sampler_ids"] == [mt.sampler.pk]
    stranger = UserFactory(username="sampler_x", role=Role.SAMPLER)
    bad = client.post(url, {"name": "二队", "sampler_ids": [stranger.pk]})
    assert bad.status_code == 422
    listed = client.get(url).json()
    assert [t["name"] for t in listed] == ["一队"]
    team_id = made.json()["id"]
    patched = client.patch(f"{API}/teams/{team_id}", {"size": 5, "sampler_ids": []})
    assert patched.json()["size"] == 5 and patched.json()["sampler_ids"] == []
    assert AuditEvent.objects.filter(action__in=["team.create", "team.update"]).count() == 2
    # the sibling town does not see the point, nor its team
    assert api_as("town_a2").post(url, {"name": "x"}).status_code == 404
    assert api_as("town_a2").patch(f"{API}/teams/{team_id}", {"size": 1}).status_code == 404


def test_point_update_grids_hours_capacity(mt: MassTestingSetup, api_as: Any, tree: Tree) -> None:
    url = f"{API}/points/{mt.point.pk}"
    body = {"grid_ids": [tree.grid_a1.pk, tree.grid_a2.pk], "opening_hours": "06-22"}
    # grid A2 lies outside town A1: for the town it does not exist
    assert api_as("town_a1").patch(url, body).status_code == 422
    done = api_as("district_a").patch(url, {**body, "hourly_capacity": 300})
    assert done.status_code == 200, done.content
    assert done.json()["hourly_capacity"] == 300 and done.json()["opening_hours"] == "06-22"
    assert set(mt.point.grids.values_list("pk", flat=True)) == {tree.grid_a1.pk, tree.grid_a2.pk}
    assert api_as("district_a").patch(url, {"hourly_capacity": -1}).status_code == 422
    outside = api_as("city").patch(url, {"grid_ids": [tree.grid_b1.pk]})
    assert outside.status_code == 422  # a grid of district B is outside the campaign
    assert api_as("district_b").patch(url, body).status_code == 404


def test_campaign_close(mt: MassTestingSetup, api_as: Any, tree: Tree) -> None:
    url = f"{API}/campaigns/{mt.campaign.pk}/close"
    assert api_as("district_b").post(url).status_code == 404
    assert api_as("town_a1").post(url).status_code == 403  # sees it, may not close it
    closed = api_as("district_a").post(url)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert api_as("district_a").post(url).status_code == 409
    token = persons_with_codes(tree.grid_a1, 1)[0]
    point = SamplingPoint.objects.get(pk=mt.point.pk)  # as a request loads it
    result = scan_batch_ingest(
        actor=mt.sampler, point=point, idempotency_key="late", scans=[ScanIn("T9", token)]
    )
    assert result.counts["rejected"] == 1 and not Scan.objects.exists()


def test_campaign_create_with_key_groups(api_as: Any, tree: Tree) -> None:
    now = timezone.now()
    body = {
        "name": "冷链人员周检",
        "region_id": tree.district_a.pk,
        "pool_size": 5,
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=1)).isoformat(),
        "key_groups": ["cold_chain", "medical"],
        "group_pool_sizes": {"medical": 1},
    }
    made = api_as("district_a").post(f"{API}/campaigns", body)
    assert made.status_code == 201, made.content
    assert made.json()["key_groups"] == ["cold_chain", "medical"]
    assert made.json()["group_pool_sizes"] == {"medical": 1}
    bad = api_as("district_a").post(f"{API}/campaigns", {**body, "group_pool_sizes": {"x": 1}})
    assert bad.status_code == 422


def test_towns_see_the_district_campaign_covering_them(mt: MassTestingSetup, api_as: Any) -> None:
    ids = [c["id"] for c in api_as("town_a1").get(f"{API}/campaigns").json()["items"]]
    assert ids == [mt.campaign.pk]
    assert api_as("district_b").get(f"{API}/campaigns").json()["items"] == []
    assert api_as("district_b").get(f"{API}/campaigns/{mt.campaign.pk}").status_code == 404


# -- assignment by grid -----------------------------------------------------------------------


def test_assignment_summary_flags_unserved_grids(
    mt: MassTestingSetup, api_as: Any, tree: Tree, django_assert_num_queries: Any
) -> None:
    SamplingTeam.objects.create(point=mt.point, name="一队", size=4)
    mt.point.hourly_capacity = 2
    mt.point.save()
    mt.other.grids.clear()
    client = api_as("district_a")
    url = f"{API}/campaigns/{mt.campaign.pk}/assignment"
    client.get(url)
    # token, campaign, points, grids, teams, samplers, residents per grid, residents without a
    # grid, grids in region
    with django_assert_num_queries(9):
        body = client.get(url).json()
    assert body["residents"] == 5
    rows = {p["name"]: p for p in body["points"]}
    east = rows[mt.point.name]
    assert [g["code"] for g in east["grids"]] == [tree.grid_a1.code]
    assert east["residents"] == 3 and east["hours_needed"] == 1.5
    assert [t["name"] for t in east["teams"]] == ["一队"]
    assert rows[mt.other.name]["residents"] == 0
    assert [g["code"] for g in body["unserved_grids"]] == [tree.grid_a2.code]
    assert body["unserved_residents"] == 2
    assert body["ungridded_residents"] == 0
    # the town sees its own points and grids only
    town = api_as("town_a1").get(url).json()
    assert [p["name"] for p in town["points"]] == [mt.point.name]
    assert town["unserved_grids"] == [] and town["residents"] == 3
    persons_with_codes(tree.community_a1, 2)  # registered without a grid: no point for them
    assert client.get(url).json()["ungridded_residents"] == 2


# -- pages ------------------------------------------------------------------------------------


def test_planning_pages_create_point_and_team(
    mt: MassTestingSetup, users: dict[str, User], tree: Tree
) -> None:
    client = page_as(users["district_a"])
    assert client.get("/masstesting/campaigns/").status_code == 200
    detail = client.get(f"/masstesting/campaigns/{mt.campaign.pk}/")
    assert detail.status_code == 200 and mt.point.name in detail.content.decode()
    assert 'data-testid="campaign-close"' in detail.content.decode()
    # the town may add its own points to the district's campaign, not close it
    town_view = page_as(users["town_a1"]).get(f"/masstesting/campaigns/{mt.campaign.pk}/")
    assert 'data-testid="point-new"' in town_view.content.decode()
    assert 'data-testid="campaign-close"' not in town_view.content.decode()
    assert client.get("/masstesting/campaigns/new/").status_code == 200
    made = client.post(
        f"/masstesting/campaigns/{mt.campaign.pk}/points/new/",
        {
            "name": "南二采样点",
            "region": tree.community_a2.pk,
            "grids": [tree.grid_a2.pk],
            "opening_hours": "08-20",
            "hourly_capacity": 100,
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    point = SamplingPoint.objects.get(name="南二采样点")
    assert list(point.grids.all()) == [tree.grid_a2]
    team = client.post(
        f"/masstesting/points/{mt.point.pk}/teams/new/",
        {"name": "早班", "shift": "07-14", "size": 3, "samplers": [mt.sampler.pk]},
    )
    assert team.status_code == 302
    assert list(SamplingTeam.objects.get(name="早班").samplers.all()) == [mt.sampler]
    edit = client.post(
        f"/masstesting/points/{mt.point.pk}/edit/",
        {"grids": [tree.grid_a1.pk], "opening_hours": "07-21", "hourly_capacity": 150},
    )
    assert edit.status_code == 302
    closed = client.post(f"/masstesting/campaigns/{mt.campaign.pk}/close/")
    assert closed.status_code == 302
    assert Campaign.objects.get(pk=mt.campaign.pk).status == "closed"


def test_campaign_form_creates_with_group_pool_sizes(users: dict[str, User], tree: Tree) -> None:
    client = page_as(users["district_a"])
    made = client.post(
        "/masstesting/campaigns/new/",
        {
            "name": "医务人员单检",
            "region": tree.district_a.pk,
            "pool_size": 10,
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "key_groups": ["medical"],
            "pool_medical": 1,
        },
    )
    assert made.status_code == 302, made.content.decode()[:3000]
    campaign = Campaign.objects.get(name="医务人员单检")
    assert campaign.key_groups == ["medical"] and campaign.group_pool_sizes == {"medical": 1}
    bad = client.post("/masstesting/campaigns/new/", {"name": "x", "region": tree.district_a.pk})
    assert bad.status_code == 422 and Campaign.objects.count() == 1


def test_pages_are_scoped(mt: MassTestingSetup, users: dict[str, User], tree: Tree) -> None:
    sibling = page_as(users["district_b"])
    for url in (
        f"/masstesting/campaigns/{mt.campaign.pk}/",
        f"/masstesting/campaigns/{mt.campaign.pk}/points/new/",
        f"/masstesting/points/{mt.point.pk}/edit/",
        f"/masstesting/points/{mt.point.pk}/teams/new/",
        f"/masstesting/board/{mt.campaign.pk}/",
        f"/masstesting/board/{mt.campaign.pk}/not-sampled/",
    ):
        assert sibling.get(url).status_code == 404, url
    town = page_as(users["town_a2"])
    assert town.get(f"/masstesting/points/{mt.point.pk}/edit/").status_code == 404
    grid_a1 = f"/masstesting/board/{mt.campaign.pk}/not-sampled/?region={tree.grid_a1.pk}"
    assert town.get(grid_a1).status_code == 404
    export = f"/masstesting/board/{mt.campaign.pk}/not-sampled/export/"
    assert town.post(export, {"region": tree.grid_a1.pk}).status_code == 404
    assert not AuditEvent.objects.filter(action="masstesting.not_sampled_export").exists()


def test_board_pages(mt: MassTestingSetup, users: dict[str, User], tree: Tree) -> None:
    town = page_as(users["town_a1"])
    entry = town.get("/masstesting/")
    assert entry.status_code == 200 and mt.campaign.name in entry.content.decode()
    board = town.get(f"/masstesting/board/{mt.campaign.pk}/")
    html = board.content.decode()
    assert board.status_code == 200 and tree.community_a1.name in html
    assert tree.community_a2.name not in html
    pooling = {1: "单管单检", 5: "5合1混采", 10: "10合1混采", 20: "20合1混采"}[
        mt.campaign.pool_size
    ]
    assert pooling in html and "-in-1" not in html  # the zh-Hans board names its pooling
    listed = town.get(f"/masstesting/board/{mt.campaign.pk}/not-sampled/")
    assert listed.status_code == 200 and "1***" in listed.content.decode()
    export = town.post(
        f"/masstesting/board/{mt.campaign.pk}/not-sampled/export/", {"region": tree.grid_a1.pk}
    )
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd")
    assert AuditEvent.objects.filter(action="masstesting.not_sampled_export").count() == 1


def test_subnav_skips_pages_that_do_not_exist(mt: MassTestingSetup, users: dict[str, User]) -> None:
    html = page_as(users["city"]).get("/masstesting/campaigns/").content.decode()
    assert 'data-testid="mt-subnav"' in html
    assert 'href="/masstesting/capacity/"' in html and 'href="/masstesting/"' in html


# -- the demo city ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_campaign_is_running_and_alive() -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS), TemporaryDirectory() as tmp:
        city_seed(size=600, seed=7)
        demo_accounts_ensure(data_dir=Path(tmp))
    result = seed_demo_campaign(seed=7)
    assert result.created
    campaign = Campaign.objects.get(pk=result.campaign_id)
    assert campaign.status == "running" and campaign.pool_size == 10
    communities = Region.objects.filter(level=RegionLevel.COMMUNITY).count()
    points = SamplingPoint.objects.filter(campaign=campaign)
    assert points.count() == result.points == communities
    assert SamplingTeam.objects.filter(point__campaign=campaign).count() == communities
    sampler = User.objects.get(username="sampler_1")
    bound = points.filter(institution=sampler.institution)
    assert bound.count() == 1
    assert list(SamplingTeam.objects.get(point=bound.get()).samplers.all()) == [sampler]
    residents = Person.objects.count()
    sampled = Scan.objects.filter(campaign=campaign).count()
    assert sampled == result.sampled and 0.55 * residents <= sampled <= 0.9 * residents
    assert Institution.objects.filter(pk=sampler.institution_id).exists()
    again = seed_demo_campaign(seed=7)
    assert not again.created and Scan.objects.count() == sampled
