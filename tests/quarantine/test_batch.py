"""Allocating many persons at once: the same rooms as one by one, refusals with reasons,
a fixed number of statements whatever the size, nothing kept when a room is lost meanwhile."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.core.errors import Conflict
from fangkong.core.models import AuditEvent, User
from fangkong.people.models import ControlMeasure, MeasureEvent
from fangkong.people.services import measures
from fangkong.quarantine.models import Room, RoomEvent, RoomState, Stay
from fangkong.quarantine.services import stays
from tests.clients import zh
from tests.factories import Tree
from tests.factories.quarantine import NO_FREE_ROOM, active_site, corridor_rooms, quarantined


def _rooms() -> list:  # type: ignore[type-arg]
    return [corridor_rooms(corridor=c, pairs=3)[i] for c in "123" for i in range(6)]


def test_a_batch_takes_the_rooms_one_by_one_allocation_would(
    tree: Tree, users: dict[str, User]
) -> None:
    actor = users["district_a"]
    cohorts = ["X", "Y", "X", "Z", "Y", "X", "X", "X", "X", "X", "Y"]
    one_site = active_site(actor, tree.town_a1, _rooms())
    many_site = active_site(actor, tree.town_a1, _rooms())
    one_by_one = []
    for i, cohort in enumerate(cohorts):
        m = quarantined(tree.community_a1, name=f"甲{i}")
        done = stays.stays_allocate(actor=actor, measures=[m], site=one_site.site, cohort=cohort)
        one_by_one.append((done.stays[0].room.number, bool(done.warnings)))
    batch = []
    for i, cohort in enumerate(cohorts):
        m = quarantined(tree.community_a1, name=f"乙{i}")
        done_many = stays.stays_allocate_many(
            actor=actor, measures=[m], site=many_site.site, cohort=cohort
        )
        batch.append((done_many.stays[0].room.number, bool(done_many.warnings)))
    assert batch == one_by_one
    # and in one call for one cohort: the same rooms as that cohort allocated one by one
    singles, together = (active_site(actor, tree.town_a1, _rooms()) for _ in range(2))
    alone = [
        stays.stays_allocate(
            actor=actor, measures=[quarantined(tree.community_a1, name=f"丙{i}")],
            site=singles.site, cohort="X",
        ).stays[0].room.number
        for i in range(8)
    ]  # fmt: skip
    group = [quarantined(tree.community_a1, name=f"丁{i}") for i in range(8)]
    done = stays.stays_allocate_many(actor=actor, measures=group, site=together.site, cohort="X")
    assert [s.room.number for s in done.stays] == alone
    assert len({s.room.corridor for s in done.stays}) == 2  # 6 rooms a corridor, then the next


def test_refusals_say_why_and_the_rest_is_housed(tree: Tree, users: dict[str, User]) -> None:
    actor = users["district_a"]
    setup = active_site(actor, tree.town_a1, corridor_rooms(pairs=1))
    housed = quarantined(tree.community_a1, name="已入住")
    stays.stays_allocate(actor=actor, measures=[housed], site=setup.site)
    ended = quarantined(tree.community_a1, name="已结束")
    measures.measure_cancel(actor=actor, measure=ended, reason="误判")
    fresh = [quarantined(tree.community_a1, name=f"新{i}") for i in range(3)]
    again = quarantined(tree.community_a1, name="重复")
    done = stays.stays_allocate_many(
        actor=actor, measures=[housed, ended, fresh[0], again, again, *fresh[1:]], site=setup.site
    )
    assert [s.measure_id for s in done.stays] == [fresh[0].pk]
    reasons = {m.pk: why for m, why in done.refused}
    assert reasons[housed.pk] == zh("this person already has a room")
    assert reasons[ended.pk] == zh("the measure is finished; there is nothing to allocate")
    full = zh(NO_FREE_ROOM, n=1, site=setup.site, occupied=2, dis=0, out=0, free=0)
    assert reasons[fresh[1].pk] == reasons[fresh[2].pk] == full
    # a measure named twice is considered once
    assert [why for m, why in done.refused if m.pk == again.pk] == [full]


def test_a_batch_costs_the_same_statements_for_3_or_30_persons(
    tree: Tree, users: dict[str, User]
) -> None:
    actor = users["district_a"]
    counts = []
    for n in (3, 30):
        setup = active_site(actor, tree.town_a1, [r for c in "1234" for r in corridor_rooms(
            corridor=c, pairs=5)])  # fmt: skip
        group = [quarantined(tree.community_a1, name=f"人{n}_{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            done = stays.stays_allocate_many(actor=actor, measures=group, site=setup.site)
        assert len(done.stays) == n and not done.refused
        counts.append(len(ctx.captured_queries))
        rooms = Room.objects.filter(site=setup.site, state=RoomState.OCCUPIED)
        assert rooms.count() == n
        assert RoomEvent.objects.filter(room__site=setup.site).count() == n
        assert MeasureEvent.objects.filter(
            measure__in=group, note=setup.site.institution.name
        ).count() == n  # fmt: skip
        for m in group:
            m.refresh_from_db()
            assert m.site_id == setup.site.institution_id
    assert counts[0] == counts[1]
    audit = AuditEvent.objects.filter(action="quarantine.allocate_many").order_by("seq").last()
    assert audit is not None and len(audit.details["stays"]) == 30


def test_a_room_lost_meanwhile_keeps_nothing_of_the_batch(
    tree: Tree, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = users["district_a"]
    setup = active_site(actor, tree.town_a1, corridor_rooms(pairs=2))
    group = [quarantined(tree.community_a1, name=f"人{i}") for i in range(3)]
    real = stays._free_rooms

    def stale(site, room):  # type: ignore[no-untyped-def]
        rooms = real(site, room)
        # a room put out of service by the staff after the allocator read it
        Room.objects.filter(pk=rooms[0].id).update(state=RoomState.OUT_OF_SERVICE)
        return rooms

    monkeypatch.setattr(stays, "_free_rooms", stale)
    with pytest.raises(Conflict, match=zh("the room or the person was taken meanwhile; try again")):
        stays.stays_allocate_many(actor=actor, measures=group, site=setup.site)
    assert not Stay.objects.filter(site=setup.site).exists()
    stored = ControlMeasure.objects.filter(pk__in=[g.pk for g in group])
    assert all(m.site_id is None for m in stored)
