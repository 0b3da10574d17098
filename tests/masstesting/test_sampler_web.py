"""The sampler page's server side: which points a user may scan at, and nothing else."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from django.test import Client

from fangkong.core.models import Institution, InstitutionKind, Role, User
from fangkong.masstesting.models import CampaignStatus
from tests.clients import page_client
from tests.factories import Tree, UserFactory
from tests.factories.masstesting import campaign_setup

URL = "/masstesting/sampler/"


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'<div id="sampler-config" data-config="([^"]*)"', html)
    assert found
    return dict(json.loads(unescape(found.group(1))))


def test_sampler_gets_their_point_and_an_upload_config(tree: Tree, users: dict[str, User]) -> None:
    setup = campaign_setup(tree, users)
    campaign = setup.campaign
    campaign.group_pool_sizes = {"medical": 1}
    campaign.save()
    response = page_client(setup.sampler).get(URL)
    assert response.status_code == 200
    config = config_of(response.content.decode())
    assert config["pointId"] == setup.point.pk
    assert config["api"] == "/api/v1/masstesting/scans/batch"
    assert config["poolSizes"] == [1, 10] and config["batchSize"] == 500
    assert config["storageKey"].endswith(f".{setup.sampler.pk}.{setup.point.pk}")
    assert "tube_full" in config["reasons"] and config["decoder"].endswith("jsQR.js")
    # the other point of the campaign is not theirs
    assert page_client(setup.sampler).get(URL, {"point": setup.other.pk}).status_code == 404


def test_chooser_lists_the_institutions_running_points_only(
    tree: Tree, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    setup = campaign_setup(tree, users)
    setup.other.institution = setup.point_institution
    setup.other.save()
    sampler = page_client(setup.sampler)
    # session, user, the points; the idle-timeout middleware then touches the session
    with django_assert_num_queries(6):
        body = sampler.get(URL, {"choose": "1"}).content.decode()
    assert f"point-{setup.point.pk}" in body and f"point-{setup.other.pk}" in body
    assert sampler.get(URL, {"point": setup.other.pk}).status_code == 200
    assert sampler.get(URL, {"point": "x"}).status_code == 404
    # a sampler of another institution sees no point and gets 404 for one by id
    station = Institution.objects.create(
        name="西区采样站", kind=InstitutionKind.SAMPLING_POINT, region=tree.district_b
    )
    stranger = UserFactory(username="sampler_b", role=Role.SAMPLER, institution=station)
    assert f"point-{setup.point.pk}" not in page_client(stranger).get(URL).content.decode()
    assert page_client(stranger).get(URL, {"point": setup.point.pk}).status_code == 404
    # a closed campaign's points leave the list
    setup.campaign.status = CampaignStatus.CLOSED
    setup.campaign.save()
    assert f"point-{setup.point.pk}" not in sampler.get(URL, {"choose": "1"}).content.decode()


def test_only_samplers_get_the_scanning_page(tree: Tree, users: dict[str, User]) -> None:
    # The district, town and inspector see the points but may not post scans: no page either.
    setup = campaign_setup(tree, users)
    for who in ("district_a", "town_a1", "inspector", "admin", "city"):
        response = page_client(users[who]).get(URL, {"point": setup.point.pk})
        assert response.status_code == 403, who


def test_service_worker_script_is_served_under_the_page(db: Any) -> None:
    response = Client().get("/masstesting/sampler/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body.startswith("var ASSETS = [") and "masstesting/sampler.js" in body
