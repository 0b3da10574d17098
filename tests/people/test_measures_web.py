"""The people-under-control pages: scope, overdue badges, htmx transitions, person panel."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fangkong.core.models import User
from fangkong.people.measures_models import ControlMeasure
from tests.clients import page_client
from tests.factories import make_person
from tests.factories.measures import in_force, propose

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()
HTMX = {"HX-Request": "true"}


def d(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scene(clock: Any, users: dict[str, User], tree: Any) -> dict[str, ControlMeasure]:
    op = users["town_a1"]
    late = in_force(
        make_person(tree.grid_a1, name="逾期人员"), op, "home_quarantine_7", start=d(-8)
    )
    fresh = in_force(make_person(tree.grid_a1, name="新增人员"), op, start=TODAY)
    waiting = propose(make_person(tree.community_a1, name="待启动人员"), start=TODAY)
    other = in_force(
        make_person(tree.grid_a2, name="邻镇人员"),
        users["town_a2"],
        "home_quarantine_7",
        start=d(-8),
    )
    return {"late": late, "fresh": fresh, "waiting": waiting, "other": other}


def test_list_shows_own_town_with_overdue_badges(scene: Any, users: Any) -> None:
    page = page_client(users["town_a1"]).get("/control/").content.decode()
    assert "逾期人员" in page and "新增人员" in page
    assert "待启动人员" not in page  # the list opens on measures in force
    assert "邻镇人员" not in page
    assert page.count('data-testid="release-overdue"') == 1
    assert page.count('data-testid="test-overdue"') == 1  # day-1 and day-4 tests missing
    assert 'data-testid="in-force-count">2<' in page
    everything = page_client(users["town_a1"]).get("/control/", {"state": ""}).content.decode()
    assert "待启动人员" in everything and "邻镇人员" not in everything
    partial = page_client(users["town_a1"]).get("/control/", {"overdue": "release"}, headers=HTMX)
    body = partial.content.decode()
    assert "<html" not in body and "逾期人员" in body and "新增人员" not in body


def test_region_filter_and_sibling_codes(scene: Any, users: Any, tree: Any) -> None:
    client = page_client(users["town_a1"])
    page = client.get("/control/", {"region": tree.town_a2.code, "state": ""}).content.decode()
    assert "邻镇人员" not in page and "逾期人员" not in page
    page = page_client(users["district_a"]).get("/control/").content.decode()
    assert "邻镇人员" in page and "逾期人员" in page


def test_sibling_town_gets_404(scene: Any, users: Any) -> None:
    client = page_client(users["town_a1"])
    other = scene["other"]
    assert client.get(f"/control/{other.pk}/").status_code == 404
    for action, data in (
        ("release", {"release-reason": "x"}),
        ("extend", {"extend-days": "2", "extend-reason": "同住"}),
        ("convert", {"convert-to": "case", "convert-reason": "确诊"}),
    ):
        assert client.post(f"/control/{other.pk}/{action}/", data).status_code == 404
    other.refresh_from_db()
    assert other.state == "in_force"
    for who in ("admin", "inspector"):
        assert page_client(users[who]).get(f"/control/{other.pk}/").status_code == 404


def test_detail_and_htmx_release(scene: Any, users: Any) -> None:
    client = page_client(users["town_a1"])
    late = scene["late"]
    page = client.get(f"/control/{late.pk}/").content.decode()
    assert "逾期人员" in page and 'data-action="release"' in page
    assert 'data-action="start"' not in page
    r = client.post(f"/control/{late.pk}/release/", {"release-reason": "期满解除"}, headers=HTMX)
    assert r.status_code == 200
    body = r.content.decode()
    assert "<html" not in body and "ms-released" in body and "期满解除" in body
    late.refresh_from_db()
    assert (late.state, late.actual_end) == ("released", TODAY)


def test_refused_transitions_show_the_reason(scene: Any, users: Any) -> None:
    client = page_client(users["town_a1"])
    waiting, fresh = scene["waiting"], scene["fresh"]
    r = client.post(f"/control/{waiting.pk}/release/", {}, headers=HTMX)
    assert r.status_code == 409 and 'data-testid="measure-error"' in r.content.decode()
    r = client.post(f"/control/{fresh.pk}/extend/", {"extend-days": "3"}, headers=HTMX)
    assert r.status_code == 422 and "field-error" in r.content.decode()
    assert client.post(f"/control/{fresh.pk}/explode/", {}).status_code == 404
    # without htmx a successful transition goes back to the page (post/redirect/get)
    r = client.post(f"/control/{waiting.pk}/start/", {"start-start": d(-1).isoformat()})
    assert r.status_code == 302 and r["Location"] == f"/control/{waiting.pk}/"
    waiting.refresh_from_db()
    assert waiting.state == "in_force" and waiting.start_date == d(-1)


def test_person_page_panel_and_propose(scene: Any, users: Any, tree: Any) -> None:
    client = page_client(users["town_a1"])
    late = scene["late"]
    page = client.get(f"/people/{late.person_id}/").content.decode()
    assert 'data-testid="person-control"' in page and f"/control/{late.pk}/" in page
    person = make_person(tree.grid_a1, name="手工登记")
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert 'data-testid="not-under-control"' in page
    form = {
        "propose-person": person.pk,
        "propose-plan": "home_quarantine_7",
        "propose-start": TODAY.isoformat(),
        "token": "once",
    }
    r1, r2 = client.post("/control/propose/", form), client.post("/control/propose/", form)
    assert r1.status_code == r2.status_code == 302 and r1["Location"] == r2["Location"]
    assert ControlMeasure.objects.filter(person=person).count() == 1
    other = scene["other"]
    form["propose-person"] = other.person_id
    assert client.post("/control/propose/", form).status_code == 404


def test_list_page_query_count_does_not_grow(
    scene: Any, users: Any, tree: Any, django_assert_num_queries: Any
) -> None:
    client = page_client(users["town_a1"])
    client.get("/control/")  # warm the session and the user
    # session, user, the filter's region choices, count, one page of rows, kind x state,
    # child regions, one aggregate of every count; the session's idle-timeout save (3)
    with django_assert_num_queries(11):
        client.get("/control/")
    for i in range(10):
        in_force(make_person(tree.grid_a1, name=f"人员{i}"), users["town_a1"], start=TODAY)
    with django_assert_num_queries(11):
        page = client.get("/control/").content.decode()
    assert page.count("data-measure=") == 12
