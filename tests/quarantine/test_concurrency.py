"""Issue 10's bar on PostgreSQL: 50 simultaneous allocations for 40 free rooms → 40 housed,
10 refused with a reason, no room with two persons, no person in two rooms."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from fangkong.core.errors import Conflict
from fangkong.core.models import Role
from fangkong.people.models import ControlMeasure
from fangkong.quarantine.models import OPEN_STAY_STATES, Room, RoomState, Stay
from fangkong.quarantine.services import stays
from tests.clients import zh
from tests.factories import UserFactory, build_tree
from tests.factories.measures import ensure_default_plans
from tests.factories.quarantine import NO_FREE_ROOM, active_site, corridor_rooms, quarantined
from tests.threads import together

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_allocations_for_forty_rooms() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite cannot share a database between threads")
    ensure_default_plans()
    tree = build_tree()
    district = UserFactory(username="qd", role=Role.DISTRICT, region=tree.district_a)
    rooms = [r for c in "12345" for r in corridor_rooms(corridor=c, pairs=4)]
    setup = active_site(district, tree.town_a1, rooms)
    measures = [quarantined(tree.community_a1, name=f"人{i:02d}") for i in range(50)]

    def allocate(i: int) -> Any:
        measure = ControlMeasure.objects.get(pk=measures[i].pk)
        try:
            return (
                stays.stays_allocate(
                    actor=district, measures=[measure], site=setup.site, cohort=f"c{i % 3}"
                )
                .stays[0]
                .room_id
            )
        except Conflict as exc:
            return exc

    results, errors = together(50, allocate)
    assert errors == []
    housed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(housed) == 40 and len(refused) == 10
    full = zh(NO_FREE_ROOM, n=1, site=setup.site, occupied=40, dis=0, out=0, free=0)
    assert all(str(r) == full for r in refused)
    assert len(set(housed)) == 40
    open_stays = Stay.objects.filter(state__in=OPEN_STAY_STATES)
    assert not open_stays.values("room").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not open_stays.values("person").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Room.objects.filter(site=setup.site, state=RoomState.OCCUPIED).count() == 40
    sited = ControlMeasure.objects.filter(site=setup.site.institution).count()
    assert sited == 40
