"""Issue 4's scenario on the demo city, through the HTTP API as each role would do it.

10-in-1 over the whole city: every resident scanned in batches by the sampler of the point
serving their grid; tubes boxed and handed to a lab; the lab uploads results with 3 positive
pools → 30 recheck tasks, each in the person's own grid; coverage 100 % sampled, "not yet
sampled" lists empty; a resident's self-service page shows the result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, Role, User
from fangkong.drill.names import CITY_CODE
from fangkong.drill.services import city_seed
from fangkong.masstesting.models import RecheckTask, Scan, Tube
from fangkong.masstesting.sampling.services.codes import codes_ensure
from fangkong.people.models import Person
from tests.clients import ApiClient, api_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SIZE = 1200
MT = "/api/v1/masstesting"


def post(api: ApiClient, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**api.headers, **({"Idempotency-Key": key} if key else {})}
    return api.client.post(path, body, content_type="application/json", headers=headers)


def plan_campaign(office: User, city: Region) -> tuple[int, dict[int, tuple[int, User]]]:
    """The campaign and one point per community serving its grids, each with its sampler."""
    api = api_client(office)
    now = timezone.now()
    answer = post(
        api,
        f"{MT}/campaigns",
        {
            "name": "全市全员核酸检测（第一轮）",
            "region_id": city.pk,
            "pool_size": 10,
            "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=23)).isoformat(),
        },
    )
    assert answer.status_code == 201, answer.content
    campaign_id = answer.json()["id"]
    points: dict[int, tuple[int, User]] = {}  # grid id -> (point id, sampler)
    communities = Region.objects.filter(path__startswith=city.path, level=RegionLevel.COMMUNITY)
    for community in communities:
        grids = list(Region.objects.filter(parent=community, level=RegionLevel.GRID))
        inst = Institution.objects.create(
            code=f"SPX{community.code}",
            name=f"{community.name}采样点",
            kind=InstitutionKind.SAMPLING_POINT,
            region=community,
        )
        answer = post(
            api,
            f"{MT}/campaigns/{campaign_id}/points",
            {
                "name": inst.name,
                "region_id": community.pk,
                "institution_id": inst.pk,
                "grid_ids": [g.pk for g in grids],
                "opening_hours": "07:00-19:00",
                "hourly_capacity": 300,
            },
        )
        assert answer.status_code == 201, answer.content
        sampler = UserFactory(
            username=f"sampler_{community.code}", role=Role.SAMPLER, institution=inst
        )
        for grid in grids:
            points[grid.pk] = (answer.json()["id"], sampler)
    return campaign_id, points


def scan_everyone(city: Region, points: dict[int, tuple[int, User]]) -> dict[int, list[str]]:
    """Every resident scanned at the point of their grid, 10 to a tube, 500 scans a batch."""
    residents: dict[int, list[int]] = defaultdict(list)
    for pid, grid_id in Person.objects.filter(region_path__startswith=city.path).values_list(
        "pk", "region_id"
    ):
        residents[points[grid_id][0]].append(pid)
    samplers = dict(points.values())
    tubes: dict[int, list[str]] = {}
    for point_id, person_ids in residents.items():
        tokens = codes_ensure(person_ids=person_ids)
        scans = []
        for i, pid in enumerate(person_ids):
            last = i % 10 == 9 or i == len(person_ids) - 1
            barcode = f"P{point_id}T{i // 10:04d}"
            scans.append(
                {"barcode": barcode, "token": tokens[pid], "action": "close" if last else "add"}
            )
        api = api_client(samplers[point_id])
        for start in range(0, len(scans), 500):
            body = {"point_id": point_id, "scans": scans[start : start + 500]}
            answer = post(api, f"{MT}/scans/batch", body, key=uuid.uuid4().hex)
            assert answer.status_code == 200, answer.content
            assert answer.json()["counts"]["rejected"] == 0, answer.json()
        tubes[point_id] = sorted({s["barcode"] for s in scans})
    return tubes


def box_and_hand_over(
    tubes: dict[int, list[str]], points: dict[int, tuple[int, User]], lab: Institution
) -> None:
    samplers = dict(points.values())
    for point_id, barcodes in tubes.items():
        api = api_client(samplers[point_id])
        body = {"point_id": point_id, "lab_id": lab.pk, "code": f"BOX{point_id}"}
        answer = post(api, f"{MT}/lab/boxes", {**body, "tube_barcodes": barcodes})
        assert answer.status_code == 201, answer.content
        box_id = answer.json()["id"]
        assert post(api, f"{MT}/lab/boxes/{box_id}/hand-over", {}).status_code == 200


def test_demo_city_ten_in_one_campaign() -> None:
    city_seed(size=SIZE, seed=2022)
    city = Region.objects.get(code=CITY_CODE)
    office = UserFactory(username="office", role=Role.COMMAND_OFFICE, region=city)
    lab = Institution.objects.filter(kind=InstitutionKind.LAB).order_by("code").first()
    assert lab is not None
    lab_user = UserFactory(username="lab_x", role=Role.LAB, institution=lab)

    campaign_id, points = plan_campaign(office, city)
    tubes = scan_everyone(city, points)
    assert Scan.objects.filter(campaign_id=campaign_id).count() == SIZE
    box_and_hand_over(tubes, points, lab)

    full = list(Tube.objects.filter(campaign_id=campaign_id, members=10).order_by("barcode")[:3])
    positive = {t.barcode for t in full}
    items = [
        {"barcode": t.barcode, "result": "positive" if t.barcode in positive else "negative"}
        for t in Tube.objects.filter(campaign_id=campaign_id)
    ]
    lab_api = api_client(lab_user)
    for _attempt in range(2):  # a retry after a lost answer changes nothing
        answer = post(lab_api, f"{MT}/results/batch", {"items": items}, key="results-1")
        assert answer.status_code == 200, answer.content
    assert answer.json()["counts"]["accepted"] == len(items)

    tasks = RecheckTask.objects.filter(campaign_id=campaign_id).select_related("person")
    assert tasks.count() == 30
    assert {t.source_tube.barcode for t in tasks} == positive
    for task in tasks:
        assert task.region_id == task.person.region_id
        assert task.region.level == RegionLevel.GRID

    office_api = api_client(office)
    coverage = office_api.get(f"{MT}/coverage/campaigns/{campaign_id}").json()
    totals = coverage["totals"]
    assert totals["should_test"] == totals["sampled"] == totals["resulted"] == SIZE
    assert totals["coverage_pct"] == 100
    assert totals["positive_pools"] == 3
    assert totals["rechecks_outstanding"] == 30
    assert all(row["sampled"] == row["should_test"] for row in coverage["rows"])

    grid = Region.objects.get(pk=next(iter(points)))
    grid_worker = UserFactory(username="grid_x", role=Role.GRID_WORKER, region=grid)
    for who, region in ((office, city), (grid_worker, grid)):
        listing = api_client(who).get(
            f"{MT}/coverage/campaigns/{campaign_id}/not-sampled", region_id=region.pk
        )
        assert listing.status_code == 200
        assert listing.json()["count"] == 0

    positive_person = tasks[0].person
    negative_person = (
        Scan.objects.filter(campaign_id=campaign_id)
        .exclude(tube__barcode__in=positive)
        .select_related("person__reg_code")
        .first()
    )
    assert negative_person is not None
    # the results page opens with the link staff issue, not with the QR token
    api = api_client(office)
    link = "/api/v1/masstesting/status/persons/{}/code/link"
    negative_url = api.post(link.format(negative_person.person_id)).json()["url"]
    positive_url = api.post(link.format(positive_person.pk)).json()["url"]
    assert Client().get(f"/hs/{positive_person.reg_code.token}/").status_code == 404
    with translation.override("zh-hans"):
        page = Client().get(negative_url)
        assert page.status_code == 200
        assert "阴性" in page.content.decode()
        page = Client().get(positive_url)
        assert "混管阳性" in page.content.decode()
