"""Recheck tasks: who sees them, recording the single-tube resample, cancelling; API and page."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.http import Forbidden
from fangkong.core.models import AuditEvent, Role, User
from fangkong.masstesting.models import RecheckTask, TubeKind, TubeStatus
from fangkong.masstesting.results.selectors import recheck_list, recheck_status_counts
from fangkong.masstesting.results.services.rechecks import recheck_cancel, recheck_sample
from fangkong.masstesting.results.services.resolve import pools_resolve
from tests.clients import page_client
from tests.factories import Tree, UserFactory
from tests.factories.masstesting import MassTestingSetup, campaign_setup
from tests.factories.rechecks import resulted_pools

pytestmark = pytest.mark.django_db

API = "/api/v1/masstesting/rechecks"
PAGE = "/masstesting/rechecks/"


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    setup = campaign_setup(tree, users)
    east = resulted_pools(setup.point, tree.grid_a1, tubes=2, result="positive")
    south = resulted_pools(setup.other, tree.grid_a2, tubes=1, result="invalid")
    pools_resolve(tube_ids=[t.pk for t in east + south])
    users["grid_a1"] = UserFactory(username="grid_a1", role=Role.GRID_WORKER, region=tree.grid_a1)
    return setup


def east_task() -> RecheckTask:
    task = RecheckTask.objects.filter(region__code__endswith="001G01").order_by("pk").first()
    assert task is not None
    return task


def task_in(region: Any) -> RecheckTask:
    task = RecheckTask.objects.filter(region=region).order_by("pk").first()
    assert task is not None
    return task


# --- who sees what -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("city", 30),
        ("district_a", 30),
        ("town_a1", 20),
        ("community_a1", 20),
        ("grid_a1", 20),
        ("town_a2", 10),
        ("district_b", 0),
        ("lab", 0),
        ("sampler", 0),
        ("admin", 0),
        ("inspector", 0),
    ],
)
def test_scope(mt: MassTestingSetup, users: dict[str, User], who: str, expected: int) -> None:
    assert recheck_list(actor=users[who]).count() == expected


def test_sibling_town_sees_none_of_another_towns_tasks(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    seen = set(recheck_list(actor=users["town_a2"]).values_list("region_id", flat=True))
    assert seen == {tree.grid_a2.pk}
    assert recheck_status_counts(actor=users["town_a2"])["outstanding"] == 10


def test_filters(mt: MassTestingSetup, tree: Tree, users: dict[str, User]) -> None:
    city = users["city"]
    assert recheck_list(actor=city, grid_id=tree.grid_a2.pk).count() == 10
    assert recheck_list(actor=city, status="outstanding").count() == 30
    assert recheck_list(actor=city, status="resulted").count() == 0
    assert recheck_list(actor=city, campaign_id=mt.campaign.pk + 99).count() == 0


# --- services ----------------------------------------------------------------------------


def test_grid_worker_records_the_resample(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    task = recheck_sample(actor=users["grid_a1"], task=task_in(tree.grid_a1), barcode=" R-100 ")
    tube = task.sample_tube
    assert tube is not None and task.status == "sampled" and task.sampled_at is not None
    assert (tube.kind, tube.capacity, tube.members, tube.status) == (
        TubeKind.RECHECK,
        1,
        1,
        TubeStatus.CLOSED,
    )
    assert tube.barcode == "R-100"
    assert tube.point == mt.point  # the point serving grid A1
    assert AuditEvent.objects.filter(action="recheck.sample", actor=users["grid_a1"]).exists()


def test_sampler_of_the_serving_point_may_resample_others_may_not(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    task = recheck_sample(actor=mt.sampler, task=task_in(tree.grid_a1), barcode="R-1")
    assert task.status == "sampled"
    with pytest.raises(Forbidden):  # grid A2 is served by the other point
        recheck_sample(actor=mt.sampler, task=task_in(tree.grid_a2), barcode="R-2")
    with pytest.raises(Forbidden):
        recheck_sample(actor=users["town_a2"], task=task_in(tree.grid_a1), barcode="R-3")
    with pytest.raises(Forbidden):
        recheck_sample(actor=users["lab"], task=task_in(tree.grid_a1), barcode="R-4")


def test_cancel_needs_a_reason_and_is_audited(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    from fangkong.core.validators import FieldError

    task = task_in(tree.grid_a2)
    with pytest.raises(FieldError):
        recheck_cancel(actor=users["town_a2"], task=task, reason="  ")
    with pytest.raises(Forbidden):
        recheck_cancel(actor=users["town_a1"], task=task, reason="moved away")
    task = recheck_cancel(actor=users["town_a2"], task=task, reason="moved away")
    assert task.status == "cancelled"
    event = AuditEvent.objects.get(action="recheck.cancel")
    assert (event.actor, event.reason, event.object_id) == (
        users["town_a2"],
        "moved away",
        str(task.pk),
    )


# --- API ---------------------------------------------------------------------------------


def test_api_list_masks_persons_and_runs_fixed_queries(
    mt: MassTestingSetup, api_as: Any, django_assert_num_queries: Any
) -> None:
    api = api_as("community_a1")
    # token, count, page (person, grid, both tubes joined)
    with django_assert_num_queries(3):
        body = api.get(API, page_size=5).json()
    assert body["count"] == 20 and len(body["items"]) == 5
    item = body["items"][0]
    assert item["reason"] == "positive_pool" and item["status"] == "open"
    assert "*" in item["id_number"] and "*" in item["phone"]
    with django_assert_num_queries(3):
        assert api.get(API, page_size=50).json()["count"] == 20


@pytest.mark.parametrize("who", ["town_a2", "district_b", "lab", "sampler"])
def test_api_out_of_scope_is_empty_and_404(mt: MassTestingSetup, api_as: Any, who: str) -> None:
    api = api_as(who)
    task = east_task()
    assert all(i["grid_name"] != task.region.name for i in api.get(API).json()["items"])
    assert api.post(f"{API}/{task.pk}/sample", {"barcode": "X-1"}).status_code == 404
    assert api.post(f"{API}/{task.pk}/cancel", {"reason": "x"}).status_code == 404


def test_api_sample_and_cancel(mt: MassTestingSetup, api_as: Any) -> None:
    api = api_as("community_a1")
    first, second = RecheckTask.objects.filter(region=east_task().region).order_by("pk")[:2]
    done = api.post(f"{API}/{first.pk}/sample", {"barcode": "R-7"})
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["sample_tube"]) == ("sampled", "R-7")
    assert api.post(f"{API}/{first.pk}/sample", {"barcode": "R-8"}).status_code == 409
    reused = api.post(f"{API}/{second.pk}/sample", {"barcode": "R-7"})
    assert reused.status_code == 422 and reused.json()["detail"][0]["field"] == "barcode"
    assert api.post(f"{API}/{second.pk}/cancel", {"reason": ""}).status_code == 422
    cancelled = api.post(f"{API}/{second.pk}/cancel", {"reason": "moved to another city"})
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(f"{API}/{second.pk}/cancel", {"reason": "again"}).status_code == 409


# --- page --------------------------------------------------------------------------------


def test_page_lists_own_grid_only(
    mt: MassTestingSetup, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    client = page_client(users["community_a1"])
    # session, user, page rows, count, status counts, grids, campaigns (+ savepoints)
    with django_assert_max_num_queries(10):
        page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="recheck-row"') == 20
    assert 'data-testid="barcode"' in html
    other = page_client(users["town_a2"]).get(PAGE).content.decode()
    assert other.count('data-testid="recheck-row"') == 10
    assert east_task().source_tube.barcode not in other
    lab = page_client(users["lab"]).get(PAGE).content.decode()
    assert lab.count('data-testid="recheck-row"') == 0


def test_page_query_count_does_not_grow_with_rows(
    mt: MassTestingSetup, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    client = page_client(users["city"])
    client.get(PAGE)  # warm the session
    # session, user, count, rows (person, grid, tubes joined), status counts, grids, campaigns,
    # and the session's save (savepoint, update, release)
    with django_assert_num_queries(10):
        client.get(PAGE + "?status=outstanding")
    with django_assert_num_queries(10):
        client.get(PAGE + "?status=resulted")


def test_page_inline_sample_and_cancel(mt: MassTestingSetup, users: dict[str, User]) -> None:
    client = page_client(users["community_a1"])
    hx = {"HX-Request": "true"}
    task = east_task()
    row = client.post(f"{PAGE}{task.pk}/sample/", {"barcode": "R-55"}, headers=hx)
    assert row.status_code == 200
    assert "R-55" in row.content.decode() and row.content.decode().count("<tr") == 1
    again = client.post(f"{PAGE}{task.pk}/sample/", {"barcode": "R-56"}, headers=hx)
    assert again.status_code == 409 and 'data-testid="row-error"' in again.content.decode()
    # resampled: the tube is on its way, its result must land on the task; no cancelling
    late = client.post(f"{PAGE}{task.pk}/cancel/", {"reason": "moved away"}, headers=hx)
    assert late.status_code in (409, 422)
    assert 'data-testid="cancel"' not in row.content.decode()
    task = RecheckTask.objects.filter(region=task.region, status="open").order_by("pk").first()
    assert task is not None
    form = client.get(f"{PAGE}{task.pk}/?cancel=1", headers=hx)
    assert 'data-testid="cancel-reason"' in form.content.decode()
    done = client.post(f"{PAGE}{task.pk}/cancel/", {"reason": "moved away"}, headers=hx)
    assert done.status_code == 200
    task.refresh_from_db()
    assert task.status == "cancelled"
    # without htmx: redirect back to the list with a message
    other = RecheckTask.objects.filter(region=task.region, status="open").first()
    assert other is not None
    plain = client.post(f"{PAGE}{other.pk}/sample/", {"barcode": "R-57"})
    assert plain.status_code == 302


def test_page_sibling_town_gets_404(mt: MassTestingSetup, users: dict[str, User]) -> None:
    client = page_client(users["town_a2"])
    task = east_task()
    assert client.get(f"{PAGE}{task.pk}/").status_code == 404
    assert client.post(f"{PAGE}{task.pk}/sample/", {"barcode": "Z"}).status_code == 404
    assert client.post(f"{PAGE}{task.pk}/cancel/", {"reason": "z"}).status_code == 404
