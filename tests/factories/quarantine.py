"""Quarantine sites with rooms laid out on corridors, and persons under centralised
quarantine ready to be allocated."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from django.utils import timezone

from fangkong.core.models import Region, Role, User
from fangkong.people.models import ControlMeasure
from fangkong.quarantine.models import Site
from fangkong.quarantine.services import sites
from tests.factories import UserFactory, make_person
from tests.factories.measures import propose

_seq = itertools.count(1)

# the allocator's refusal when a site is full, as the tests compare it (through zh())
NO_FREE_ROOM = (
    "no free room for %(n)s at %(site)s: %(occupied)s occupied, %(dis)s awaiting "
    "disinfection, %(out)s out of service, %(free)s free but too small"
)


def corridor_rooms(
    *, building: str = "1", floor: int = 1, corridor: str = "1", pairs: int = 2, capacity: int = 1
) -> list[sites.RoomIn]:
    """`pairs` rooms on each side of one corridor, facing each other: A1 faces B1, ..."""
    return [
        sites.RoomIn(
            building=building,
            floor=floor,
            number=f"{floor}{corridor}{side}{pos:02d}",
            corridor=corridor,
            side=side,
            position=pos,
            capacity=capacity,
        )
        for side in ("A", "B")
        for pos in range(1, pairs + 1)
    ]


@dataclass
class SiteSetup:
    site: Site
    staff: User


def active_site(
    actor: User, region: Region, rooms: list[sites.RoomIn], *, name: str = "隔离酒店"
) -> SiteSetup:
    """A site registered by `actor`, given `rooms`, activated, with one staff account."""
    n = next(_seq)
    site = sites.site_create(actor=actor, code=f"QS{n:04d}", name=f"{name}{n}", region=region)
    created, errors = sites.rooms_add(actor=actor, site=site, rooms=rooms)
    assert not errors and created == len(rooms)
    site = sites.site_set_state(actor=actor, site=site, state="active")
    staff = UserFactory(
        username=f"site{n}", role=Role.QUARANTINE_SITE, institution=site.institution
    )
    return SiteSetup(site=site, staff=staff)


def quarantined(
    region: Region, *, name: str = "隔离人", start: dt.date | None = None
) -> ControlMeasure:
    """A resident of `region` with a proposed centralised quarantine starting `start`."""
    person = make_person(region, name=name)
    return propose(person, start=start or timezone.localdate())
