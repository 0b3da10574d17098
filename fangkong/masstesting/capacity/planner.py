"""Capacity planning for whole-population pooled testing: pure arithmetic, no models.

Two questions a command office asks before announcing a campaign:

1. Dorfman two-stage pooling: at prevalence p, how many tests per person does a pool of k
   cost, and which k is cheapest? E(k, p) = 1/k + 1 − (1 − p)^k for k ≥ 2, and 1 for k = 1.
   The model assumes a perfect test; real pools dilute the sample, so large pools lose
   sensitivity (weak positives fall below the detection limit). That is why the rules cap
   pools at 10 or 20 whatever the arithmetic says.
2. Campaign feasibility: given population, pool size, sampling points and lab capacity, can
   the campaign finish in the time window, what is the bottleneck and what is missing?

Everything here is deterministic so the page, the API and the tests agree to the digit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from fangkong.core.validators import FieldError
from fangkong.masstesting.models import POOL_SIZES

CONTINUOUS_RANGE: tuple[int, int] = (2, 50)
MAX_POOL_SIZE = 50
MAX_POPULATION = 100_000_000
MAX_WINDOW_HOURS = 24 * 90


# --- Dorfman -------------------------------------------------------------------------------


def dorfman_expected_tests(k: int, p: float) -> float:
    """Expected tests per person with pools of k at prevalence p (two-stage Dorfman)."""
    if k < 1:
        raise FieldError("pool_size", _("The pool size must be at least 1."))
    if k == 1:
        return 1.0
    return 1.0 / k + 1.0 - (1.0 - p) ** k


@dataclass(frozen=True)
class DorfmanRow:
    pool_size: int
    expected_tests: float  # per person
    gain: float  # single tests saved per test done: 1 / E(k, p)


@dataclass(frozen=True)
class DorfmanTable:
    prevalence: float
    rows: tuple[DorfmanRow, ...]  # the allowed pool sizes
    best_allowed: DorfmanRow  # cheapest of the allowed pool sizes
    curve: tuple[DorfmanRow, ...]  # k = 1 and every k of the continuous range, for the chart
    best_overall: DorfmanRow  # cheapest k of the curve; 1 when pooling no longer pays


def _row(k: int, p: float) -> DorfmanRow:
    e = dorfman_expected_tests(k, p)
    return DorfmanRow(pool_size=k, expected_tests=e, gain=1.0 / e)


def _cheapest(rows: Iterable[DorfmanRow]) -> DorfmanRow:
    # ties go to the smaller pool: same cost, less dilution
    return min(rows, key=lambda r: (round(r.expected_tests, 12), r.pool_size))


def validate_prevalence(p: float, *, name: str = "prevalence") -> float:
    if not math.isfinite(p) or p < 0 or p >= 1:
        raise FieldError(name, _("The prevalence must be at least 0 and below 1."))
    return float(p)


def dorfman_table(p: float, pool_sizes: Sequence[int] | None = None) -> DorfmanTable:
    """The allowed pool sizes' costs and the optimum, plus the curve over 2..50."""
    p = validate_prevalence(p)
    sizes = tuple(pool_sizes) if pool_sizes else POOL_SIZES
    if len(sizes) > MAX_POOL_SIZE:
        raise FieldError("pool_sizes", _("Give at most 50 pool sizes."))
    for k in sizes:
        if not 1 <= k <= MAX_POOL_SIZE:
            raise FieldError("pool_sizes", _("Each pool size must be between 1 and 50."))
    rows = tuple(_row(k, p) for k in sorted(set(sizes)))
    low, high = CONTINUOUS_RANGE
    curve = (_row(1, p), *(_row(k, p) for k in range(low, high + 1)))
    return DorfmanTable(
        prevalence=p,
        rows=rows,
        best_allowed=_cheapest(rows),
        curve=curve,
        best_overall=_cheapest(curve),
    )


