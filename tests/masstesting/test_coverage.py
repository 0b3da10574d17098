"""Coverage of a campaign: exact figures on a small tree, per region and key group, the
"not yet sampled" list and its audited export, the progress curve, and scope."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from fangkong.core.models import AuditEvent, User
from fangkong.masstesting.board import selectors as coverage
from fangkong.masstesting.models import RecheckStatus, RecheckTask, Scan, Tube
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.factories import Tree
from tests.factories.masstesting import MassTestingSetup, campaign_setup, persons_with_codes

BASE = "/api/v1/masstesting/coverage/campaigns"


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    """District A campaign: grid A1 has 10 residents + 2 medical staff, grid A2 8 residents,
    grid B1 (outside) 5. Ten of A1 sampled into one pool (positive, two rechecks open, one
    done), three of A2 sampled into a pool without result."""
    setup = campaign_setup(tree, users)
    a1 = persons_with_codes(tree.grid_a1, 10)
    persons_with_codes(tree.grid_a1, 2, key_group="medical")
    a2 = persons_with_codes(tree.grid_a2, 8)
    persons_with_codes(tree.grid_b1, 5)
    first = scan_batch_ingest(
        actor=setup.sampler,
        point=setup.point,
        idempotency_key="k1",
        scans=[ScanIn(barcode="T1", token=t) for t in a1],
    )
    assert first.counts["accepted"] == 10
    second = scan_batch_ingest(
        actor=setup.sampler,
        point=setup.other,
        idempotency_key="k2",
        scans=[ScanIn(barcode="T2", token=t) for t in a2[:3]],
    )
    assert second.counts["accepted"] == 3
    tube = Tube.objects.get(barcode="T1")
    Tube.objects.filter(pk=tube.pk).update(result="positive")
    members = list(Scan.objects.filter(tube=tube).select_related("person")[:3])
    for scan, status in zip(
        members, [RecheckStatus.OPEN, RecheckStatus.SAMPLED, RecheckStatus.RESULTED], strict=True
    ):
        RecheckTask.objects.create(
            campaign=setup.campaign,
            person=scan.person,
            source_tube=tube,
            region=scan.person.region,
            region_path=scan.person.region_path,
            reason="positive_pool",
            status=status,
        )
    return setup


def figures(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("should_test", "sampled", "resulted", "positive_pools", "rechecks_outstanding")
    return tuple(row[k] for k in keys)


def test_district_sees_exact_figures_per_town(
    mt: MassTestingSetup, api_as: Any, tree: Tree
) -> None:
    body = api_as("district_a").get(f"{BASE}/{mt.campaign.pk}").json()
    assert body["region"]["code"] == tree.district_a.code
    assert figures(body["totals"]) == (20, 13, 10, 1, 2)
    assert body["totals"]["coverage_pct"] == 65.0
    rows = {r["key"]: r for r in body["rows"]}
    assert figures(rows[tree.town_a1.code]) == (12, 10, 10, 1, 2)
    assert figures(rows[tree.town_a2.code]) == (8, 3, 0, 0, 0)
    assert rows[tree.town_a2.code]["coverage_pct"] == 37.5


def test_drill_down_to_grid(mt: MassTestingSetup, api_as: Any, tree: Tree) -> None:
    client = api_as("city")
    body = client.get(f"{BASE}/{mt.campaign.pk}", region_id=tree.community_a1.pk).json()
    assert [r["key"] for r in body["rows"]] == [tree.grid_a1.code]
    assert figures(body["rows"][0]) == (12, 10, 10, 1, 2)
    assert [c["code"] for c in body["crumbs"]] == [
        tree.district_a.code,
        tree.town_a1.code,
        tree.community_a1.code,
    ]
    grid = client.get(f"{BASE}/{mt.campaign.pk}", region_id=tree.grid_a1.pk).json()
    assert grid["rows"] == [] and figures(grid["totals"]) == (12, 10, 10, 1, 2)


def test_key_groups(mt: MassTestingSetup, api_as: Any) -> None:
    body = api_as("district_a").get(f"{BASE}/{mt.campaign.pk}/groups").json()
    assert [(r["key"], figures(r)) for r in body["rows"]] == [("medical", (2, 0, 0, 0, 0))]
    mt.campaign.key_groups = ["medical"]
    mt.campaign.save()
    targeted = api_as("district_a").get(f"{BASE}/{mt.campaign.pk}").json()
    assert figures(targeted["totals"]) == (2, 0, 0, 0, 0)


def test_town_sees_its_own_part_only(mt: MassTestingSetup, api_as: Any, tree: Tree) -> None:
    own = api_as("town_a1").get(f"{BASE}/{mt.campaign.pk}").json()
    assert own["region"]["code"] == tree.town_a1.code
    assert figures(own["totals"]) == (12, 10, 10, 1, 2)
    assert [c["code"] for c in own["crumbs"]] == [tree.town_a1.code]
    sibling = api_as("town_a2")
    assert figures(sibling.get(f"{BASE}/{mt.campaign.pk}").json()["totals"]) == (8, 3, 0, 0, 0)
    for path in ("", "/groups", "/progress", "/not-sampled", "/geo"):
        url = f"{BASE}/{mt.campaign.pk}{path}"
        assert sibling.get(url, region_id=tree.town_a1.pk).status_code == 404
        assert api_as("district_b").get(url).status_code == 404
        assert api_as("lab").get(url).status_code == 404


def test_not_sampled_list_exact_and_paged(
    mt: MassTestingSetup, api_as: Any, tree: Tree, django_assert_num_queries: Any
) -> None:
    client = api_as("town_a1")
    url = f"{BASE}/{mt.campaign.pk}/not-sampled"
    client.get(url)  # warm the token cache paths
    # token, campaign, region, count, page (region joined)
    with django_assert_num_queries(5):
        body = client.get(url, region_id=tree.grid_a1.pk, page_size=1).json()
    assert body["count"] == 2 and len(body["items"]) == 1
    item = body["items"][0]
    assert item["id_number"] == "1***" and item["region_code"] == tree.grid_a1.code
    assert item["key_group"] == "medical"
    grid_a2 = api_as("town_a2").get(url).json()
    assert grid_a2["count"] == 5
    assert api_as("inspector").get(url).json()["count"] == 0  # no personal data role


def test_export_is_audited_and_scoped(mt: MassTestingSetup, api_as: Any, tree: Tree) -> None:
    url = f"{BASE}/{mt.campaign.pk}/not-sampled/export"
    before = AuditEvent.objects.filter(action="masstesting.not_sampled_export").count()
    response = api_as("town_a1").post(f"{url}?region_id={tree.grid_a1.pk}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3  # header + the two medical staff
    events = AuditEvent.objects.filter(action="masstesting.not_sampled_export")
    assert events.count() == before + 1
    assert events.last().details == {"region": tree.grid_a1.code, "rows": 2}
    denied = api_as("town_a2").post(f"{url}?region_id={tree.grid_a1.pk}")
    assert denied.status_code == 404
    assert events.count() == before + 1


def test_progress_is_cumulative(mt: MassTestingSetup, api_as: Any) -> None:
    body = api_as("district_a").get(f"{BASE}/{mt.campaign.pk}/progress").json()
    assert sum(body["sampled"]) == 13
    assert body["cumulative"][-1] == 13
    assert body["should_test"] == 20
    assert len(body["hours"]) == len(body["sampled"]) == len(body["cumulative"])


def test_coverage_queries_are_constant(
    mt: MassTestingSetup, users: dict[str, User], tree: Tree, django_assert_num_queries: Any
) -> None:
    # children, 3 grouped tables, 3 totals tables, crumbs
    with django_assert_num_queries(8):
        report = coverage.campaign_coverage(actor=users["city"], campaign=mt.campaign)
    assert len(report.rows) == 2
    assert Person.objects.count() == 25
