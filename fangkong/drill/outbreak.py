"""The demo city's live outbreak: risk areas, zones, arrivals in the towns' inboxes, cases
with contact generations, and control measures in every state, some of them overdue.

Seeded once, after the city and the demo accounts, entirely through the domain services and
by the demo accounts themselves (the town confirms its arrivals, the tracing working group
records exposures, the command office publishes risk areas), so the data is consistent,
scoped and audited like data entered by hand. The same seed picks the same people; dates
are relative to the moment of seeding, so the outbreak is live whenever the demo starts.

Seeding is one transaction that ends with the audit row `drill.outbreak_seed`, which is the
marker: it exists exactly when the outbreak does, and the audit log is never rewritten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import AuditEvent, Region, RegionLevel, User
from fangkong.drill.citygen import DEFAULT_SEED
from fangkong.drill.names import CITY_CODE
from fangkong.drill.outbreak_arrivals import (
    Arrivals,
    pick_town_order,
    seed_risk_areas,
    seed_screenings,
    seed_self_declarations,
    seed_zones,
)
from fangkong.drill.outbreak_cases import STORIES, CaseBuilder
from fangkong.drill.outbreak_command import seed_command
from fangkong.drill.outbreak_people import Population, venue_names
from fangkong.drill.outbreak_quarantine import seed_quarantine
from fangkong.drill.outbreak_stage import Cast, CastMissing, Stage
from fangkong.people.selectors.measures import measure_counts
from fangkong.screening.models import ScreeningRecord, ScreeningSource, ScreeningStatus
from fangkong.screening.selectors import risk_area_list, screening_list, zone_list
from fangkong.tracing.models import Case, CaseContact
from fangkong.tracing.selectors import case_list, investigation_list

MARKER = "drill.outbreak_seed"
DEMO_TOWN_ACCOUNTS = ("town_east_1", "town_east_2")

__all__ = [
    "CastMissing",
    "OutbreakResult",
    "OutbreakSummary",
    "outbreak_seed",
    "outbreak_seeded",
    "outbreak_summary",
]


class OutbreakNeedsCity(RuntimeError):
    """The outbreak is seeded into the demo city, which must exist first."""


@dataclass(frozen=True)
class OutbreakSummary:
    """What the command office sees, plus what each demo town sees of its own."""

    cases: int = 0
    contacts_by_generation: dict[int, int] = field(default_factory=dict)
    measures_by_state: dict[str, int] = field(default_factory=dict)
    overdue: dict[str, int] = field(default_factory=dict)  # investigations, release, test
    pending_screenings: int = 0
    risk_areas: int = 0
    zones: int = 0
    towns: dict[str, dict[str, int]] = field(default_factory=dict)  # account: cases, pending
    declaration_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutbreakResult:
    created: bool
    skipped: str  # why an outbreak was not seeded into a city without one ("" otherwise)
    summary: OutbreakSummary
    seconds: float = 0.0


def outbreak_seeded() -> bool:
    return AuditEvent.objects.filter(action=MARKER).exists()


def _city() -> Region:
    city = Region.objects.filter(code=CITY_CODE).first()
    if city is None:
        raise OutbreakNeedsCity(f"the demo city {CITY_CODE} is not seeded")
    return city


def _has_own_data(city: Region) -> bool:
    """Cases or arrivals someone entered by hand: the demo outbreak would collide with them."""
    return (
        Case.objects.filter(region_path__startswith=city.path).exists()
        or ScreeningRecord.objects.filter(destination_path__startswith=city.path).exists()
    )


def outbreak_seed(*, seed: int = DEFAULT_SEED) -> OutbreakResult:
    """Seed the outbreak once (the city and the demo accounts must exist); later calls, or a
    city that already holds cases or screenings, change nothing and report created=False."""
    if outbreak_seeded():
        return OutbreakResult(created=False, skipped="", summary=outbreak_summary())
    city = _city()
    if _has_own_data(city):
        return OutbreakResult(
            created=False,
            skipped=_("the city already holds cases or screening records"),
            summary=outbreak_summary(),
        )
    started = time.monotonic()
    cast = Cast.load()
    with transaction.atomic():
        regions = {r.code: r for r in Region.objects.filter(path__startswith=city.path)}
        stage = Stage(
            seed=seed,
            now=timezone.now(),
            cast=cast,
            pop=Population.load(city.path),
            regions=regions,
        )
        details = _seed(stage)
        audit_record(
            actor=None,
            action=MARKER,
            object_type="region",
            object_id=CITY_CODE,
            details={"seed": seed, **details},
        )
    return OutbreakResult(
        created=True,
        skipped="",
        summary=outbreak_summary(),
        seconds=time.monotonic() - started,
    )


def _seed(stage: Stage) -> dict[str, int]:
    towns = sorted(code for code, r in stage.regions.items() if r.level == RegionLevel.TOWN)
    places = venue_names({code: stage.regions[code].name for code in towns})
    arrivals = Arrivals(stage)
    areas = seed_risk_areas(stage)
    builder = CaseBuilder(stage, arrivals, places)
    built = [builder.build(story) for story in STORIES]
    first = built[0]
    zones = seed_zones(stage, grid=first.case.region, since=first.opened_at)
    order = pick_town_order(stage.rng("towns"), towns)
    screenings = seed_screenings(stage, arrivals, order)
    tokens = seed_self_declarations(arrivals, order)
    housing = seed_quarantine(stage)
    command = seed_command(stage)
    return {
        **housing,
        **command,
        "risk_areas": areas,
        "zones": zones,
        "cases": len(built),
        "screenings": screenings + len(tokens) + sum(b.story.arrived_days_ago > 0 for b in built),
    }


# -- the summary -------------------------------------------------------------------------------


def _demo_user(username: str) -> User | None:
    return User.objects.filter(username=username, is_demo=True).select_related("region").first()


def outbreak_summary() -> OutbreakSummary:
    """Counts as the command office's demo account sees them (empty without that account)."""
    office = _demo_user("city_office")
    if office is None:
        return OutbreakSummary()
    generations = (
        CaseContact.objects.visible_to(office)
        .order_by()
        .values("generation")
        .annotate(n=Count("id"))
    )
    counts = measure_counts(actor=office)
    by_state: dict[str, int] = {}
    for states in counts["by_kind_state"].values():
        for state, n in states.items():
            by_state[state] = by_state.get(state, 0) + n
    pending = screening_list(actor=office, status=ScreeningStatus.PENDING)
    return OutbreakSummary(
        cases=case_list(actor=office).count(),
        contacts_by_generation={r["generation"]: r["n"] for r in generations},
        measures_by_state=by_state,
        overdue={
            "investigations": investigation_list(actor=office, overdue=True).count(),
            "release": counts["totals"]["release"],
            "test": counts["totals"]["test"],
        },
        pending_screenings=pending.count(),
        risk_areas=risk_area_list(actor=office).count(),
        zones=zone_list(actor=office).count(),
        towns=_towns(),
        declaration_tokens=list(
            pending.filter(source=ScreeningSource.SELF_DECLARATION)
            .order_by("id")
            .values_list("token", flat=True)
        ),
    )


def _towns() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for username in DEMO_TOWN_ACCOUNTS:
        user = _demo_user(username)
        if user is not None:
            out[username] = {
                "cases": case_list(actor=user).count(),
                "pending": screening_list(actor=user, status=ScreeningStatus.PENDING).count(),
            }
    return out