# --- campaign feasibility ------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInputs:
    population: int  # people to test
    pool_size: int  # people per tube (1, 5, 10, 20 …)
    prevalence: float  # expected share of positives, for the recheck tubes
    lab_tubes_per_day: tuple[int, ...]  # one entry per lab; summed
    sampling_points: int
    persons_per_hour: int  # per sampling point
    hours_per_day: int  # opening hours of the sampling points per day
    window_hours: int  # the time the campaign must finish in


@dataclass(frozen=True)
class Missing:
    sampling_points: int  # additional points needed to sample everyone in the window
    lab_tubes_per_day: int  # additional lab capacity needed to test every tube in the window
    min_window_hours: int  # the shortest window the current resources can achieve
    sampling_points_required: int  # in total, to sample everyone in the window
    lab_tubes_per_day_required: int  # in total, to test every tube in the window


@dataclass(frozen=True)
class CampaignPlan:
    inputs: CampaignInputs
    pool_tubes: int
    positive_pools: int  # expected
    recheck_tubes: int  # single tubes for every person of a positive pool
    tubes_total: int
    lab_tubes_per_day: int  # summed over the labs
    people_per_lab_day: int  # lab capacity × pool size
    sampling_per_hour: int  # all points together
    sampling_hours_needed: float  # opening hours
    sampling_hours_available: int  # opening hours inside the window
    sampling_wall_hours: float  # clock hours to sample everyone with the current points
    lab_days_needed: float
    lab_days_available: float
    lab_wall_hours: float
    feasible: bool
    bottleneck: str  # "sampling" or "lab": the more loaded of the two, even when both fit
    sampling_load: float  # needed / available, 1.0 = exactly full
    lab_load: float
    missing: Missing
    notes: list[str] = field(default_factory=list)


