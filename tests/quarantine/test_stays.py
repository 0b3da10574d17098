"""Allocation, one person per room, cohorts kept apart, family rooms, check-in, room change,
check-out through disinfection, cancelling — through the services."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.people.models import ControlMeasure
from fangkong.people.services import measures
from fangkong.quarantine.models import Room, RoomEvent, RoomState, Stay, StayState
from fangkong.quarantine.services import sites, stays
from tests.clients import zh
from tests.factories import Tree
from tests.factories.quarantine import (
    NO_FREE_ROOM,
    SiteSetup,
    active_site,
    corridor_rooms,
    quarantined,
)


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    rooms = corridor_rooms(corridor="1") + corridor_rooms(corridor="2")
    return active_site(users["district_a"], tree.town_a1, rooms)


def said(msgid: str, **values: object) -> str:
    """The refusal as a zh-Hans user reads it, as a pattern for pytest.raises."""
    return re.escape(zh(msgid, **values))


def _one(actor: User, setup: SiteSetup, measure: ControlMeasure, cohort: str = "") -> Any:
    return stays.stays_allocate(actor=actor, measures=[measure], site=setup.site, cohort=cohort)


def test_allocation_occupies_a_room_and_names_the_site_on_the_measure(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    measure = quarantined(tree.community_a1)
    done = _one(users["district_a"], setup, measure)
    stay = done.stays[0]
    assert stay.state == StayState.ALLOCATED and done.warnings == []
    assert Room.objects.get(pk=stay.room_id).state == RoomState.OCCUPIED
    measure.refresh_from_db()
    assert measure.site_id == setup.site.institution_id
    assert measure.events.filter(note=setup.site.institution.name).exists()
    # the same person again: refused, naming where they already are
    with pytest.raises(Conflict, match=str(Room.objects.get(pk=stay.room_id))):
        _one(users["district_a"], setup, measure)


def test_the_database_keeps_one_person_per_room(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _one(users["district_a"], setup, quarantined(tree.community_a1)).stays[0]
    other = quarantined(tree.community_a1, name="李四")
    intruder = Stay(
        measure=other, person_id=other.person_id, region_path=other.region_path,
        site=setup.site, room=stay.room, cohort="x",
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        intruder.save()
    # a second slot outside a family is refused by the check constraint too
    intruder.slot = 2
    with pytest.raises(IntegrityError), transaction.atomic():
        intruder.save()


def test_cohorts_keep_to_their_corridors_and_say_why_when_they_cannot(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    actor = users["district_a"]
    corridor = {}
    for i, cohort in enumerate(["X", "Y", "X", "Y"]):
        stay = _one(actor, setup, quarantined(tree.community_a1, name=f"人{i}"), cohort).stays[0]
        corridor.setdefault(cohort, set()).add(stay.room.corridor)
    assert len(corridor["X"]) == 1 and len(corridor["Y"]) == 1
    assert corridor["X"] != corridor["Y"]
    # X fills its corridor (4 rooms) before it spreads; the fifth X shares Y's corridor
    for i in range(2):
        done = _one(actor, setup, quarantined(tree.community_a1, name=f"甲{i}"), "X")
        assert done.warnings == [] and done.stays[0].room.corridor in corridor["X"]
    spill = _one(actor, setup, quarantined(tree.community_a1, name="乙"), "X")
    assert spill.stays[0].room.corridor in corridor["Y"]
    assert spill.warnings and "Y" in spill.warnings[0]


def test_a_family_shares_one_room_big_enough_and_singles_leave_it_free(
    tree: Tree, users: dict[str, User]
) -> None:
    rooms = corridor_rooms(pairs=1) + corridor_rooms(corridor="2", pairs=1, capacity=2)
    setup = active_site(users["district_a"], tree.town_a1, rooms)
    single = _one(users["district_a"], setup, quarantined(tree.community_a1)).stays[0]
    assert single.room.capacity == 1
    parent, child = quarantined(tree.community_a1, name="母亲"), quarantined(tree.community_a1)
    done = stays.stays_allocate(
        actor=users["district_a"], measures=[parent, child], site=setup.site
    )
    assert {s.room_id for s in done.stays} == {done.stays[0].room_id}
    assert [s.slot for s in done.stays] == [1, 2] and done.stays[0].family is not None
    assert done.stays[0].room.capacity == 2
    trio = [quarantined(tree.community_a1, name=f"家{i}") for i in range(3)]
    full = said(NO_FREE_ROOM, n=3, site=setup.site, occupied=2, dis=0, out=0, free=2)
    with pytest.raises(Conflict, match=full):
        stays.stays_allocate(actor=users["district_a"], measures=trio, site=setup.site)


def test_check_in_out_and_the_room_goes_through_disinfection(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _one(users["district_a"], setup, quarantined(tree.community_a1)).stays[0]
    with pytest.raises(Conflict):
        stays.stay_check_out(actor=setup.staff, stay=stay)
    stay = stays.stay_check_in(actor=setup.staff, stay=stay)
    assert stay.state == StayState.CHECKED_IN and stay.checked_in_at is not None
    stay = stays.stay_check_out(actor=setup.staff, stay=stay, note="released")
    room = Room.objects.get(pk=stay.room_id)
    assert room.state == RoomState.DISINFECTION
    # not allocatable until disinfected
    with pytest.raises(Conflict, match=said("room %(room)s is not free", room=room)):
        stays.stays_allocate(
            actor=users["district_a"], measures=[quarantined(tree.community_a1)],
            site=setup.site, room=room,
        )  # fmt: skip
    sites.room_set_state(actor=setup.staff, room=room, state=RoomState.AVAILABLE, note="消杀完成")
    states = list(RoomEvent.objects.filter(room=room).values_list("to_state", flat=True))
    assert states == ["occupied", "disinfection", "available"]
    with pytest.raises(Conflict):
        sites.room_set_state(actor=setup.staff, room=room, state=RoomState.OCCUPIED)


def test_cancel_frees_the_room_at_once_and_clears_the_measure(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    measure = quarantined(tree.community_a1)
    stay = _one(users["district_a"], setup, measure).stays[0]
    with pytest.raises(FieldError):
        stays.stay_cancel(actor=users["district_a"], stay=stay, reason=" ")
    stays.stay_cancel(actor=users["district_a"], stay=stay, reason="转院")
    assert Room.objects.get(pk=stay.room_id).state == RoomState.AVAILABLE
    measure.refresh_from_db()
    assert measure.site_id is None
    assert _one(users["district_a"], setup, measure).stays[0].state == StayState.ALLOCATED


def test_a_room_change_moves_the_person_and_leaves_the_old_room_to_disinfect(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    stay = _one(users["district_a"], setup, quarantined(tree.community_a1)).stays[0]
    stays.stay_check_in(actor=setup.staff, stay=stay)
    old = stay.room
    target = Room.objects.filter(site=setup.site, state=RoomState.AVAILABLE).last()
    assert target is not None
    moved = stays.stay_move(actor=setup.staff, stay=stay, room=target, reason="空调故障")
    assert moved.room_id == target.pk
    assert Room.objects.get(pk=old.pk).state == RoomState.DISINFECTION
    assert Room.objects.get(pk=target.pk).state == RoomState.OCCUPIED
    with pytest.raises(Conflict, match=said("room %(room)s is not free", room=old)):
        stays.stay_move(actor=setup.staff, stay=moved, room=old, reason="回去")


def test_only_an_active_site_takes_people_and_a_full_one_says_what_it_has(
    tree: Tree, users: dict[str, User]
) -> None:
    actor = users["district_a"]
    setup = active_site(actor, tree.town_a1, corridor_rooms(pairs=1))
    _one(actor, setup, quarantined(tree.community_a1, name="一"))
    _one(actor, setup, quarantined(tree.community_a1, name="二"))
    full = said(NO_FREE_ROOM, n=1, site=setup.site, occupied=2, dis=0, out=0, free=0)
    with pytest.raises(Conflict, match=full):
        _one(actor, setup, quarantined(tree.community_a1, name="三"))
    with pytest.raises(Conflict, match=said("people are still quarantined at this site")):
        sites.site_set_state(actor=actor, site=setup.site, state="closing")
        sites.site_set_state(actor=actor, site=setup.site, state="stood_down")
    reserve = sites.site_create(actor=actor, code="R1", name="备用点", region=tree.town_a1)
    with pytest.raises(
        Conflict, match=said("%(site)s is not active; activate it first", site=reserve)
    ):
        stays.stays_allocate(actor=actor, measures=[quarantined(tree.community_a1)], site=reserve)


def test_who_may_do_what(tree: Tree, users: dict[str, User], setup: SiteSetup) -> None:
    with pytest.raises(Forbidden):
        sites.site_create(actor=users["town_a1"], code="T1", name="镇隔离点", region=tree.town_a1)
    with pytest.raises(Forbidden):
        sites.site_create(actor=users["district_b"], code="T2", name="别区", region=tree.town_a1)
    measure = quarantined(tree.community_a1)
    with pytest.raises(Forbidden):
        _one(setup.staff, setup, measure)
    stay = _one(users["district_a"], setup, measure).stays[0]
    other = active_site(users["district_a"], tree.town_a1, corridor_rooms(pairs=1))
    with pytest.raises(Forbidden):
        stays.stay_check_in(actor=other.staff, stay=stay)
    assert stays.stay_check_in(actor=setup.staff, stay=stay).state == StayState.CHECKED_IN


def test_rooms_are_added_all_or_nothing_with_every_bad_row_named(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    before = Room.objects.filter(site=setup.site).count()
    rows = [
        sites.RoomIn(building="2", floor=1, number="201"),
        sites.RoomIn(building="2", floor=1, number="201"),
        sites.RoomIn(building="", floor=1, number="202", capacity=9),
        sites.RoomIn(building="2", floor=1, number="203", side="A"),
    ]
    created, errors = sites.rooms_add(actor=users["district_a"], site=setup.site, rooms=rows)
    assert created == 0
    assert {(e.row, e.field) for e in errors} == {
        (2, "number"), (3, "building"), (3, "capacity"), (4, "position"),
    }  # fmt: skip
    assert Room.objects.filter(site=setup.site).count() == before


def test_the_end_of_the_measure_settles_its_stay(
    tree: Tree, users: dict[str, User], setup: SiteSetup
) -> None:
    """Released or converted: the checked-in person is out and the room awaits disinfection;
    a proposal cancelled before anyone arrived frees its room at once."""
    actor = users["district_a"]
    released = measures.measure_start(actor=actor, measure=quarantined(tree.community_a1))
    stay = _one(actor, setup, released).stays[0]
    stays.stay_check_in(actor=setup.staff, stay=stay)
    measures.measure_release(actor=actor, measure=released, reason="期满")
    stay.refresh_from_db()
    assert stay.state == StayState.CHECKED_OUT and stay.checked_out_at is not None
    assert Room.objects.get(pk=stay.room_id).state == RoomState.DISINFECTION

    converted = measures.measure_start(actor=actor, measure=quarantined(tree.community_a1))
    stay = _one(actor, setup, converted).stays[0]
    stays.stay_check_in(actor=setup.staff, stay=stay)
    measures.measure_convert(actor=None, measure=converted, to="case", reason="核酸阳性")
    assert Stay.objects.get(pk=stay.pk).state == StayState.CHECKED_OUT

    proposal = quarantined(tree.community_a1)
    stay = _one(actor, setup, proposal).stays[0]
    measures.measure_cancel(actor=actor, measure=proposal, reason="误报")
    stay.refresh_from_db()
    assert stay.state == StayState.CANCELLED
    assert Room.objects.get(pk=stay.room_id).state == RoomState.AVAILABLE
    # nothing is left open under a finished measure
    assert not Stay.objects.filter(
        measure__state__in=["released", "converted", "cancelled"],
        state__in=["allocated", "checked_in"],
    ).exists()
