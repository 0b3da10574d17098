"""The quarantine pages: the waiting list and allocation, a site's room grid with its room
panel, check-in and check-out from the page, the room list import with row errors, refusals
with the API's statuses, and a sibling town that sees nothing."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest

from fangkong.core.models import User
from fangkong.quarantine.models import Room, RoomState, Stay, StayState
from fangkong.quarantine.services import sites, stays
from tests.clients import page_client, zh
from tests.factories import Tree
from tests.factories.quarantine import SiteSetup, active_site, corridor_rooms, quarantined


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    return active_site(users["district_a"], tree.town_a1, corridor_rooms(pairs=3))


def _body(response: Any) -> str:
    return response.content.decode()


def test_the_waiting_list_allocates_and_the_grid_shows_the_room_occupied(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    waiting = [quarantined(tree.community_a1, name=n) for n in ("欧阳明", "李四")]
    client = page_client(users["district_a"])
    index = client.get("/quarantine/")
    assert index.status_code == 200
    page = _body(index)
    assert "欧*明" in page and "欧阳明" not in page
    assert re.search(r'data-testid="tile-awaiting">2<', page)
    r = client.post(
        "/quarantine/allocate/",
        {
            "alloc-measures": [m.pk for m in waiting],
            "alloc-site": setup.site.pk,
            "alloc-cohort": "A",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/quarantine/sites/{setup.site.pk}/"
    assert Stay.objects.filter(state=StayState.ALLOCATED).count() == 2
    board = _body(client.get(r["Location"]))
    assert board.count('data-state="occupied"') == 2 and board.count('data-state="available"') == 4
    assert re.search(r'data-testid="tile-occupied">2<', board)
    assert "欧*明" in board
    # the waiting list is empty now
    assert re.search(r'data-testid="tile-awaiting">0<', _body(client.get("/quarantine/")))


def test_check_in_and_out_from_the_room_panel_and_disinfect(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    done = stays.stays_allocate(
        actor=users["district_a"], measures=[quarantined(tree.community_a1)], site=setup.site
    )
    stay = done.stays[0]
    staff = page_client(setup.staff)
    panel = _body(staff.get(f"/quarantine/sites/{setup.site.pk}/?room={stay.room_id}"))
    assert 'data-testid="room-panel"' in panel and 'data-testid="check-in"' in panel
    r = staff.post(f"/quarantine/stays/{stay.pk}/check-in/", {"room": stay.room_id})
    assert r.status_code == 302
    # a second check-in is a conflict, answered 409 on the page with the reason
    again = staff.post(f"/quarantine/stays/{stay.pk}/check-in/", {"room": stay.room_id})
    assert again.status_code == 409
    assert zh("only an allocated stay can be checked in") in _body(again)
    staff.post(f"/quarantine/stays/{stay.pk}/check-out/", {"reason": "期满解除"})
    room = Room.objects.get(pk=stay.room_id)
    assert room.state == RoomState.DISINFECTION
    r = staff.post(f"/quarantine/rooms/{room.pk}/state/", {"state": "available", "note": "消杀"})
    assert r.status_code == 302
    assert Room.objects.get(pk=room.pk).state == RoomState.AVAILABLE


def test_a_sibling_town_and_another_site_see_nothing(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = stays.stays_allocate(
        actor=users["district_a"], measures=[quarantined(tree.community_a1)], site=setup.site
    ).stays[0]
    sibling = page_client(users["town_a2"])
    page = _body(sibling.get("/quarantine/"))
    assert setup.site.institution.name not in page
    assert sibling.get(f"/quarantine/sites/{setup.site.pk}/").status_code == 404
    assert sibling.post(f"/quarantine/stays/{stay.pk}/check-in/").status_code == 404
    other = active_site(users["district_a"], tree.town_a1, corridor_rooms(corridor="9"))
    outsider = page_client(other.staff)
    assert outsider.get(f"/quarantine/sites/{setup.site.pk}/").status_code == 404
    assert outsider.post(f"/quarantine/rooms/{stay.room_id}/state/").status_code == 404
    # the town sees the site in its jurisdiction and its resident's room
    assert (
        page_client(users["town_a1"]).get(f"/quarantine/sites/{setup.site.pk}/").status_code == 200
    )


def test_a_role_that_may_not_allocate_is_refused_before_the_form(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    measure = quarantined(tree.community_a1)
    r = page_client(setup.staff).post(
        "/quarantine/allocate/", {"alloc-measures": [measure.pk], "alloc-site": setup.site.pk}
    )
    assert r.status_code == 403
    assert not Stay.objects.exists()


def _sheet(rows: list[list[Any]]) -> io.BytesIO:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["某某隔离点房间清单"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "rooms.xlsx"
    return out


def test_the_room_list_is_imported_whole_or_not_at_all(
    tree: Tree, users: dict[str, User], setup: SiteSetup, run_file_jobs: Any
) -> None:
    client = page_client(users["district_a"])
    header = ["楼栋", "楼层", "房号", "走廊", "侧", "位置", "容量", "负压"]
    bad = _sheet(
        [
            header,
            ["2", "1", "2101", "1", "A", "1", "1", "否"],
            ["2", "x", "2102", "1", "C", "", "9", "也许"],
        ]
    )
    r = client.post(f"/quarantine/sites/{setup.site.pk}/rooms/import/", {"file": bad})
    assert r.status_code == 302
    job = run_file_jobs()[0]
    fields = {(e["row"], e["field"]) for e in job.result["errors"]}
    assert {(4, "floor"), (4, "side"), (4, "capacity"), (4, "negative_pressure")} <= fields
    assert job.result["created"] == 0 and not Room.objects.filter(building="2").exists()
    page = _body(client.get(f"/jobs/{job.pk}/"))
    assert "2102" not in page and zh("capacity is 1 to 6 persons") in page

    good = _sheet(
        [
            header,
            ["2", "1", "2101", "1", "A", "1", "1", "否"],
            ["2", "1", "2102", "1", "B", "1", "2", "是"],
        ]
    )
    client.post(f"/quarantine/sites/{setup.site.pk}/rooms/import/", {"file": good})
    job = run_file_jobs()[0]
    assert job.result == {"site_id": setup.site.pk, "created": 2, "errors": []}
    family = Room.objects.get(building="2", number="2102")
    assert family.capacity == 2 and family.negative_pressure and family.side == "B"


def test_the_board_reads_in_a_fixed_number_of_queries(
    tree: Tree, users: dict[str, User], setup: SiteSetup, django_assert_max_num_queries: Any
) -> None:
    for _ in range(4):
        stays.stays_allocate(
            actor=users["district_a"], measures=[quarantined(tree.community_a1)], site=setup.site
        )
    client = page_client(setup.staff)
    url = f"/quarantine/sites/{setup.site.pk}/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    sites.rooms_add(
        actor=users["district_a"], site=setup.site, rooms=corridor_rooms(corridor="7", pairs=20)
    )
    for _ in range(6):
        stays.stays_allocate(
            actor=users["district_a"], measures=[quarantined(tree.community_a1)], site=setup.site
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