def _positive_int(value: object, name: str, *, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(name, _("Enter a whole number."))
    if value < low or (high is not None and value > high):
        if high is None:
            raise FieldError(name, _("Enter a number of at least %(low)d.") % {"low": low})
        raise FieldError(
            name,
            _("Enter a number between %(low)d and %(high)d.") % {"low": low, "high": high},
        )
    return value


def validate_inputs(inputs: CampaignInputs) -> CampaignInputs:
    """Every field checked, the first failure raised as a FieldError naming it."""
    _positive_int(inputs.population, "population", high=MAX_POPULATION)
    _positive_int(inputs.pool_size, "pool_size", high=MAX_POOL_SIZE)
    validate_prevalence(inputs.prevalence)
    if not inputs.lab_tubes_per_day:
        raise FieldError("lab_tubes_per_day", _("Enter the capacity of at least one lab."))
    if len(inputs.lab_tubes_per_day) > 200:
        raise FieldError("lab_tubes_per_day", _("Give at most 200 labs."))
    for tubes in inputs.lab_tubes_per_day:
        _positive_int(tubes, "lab_tubes_per_day", high=10_000_000)
    _positive_int(inputs.sampling_points, "sampling_points", high=1_000_000)
    _positive_int(inputs.persons_per_hour, "persons_per_hour", high=10_000)
    _positive_int(inputs.hours_per_day, "hours_per_day", high=24)
    _positive_int(inputs.window_hours, "window_hours", high=MAX_WINDOW_HOURS)
    return inputs


def open_hours_within(window_hours: float, hours_per_day: int) -> float:
    """Opening hours inside a window that starts when the points open."""
    days, rest = divmod(window_hours, 24)
    return days * hours_per_day + min(rest, hours_per_day)


def wall_hours_for(open_hours: float, hours_per_day: int) -> float:
    """Clock hours from opening until `open_hours` of sampling are done (nights skipped)."""
    if open_hours <= 0:
        return 0.0
    days, rest = divmod(open_hours, hours_per_day)
    if rest == 0:
        return (days - 1) * 24 + hours_per_day
    return days * 24 + rest


def _tubes(inputs: CampaignInputs) -> tuple[int, int, int]:
    k = inputs.pool_size
    pools = math.ceil(inputs.population / k)
    if k == 1:
        return pools, 0, 0  # a single tube is already the individual result
    positive = math.ceil(pools * (1.0 - (1.0 - inputs.prevalence) ** k))
    # every person of a positive pool gets a single tube, never more than the population
    rechecks = min(positive * k, inputs.population)
    return pools, positive, rechecks


def _missing(inputs: CampaignInputs, tubes_total: int, lab: int, wall: float) -> Missing:
    open_hours = open_hours_within(inputs.window_hours, inputs.hours_per_day)
    per_point = inputs.persons_per_hour * open_hours
    points = math.ceil(inputs.population / per_point) if per_point else 0
    lab_needed = math.ceil(tubes_total * 24 / inputs.window_hours)
    return Missing(
        sampling_points=max(0, points - inputs.sampling_points),
        lab_tubes_per_day=max(0, lab_needed - lab),
        min_window_hours=math.ceil(round(wall, 9)),
        sampling_points_required=points,
        lab_tubes_per_day_required=lab_needed,
    )


def campaign_plan(inputs: CampaignInputs) -> CampaignPlan:
    """Can the campaign finish in its window, what limits it and what is missing.

    Sampling and lab work overlap (tubes leave the points every hour or two), so the window
    must hold the longer of the two; the last batch's transport and run time is not modelled.
    """
    validate_inputs(inputs)
    pools, positive, rechecks = _tubes(inputs)
    tubes_total = pools + rechecks
    lab = sum(inputs.lab_tubes_per_day)
    per_hour = inputs.sampling_points * inputs.persons_per_hour
    sampling_needed = inputs.population / per_hour
    sampling_available = open_hours_within(inputs.window_hours, inputs.hours_per_day)
    sampling_wall = wall_hours_for(sampling_needed, inputs.hours_per_day)
    lab_days = tubes_total / lab
    lab_wall = lab_days * 24
    sampling_load = sampling_needed / sampling_available
    lab_load = lab_wall / inputs.window_hours
    feasible = sampling_load <= 1.0 and lab_load <= 1.0
    bottleneck = "sampling" if sampling_load >= lab_load else "lab"
    notes = []
    if inputs.pool_size > 1:
        notes.append(
            _("Pools dilute each sample: pools larger than 10 or 20 can miss weak positives.")
        )
    return CampaignPlan(
        inputs=inputs,
        pool_tubes=pools,
        positive_pools=positive,
        recheck_tubes=rechecks,
        tubes_total=tubes_total,
        lab_tubes_per_day=lab,
        people_per_lab_day=lab * inputs.pool_size,
        sampling_per_hour=per_hour,
        sampling_hours_needed=sampling_needed,
        sampling_hours_available=int(sampling_available),
        sampling_wall_hours=sampling_wall,
        lab_days_needed=lab_days,
        lab_days_available=inputs.window_hours / 24,
        lab_wall_hours=lab_wall,
        feasible=feasible,
        bottleneck=bottleneck,
        sampling_load=sampling_load,
        lab_load=lab_load,
        missing=_missing(inputs, tubes_total, lab, max(sampling_wall, lab_wall)),
        notes=notes,
    )


@dataclass(frozen=True)
class Scenarios:
    """The issue's seed figures, computed by the same functions as any plan."""

    lab: CampaignPlan  # 2,200 tubes/day at 10:1 → people covered per day
    county: CampaignPlan  # 150,000 people on that lab: days needed (target 5–7)
    city: CampaignPlan  # 10 M people in 24 h at 10:1: tubes/day and sampling points needed


def reference_scenarios(*, persons_per_hour: int = 120) -> Scenarios:
    """Seed examples; 120 people an hour is one swab every 30 s at a point."""
    lab = (2200,)
    county = CampaignInputs(150_000, 10, 0.0, lab, 100, persons_per_hour, 12, 7 * 24)
    city = CampaignInputs(10_000_000, 10, 0.0, lab, 1, persons_per_hour, 24, 24)
    county_plan = campaign_plan(county)
    return Scenarios(lab=county_plan, county=county_plan, city=campaign_plan(city))
