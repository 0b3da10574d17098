"""Rows of an assistance request that the import could not place wait in the importing unit's
queue; the unit assigns them to one of its towns (or communities) by hand, audited."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import AuditEvent, User
from fangkong.core.validators import FieldError
from fangkong.screening.assistance_layout import COLUMNS
from fangkong.screening.models import AssistanceItem, AssistanceRequest, ScreeningRecord
from fangkong.screening.services import assistance
from fangkong.screening.services.arrivals import screening_reject
from tests.clients import page_client
from tests.factories import Tree, make_person
from tests.factories.screening import ensure_default_rules, local, resident_ids, sheet_bytes

HEADER = [zh for _f, zh, _en in COLUMNS]


@pytest.fixture(autouse=True)
def _seeded(db: Any, settings: Any, tmp_path: Any) -> Any:
    ensure_default_rules()
    settings.DATA_DIR = tmp_path
    with time_machine.travel(local(2022, 5, 10, 10, 0), tick=False):
        yield


@pytest.fixture
def request_a(tree: Tree, users: dict[str, User]) -> AssistanceRequest:
    """District A's import: one row placed in town A1, four left in the district's queue,
    one of them a person already registered in a community of town A2."""
    ids = resident_ids(5, seed=21)
    make_person(tree.community_a2, name="丁", id_number=ids[3])
    content = sheet_bytes(
        HEADER,
        [
            ["甲", ids[0], "", "", "", "", "", "密接", ""],
            ["乙", ids[1], "", "", "", "", "不存在社区", "", ""],
            ["丙", ids[2], "", "", "", "", "", "", ""],
            ["丁", ids[3], "", "", "", "", "", "", ""],
            ["戊", ids[4], "", "", "", "", "东一社区", "", ""],
        ],
    )
    return assistance.assistance_import(
        actor=users["district_a"],
        info=assistance.RequestInfo(from_jurisdiction="上海市浦东新区", reference_number="118"),
        filename="名单.xlsx",
        content=content,
    )


def _queued(request: AssistanceRequest) -> list[AssistanceItem]:
    return list(AssistanceItem.objects.filter(request=request, placed=False).order_by("row"))


def test_service_assigns_rows_to_a_town(
    tree: Tree, users: dict[str, User], request_a: AssistanceRequest
) -> None:
    assert (request_a.assigned_count, request_a.unplaced_count) == (1, 4)
    town_user = users["town_a1"]
    inbox = ScreeningRecord.objects.visible_to(town_user)
    assert inbox.count() == 1
    first, second, *_rest = _queued(request_a)
    n = assistance.assistance_items_assign(
        actor=users["district_a"], items=[first, second], region=tree.community_a1
    )
    assert n == 2
    for item in (first, second):
        item.refresh_from_db()
        assert item.placed and item.town_id == tree.town_a1.pk
        assert item.region_id == tree.community_a1.pk
        assert item.region_path == tree.community_a1.path
        record = ScreeningRecord.objects.get(assistance_item=item)
        assert record.destination_id == tree.community_a1.pk and record.status == "pending"
        # registered by the import at the district queue: now in the community
        assert item.person.region_id == tree.community_a1.pk
    request_a.refresh_from_db()
    assert (request_a.assigned_count, request_a.unplaced_count) == (3, 2)
    assert inbox.count() == 3  # the town's inbox holds them now
    audit = AuditEvent.objects.get(action="assistance.assign")
    assert audit.details["rows"] == [first.row, second.row]
    assert audit.details["town"] == tree.town_a1.code and audit.details["persons_moved"] == 2
    # the sibling town sees none of them
    assert not ScreeningRecord.objects.visible_to(users["town_a2"]).filter(
        assistance_item__in=[first, second]
    )


def test_a_person_registered_elsewhere_stays_where_registered(
    tree: Tree, users: dict[str, User], request_a: AssistanceRequest
) -> None:
    ding = next(i for i in _queued(request_a) if i.person.name == "丁")
    assistance.assistance_items_assign(actor=users["district_a"], items=[ding], region=tree.town_a1)
    ding.refresh_from_db()
    assert ding.town_id == tree.town_a1.pk and ding.region_id == tree.town_a1.pk
    assert ding.person.region_id == tree.community_a2.pk


def test_service_refusals(tree: Tree, users: dict[str, User], request_a: AssistanceRequest) -> None:
    queued = _queued(request_a)
    district = users["district_a"]
    # a town of another district, or a grid, is no target
    for region in (tree.town_b1, tree.grid_a1, tree.district_a):
        with pytest.raises(FieldError):
            assistance.assistance_items_assign(actor=district, items=queued[:1], region=region)
    # a row whose record was already decided stays where it was decided
    record = ScreeningRecord.objects.get(assistance_item=queued[0])
    screening_reject(actor=district, record=record, reason="查无此人")
    with pytest.raises(Conflict):
        assistance.assistance_items_assign(actor=district, items=queued[:1], region=tree.town_a1)
    assistance.assistance_items_assign(actor=district, items=queued[1:2], region=tree.town_a1)
    with pytest.raises(Conflict):  # already placed
        assistance.assistance_items_assign(actor=district, items=queued[1:2], region=tree.town_a2)
    request_a.refresh_from_db()
    assert (request_a.assigned_count, request_a.unplaced_count) == (2, 3)
    with pytest.raises(Forbidden):
        assistance.assistance_items_assign(
            actor=users["admin"], items=queued[2:3], region=tree.town_a1
        )


def test_assign_from_the_request_page(
    tree: Tree, users: dict[str, User], request_a: AssistanceRequest
) -> None:
    client = page_client(users["district_a"])
    url = f"/screening/assistance/{request_a.pk}/"
    page = client.get(url).content.decode()
    assert 'data-testid="assign-form"' in page
    assert f'value="{tree.town_a1.code}"' in page and f'value="{tree.community_a2.code}"' in page
    assert f'value="{tree.town_b1.code}"' not in page  # another district's town
    queued = _queued(request_a)
    r = client.post(
        url, {"item": [queued[0].pk, queued[1].pk], "region": tree.town_a2.code}, follow=True
    )
    assert r.status_code == 200
    assert 'data-testid="assign-message"' in r.content.decode()
    assert AssistanceItem.objects.filter(town=tree.town_a2, request=request_a).count() == 2
    # nothing ticked, or a region outside the jurisdiction: nothing moves
    assert client.post(url, {"region": tree.town_a2.code}).status_code == 422
    r = client.post(url, {"item": [queued[2].pk], "region": tree.town_b1.code})
    assert r.status_code == 422
    assert not AssistanceItem.objects.get(pk=queued[2].pk).placed


def test_other_jurisdictions_cannot_assign(
    tree: Tree, users: dict[str, User], request_a: AssistanceRequest
) -> None:
    queued = _queued(request_a)
    url = f"/screening/assistance/{request_a.pk}/"
    # the request belongs to district A: district B and the towns get 404
    for who in ("district_b", "town_a1", "town_a2"):
        r = page_client(users[who]).post(url, {"item": [queued[0].pk], "region": tree.town_a1.code})
        assert r.status_code == 404, who
    assert not AssistanceItem.objects.get(pk=queued[0].pk).placed
    assert not AuditEvent.objects.filter(action="assistance.assign").exists()


def test_request_page_queries(
    tree: Tree,
    users: dict[str, User],
    request_a: AssistanceRequest,
    django_assert_num_queries: Any,
) -> None:
    client = page_client(users["district_a"])
    url = f"/screening/assistance/{request_a.pk}/"
    client.get(url)
    # session, user, request, errors, town counts, queued rows (with person and record),
    # regions to assign to (with parents), session activity (savepoint, update, release)
    with django_assert_num_queries(10):
        assert client.get(url).status_code == 200
