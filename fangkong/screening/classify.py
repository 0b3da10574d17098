"""The rule table's evaluation: pure functions over plain values, no database.

Terms:

- A *stop* is a place the person stayed: the origin (on the arrival day) and every itinerary
  entry (on its date, or the arrival day when it has none).
- The *reference day* is the day the measure would start: the arrival day, or today when the
  arrival is already past (a measure cannot start before the person is found).
- A stop is *recent* for a rule with `within_days = N` when it is at most N days before the
  reference day; a rule without `within_days` counts every stop.
- A stop *hits* a risk area that was in force when the person was there (the origin: at the
  arrival time; an itinerary stop: at any moment of its day) and whose division code is a
  prefix of the stop's code (110105 contains 110105001), or, for an area without a code, whose
  place name appears in the stop's place text. An area with a code also matches a stop that
  has no code but names it.
- The *origin level* is the highest level among the areas (not case places) the origin hits;
  an origin that hits none is low risk.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

LEVELS = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class AreaFact:
    id: int
    name: str
    code: str
    level: str
    kind: str  # "area" or "case_place"
    valid_from: dt.datetime
    valid_to: dt.datetime | None


@dataclass(frozen=True)
class Stop:
    place: str
    code: str
    day: dt.date
    is_origin: bool = False
    at: dt.datetime | None = None  # the exact moment, when known (the origin: arrival time)


@dataclass(frozen=True)
class RuleFact:
    id: int
    version: int
    priority: int
    name: str
    origin_level: str  # "" any, "high", "medium", "low"
    within_days: int | None
    itinerary_hits_risk: bool
    sources: tuple[str, ...]
    plan_key: str | None


@dataclass
class Outcome:
    rule: RuleFact | None
    origin_level: str
    origin_hits: list[AreaFact] = field(default_factory=list)
    itinerary_hits: list[tuple[Stop, AreaFact]] = field(default_factory=list)


def normalise_place(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).lower()


def _in_force_on(area: AreaFact, stop: Stop, tz: dt.tzinfo) -> bool:
    """Whether the area was in force at the stop's moment, or at any moment of its day."""
    if stop.at is not None:
        return area.valid_from <= stop.at and (area.valid_to is None or area.valid_to > stop.at)
    start = dt.datetime.combine(stop.day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    return area.valid_from < end and (area.valid_to is None or area.valid_to > start)


def _place_matches(area: AreaFact, stop: Stop) -> bool:
    if area.code and stop.code:
        return stop.code.startswith(area.code)
    name = normalise_place(area.name)
    return len(name) >= 2 and name in normalise_place(stop.place)


def hits(stop: Stop, areas: Iterable[AreaFact], tz: dt.tzinfo) -> list[AreaFact]:
    return [a for a in areas if _in_force_on(a, stop, tz) and _place_matches(a, stop)]


def origin_level(found: Sequence[AreaFact]) -> str:
    levels = [a.level for a in found if a.kind == "area"]
    return max(levels, key=lambda lv: LEVELS.get(lv, 0)) if levels else "low"


def _is_risky(area: AreaFact) -> bool:
    return area.kind == "case_place" or LEVELS.get(area.level, 0) >= LEVELS["medium"]


def _recent(stop: Stop, reference: dt.date, within_days: int | None) -> bool:
    return within_days is None or (reference - stop.day).days <= within_days


def _rule_matches(
    rule: RuleFact,
    *,
    source: str,
    origin: Stop | None,
    level: str,
    risky_stops: list[tuple[Stop, AreaFact]],
    reference: dt.date,
) -> bool:
    if rule.sources and source not in rule.sources:
        return False
    if rule.origin_level:
        if origin is None or level != rule.origin_level:
            return False
        if not _recent(origin, reference, rule.within_days):
            return False
    if rule.itinerary_hits_risk:
        recent = [hit for hit in risky_stops if _recent(hit[0], reference, rule.within_days)]
        if not recent:
            return False
    return True


def evaluate(
    rules: Sequence[RuleFact],
    *,
    source: str,
    origin: Stop | None,
    itinerary: Sequence[Stop],
    reference: dt.date,
    areas: Sequence[AreaFact],
    tz: dt.tzinfo,
) -> Outcome:
    """The first rule (by priority) whose conditions all hold, with the evidence found."""
    origin_found = hits(origin, areas, tz) if origin is not None else []
    level = origin_level(origin_found)
    risky: list[tuple[Stop, AreaFact]] = []
    for stop in itinerary:
        risky.extend((stop, area) for area in hits(stop, areas, tz) if _is_risky(area))
    chosen = next(
        (
            rule
            for rule in sorted(rules, key=lambda r: (r.priority, r.id))
            if _rule_matches(
                rule,
                source=source,
                origin=origin,
                level=level,
                risky_stops=risky,
                reference=reference,
            )
        ),
        None,
    )
    return Outcome(rule=chosen, origin_level=level, origin_hits=origin_found, itinerary_hits=risky)


def outcome_snapshot(outcome: Outcome) -> dict[str, Any]:
    """What the classification stores: enough to explain it after the rule or areas change."""
    rule = outcome.rule
    return {
        "rule": None
        if rule is None
        else {
            "id": rule.id,
            "version": rule.version,
            "priority": rule.priority,
            "name": rule.name,
            "origin_level": rule.origin_level,
            "within_days": rule.within_days,
            "itinerary_hits_risk": rule.itinerary_hits_risk,
            "sources": list(rule.sources),
        },
        "origin_level": outcome.origin_level,
        "origin_areas": [
            {"id": a.id, "name": a.name, "code": a.code, "level": a.level}
            for a in outcome.origin_hits
        ],
        "itinerary_areas": [
            {
                "place": stop.place or stop.code,
                "date": stop.day.isoformat(),
                "area": {"id": a.id, "name": a.name, "level": a.level, "kind": a.kind},
            }
            for stop, a in outcome.itinerary_hits
        ],
    }
