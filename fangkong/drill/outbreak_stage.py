"""What every part of the demo outbreak shares: the clock, the cast of demo accounts who do
the work, the city's regions and residents, and the steps a control measure goes through.

Times are relative to the moment seeding starts, so the demo always shows a live outbreak
(an investigation 30 hours old is overdue today, whenever today is).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from fangkong.core.models import Region, User
from fangkong.core.permissions import allowed
from fangkong.drill.citygen import stage_rng
from fangkong.drill.outbreak_people import Population
from fangkong.people.measures_models import IN_FORCE_STATES, ControlMeasure
from fangkong.people.services.measure_results import measure_record_test
from fangkong.people.services.measures import measure_release, measure_start

# Demo accounts that work with named people in a region, the most local first: each write is
# done by the most local of them whose jurisdiction holds it, as the real unit would.
REGION_ACTORS = (
    "grid_1",
    "community_1",
    "town_east_1",
    "town_east_2",
    "district_east",
    "district_west",
    "city_office",
)
TRACER = "wg_tracing"  # cases, exposures and investigations: the tracing working group
AREA_WRITER = "city_office"


class CastMissing(LookupError):
    """A demo account the outbreak needs does not exist (seed the accounts first)."""


@dataclass
class Cast:
    users: dict[str, User]

    @classmethod
    def load(cls) -> Cast:
        wanted = (*REGION_ACTORS, TRACER)
        users = {
            u.username: u
            for u in User.objects.filter(username__in=wanted, is_demo=True).select_related("region")
        }
        missing = sorted(set(wanted) - set(users))
        if missing:
            raise CastMissing(f"demo accounts missing: {', '.join(missing)}")
        return cls(users)

    @property
    def tracer(self) -> User:
        return self.users[TRACER]

    @property
    def command_office(self) -> User:
        return self.users[AREA_WRITER]

    def for_path(self, region_path: str, *, action: str) -> User:
        """The most local region account the permission table lets do `action` over
        `region_path`; the command office when none does."""
        for name in REGION_ACTORS:
            user = self.users[name]
            if allowed(user, action, region=region_path):
                return user
        return self.command_office

    def area_writer_for(self, region_path: str) -> User:
        """Zones are drawn by the district (or the command office), not by a street."""
        return self.for_path(region_path, action="zone.change")


@dataclass
class Stage:
    seed: int
    now: dt.datetime
    cast: Cast
    pop: Population
    regions: dict[str, Region]  # the city's regions by code
    rngs: dict[str, random.Random] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def rng(self, part: str) -> random.Random:
        """One generator per part of the outbreak, so changing one part leaves the others."""
        if part not in self.rngs:
            self.rngs[part] = stage_rng(self.seed, f"outbreak:{part}")
        return self.rngs[part]

    def day(self, days_ago: int) -> dt.date:
        return self.today - dt.timedelta(days=days_ago)

    def at(self, days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
        """A local time on a day relative to today, never later than now for past days."""
        tz = timezone.get_current_timezone()
        moment = dt.datetime.combine(self.day(days_ago), dt.time(hour, minute), tzinfo=tz)
        return min(moment, self.now) if days_ago >= 0 else moment


# -- the steps of a control measure, done by the unit responsible for it ---------------------


def start(stage: Stage, measure: ControlMeasure, on: dt.date) -> ControlMeasure | None:
    """Put a proposed measure in force from `on`; None if the person's stronger one stays."""
    actor = stage.cast.for_path(measure.region_path, action="measure.decide")
    started = measure_start(actor=actor, measure=measure, start=min(on, stage.today))
    return started if started.state in IN_FORCE_STATES else None


def record_tests(
    stage: Stage, measure: ControlMeasure, *, miss_last: bool = False, positive_at: int = 0
) -> None:
    """Negative results for the test days already past; `positive_at` (1-based) makes that
    test positive and the last one recorded; `miss_last` leaves the latest past day without
    a result, which makes the measure's test overdue."""
    past = [dt.date.fromisoformat(d) for d in measure.test_days]
    past = [d for d in past if d < stage.today]
    if miss_last and past:
        past = past[:-1]
    for n, day in enumerate(past, start=1):
        positive = n == positive_at
        measure_record_test(measure=measure, on=day, result="positive" if positive else "negative")
        if positive:
            break


def release(stage: Stage, measure: ControlMeasure) -> None:
    """Release on the planned end, once that day is past."""
    if measure.planned_end < stage.today:
        measure_release(
            actor=stage.cast.for_path(measure.region_path, action="measure.decide"),
            measure=measure,
            on=measure.planned_end,
            reason="期满解除，核酸检测均为阴性",
        )
