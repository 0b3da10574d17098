"""Capacity-planning API: campaign feasibility and Dorfman pool sizes.

Pure computation over the request body: no data is read, so there is nothing to scope. The
operations are still marked `@scoped` rather than `@public`, because they are for signed-in
staff only (the router keeps the API's authentication) and the URL walker requires that every
scoped operation needs authentication; `@public` would announce that anyone may call them.
"""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest
from ninja import Field, Router, Schema

from fangkong.core.http import scoped
from fangkong.masstesting.capacity.planner import (
    CampaignInputs,
    CampaignPlan,
    DorfmanRow,
    DorfmanTable,
    campaign_plan,
    dorfman_table,
)

router = Router(tags=["masstesting"])


class PlanIn(Schema):
    population: int = Field(..., description="people to test")
    pool_size: int = Field(10, description="people per tube")
    prevalence: float = Field(0.0, description="expected share of positives, 0 ≤ p < 1")
    lab_tubes_per_day: list[int] = Field(..., description="tubes per day of each lab; summed")
    sampling_points: int
    persons_per_hour: int = Field(..., description="people sampled per hour at one point")
    hours_per_day: int = Field(24, description="opening hours of the points per day")
    window_hours: int = Field(24, description="the campaign must finish within this many hours")


class MissingOut(Schema):
    sampling_points: int
    lab_tubes_per_day: int
    min_window_hours: int
    sampling_points_required: int
    lab_tubes_per_day_required: int


class PlanOut(Schema):
    feasible: bool
    bottleneck: str
    pool_tubes: int
    positive_pools: int
    recheck_tubes: int
    tubes_total: int
    lab_tubes_per_day: int
    people_per_lab_day: int
    sampling_per_hour: int
    sampling_hours_needed: float
    sampling_hours_available: int
    sampling_wall_hours: float
    lab_days_needed: float
    lab_days_available: float
    lab_wall_hours: float
    sampling_load: float
    lab_load: float
    missing: MissingOut
    notes: list[str]


class DorfmanIn(Schema):
    prevalence: float
    pool_sizes: list[int] | None = None


class DorfmanRowOut(Schema):
    pool_size: int
    expected_tests: float
    gain: float


class DorfmanOut(Schema):
    prevalence: float
    rows: list[DorfmanRowOut]
    best_allowed: DorfmanRowOut
    best_overall: DorfmanRowOut
    curve: list[DorfmanRowOut]


def _plan_out(plan: CampaignPlan) -> PlanOut:
    data = {name: getattr(plan, name) for name in PlanOut.model_fields if name != "missing"}
    missing = MissingOut(**dataclasses.asdict(plan.missing))
    return PlanOut(**data, missing=missing)


def _row_out(row: DorfmanRow) -> DorfmanRowOut:
    return DorfmanRowOut(pool_size=row.pool_size, expected_tests=row.expected_tests, gain=row.gain)


def _table_out(table: DorfmanTable) -> DorfmanOut:
    return DorfmanOut(
        prevalence=table.prevalence,
        rows=[_row_out(r) for r in table.rows],
        best_allowed=_row_out(table.best_allowed),
        best_overall=_row_out(table.best_overall),
        curve=[_row_out(r) for r in table.curve],
    )


# scoped, not public: login required, and no data is read (see the module docstring)
@router.post("/plan", response=PlanOut)
@scoped
def capacity_plan(request: HttpRequest, payload: PlanIn) -> PlanOut:
    inputs = CampaignInputs(
        population=payload.population,
        pool_size=payload.pool_size,
        prevalence=payload.prevalence,
        lab_tubes_per_day=tuple(payload.lab_tubes_per_day),
        sampling_points=payload.sampling_points,
        persons_per_hour=payload.persons_per_hour,
        hours_per_day=payload.hours_per_day,
        window_hours=payload.window_hours,
    )
    return _plan_out(campaign_plan(inputs))


@router.post("/dorfman", response=DorfmanOut)
@scoped
def capacity_dorfman(request: HttpRequest, payload: DorfmanIn) -> DorfmanOut:
    return _table_out(dorfman_table(payload.prevalence, payload.pool_sizes))
