"""Capacity planning arithmetic: Dorfman pool sizes and campaign feasibility (no database)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from fangkong.core.validators import FieldError
from fangkong.masstesting.capacity.planner import (
    CampaignInputs,
    campaign_plan,
    dorfman_expected_tests,
    dorfman_table,
    open_hours_within,
    wall_hours_for,
)


def _reference_cost(k: int, p: Fraction) -> Fraction:
    """Tests per person counted the long way: one pool test, plus k single tests when the
    pool holds at least one positive (1 − P(all k negative)), shared by k people."""
    if k == 1:
        return Fraction(1)
    all_negative = (1 - p) ** k
    return (1 + k * (1 - all_negative)) / k


def _inputs(**over: object) -> CampaignInputs:
    base: dict[str, object] = {
        "population": 150_000,
        "pool_size": 10,
        "prevalence": 0.0,
        "lab_tubes_per_day": (2200,),
        "sampling_points": 100,
        "persons_per_hour": 120,
        "hours_per_day": 12,
        "window_hours": 7 * 24,
    }
    base.update(over)
    return CampaignInputs(**base)  # type: ignore[arg-type]


# --- Dorfman -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", ["0.01", "0.001", "0.05", "0.2"])
@pytest.mark.parametrize("k", [1, 2, 5, 10, 11, 20, 32, 50])
def test_expected_tests_match_the_reference(p: str, k: int) -> None:
    assert dorfman_expected_tests(k, float(p)) == pytest.approx(
        float(_reference_cost(k, Fraction(p))), rel=1e-12
    )


def test_one_percent_prevalence_optimum_is_eleven() -> None:
    table = dorfman_table(0.01)
    assert table.best_overall.pool_size == 11
    assert table.best_overall.expected_tests == pytest.approx(0.1956, abs=5e-5)
    # of the allowed 1, 5, 10, 20 the nearest to the optimum wins
    assert table.best_allowed.pool_size == 10
    assert table.best_allowed.gain == pytest.approx(1 / 0.19562, rel=1e-4)
    assert [r.pool_size for r in table.rows] == [1, 5, 10, 20]


def test_one_per_mille_optimum_is_about_thirty_two() -> None:
    table = dorfman_table(0.001)
    assert table.best_overall.pool_size == 32
    assert table.best_overall.expected_tests == pytest.approx(0.0628, abs=1e-4)
    assert table.best_allowed.pool_size == 20


def test_optimum_agrees_with_brute_force_reference() -> None:
    for p in ("0.002", "0.005", "0.02", "0.08", "0.15"):
        ref = min(range(1, 51), key=lambda k: (_reference_cost(k, Fraction(p)), k))
        assert dorfman_table(float(p)).best_overall.pool_size == ref, p


def test_zero_prevalence_takes_the_largest_pool_of_the_range() -> None:
    table = dorfman_table(0.0)
    assert table.best_overall.pool_size == 50
    assert table.best_overall.expected_tests == pytest.approx(0.02)
    assert table.best_allowed.pool_size == 20


@pytest.mark.parametrize("p", [0.31, 0.4, 0.9])
def test_high_prevalence_pooling_no_longer_pays(p: float) -> None:
    table = dorfman_table(p)
    assert table.best_overall.pool_size == 1
    assert table.best_allowed.pool_size == 1
    assert table.best_overall.gain == 1.0


def test_custom_pool_sizes_and_curve() -> None:
    table = dorfman_table(0.01, [3, 8, 8, 16])
    assert [r.pool_size for r in table.rows] == [3, 8, 16]
    assert table.best_allowed.pool_size == 8
    assert [r.pool_size for r in table.curve] == [1, *range(2, 51)]


@pytest.mark.parametrize(
    ("p", "sizes", "field"),
    [
        (-0.1, None, "prevalence"),
        (1.0, None, "prevalence"),
        (math.nan, None, "prevalence"),
        (0.01, [0], "pool_sizes"),
        (0.01, [51], "pool_sizes"),
    ],
)
def test_dorfman_bad_input_names_the_field(p: float, sizes: list[int] | None, field: str) -> None:
    with pytest.raises(FieldError) as err:
        dorfman_table(p, sizes)
    assert err.value.field == field


# --- campaign feasibility ------------------------------------------------------------------


def test_seed_lab_covers_22000_people_a_day_and_a_county_in_about_seven_days() -> None:
    plan = campaign_plan(_inputs())
    assert plan.people_per_lab_day == 22_000
    assert plan.pool_tubes == 15_000
    assert plan.recheck_tubes == 0
    assert plan.lab_days_needed == pytest.approx(15_000 / 2_200)
    assert math.ceil(plan.lab_days_needed) == 7
    assert plan.feasible
    assert plan.bottleneck == "lab"
    assert plan.missing.sampling_points == 0
    assert plan.missing.lab_tubes_per_day == 0
    assert plan.missing.min_window_hours == 164  # 6.82 lab days


def test_county_in_five_days_needs_more_lab_capacity() -> None:
    plan = campaign_plan(_inputs(window_hours=5 * 24))
    assert not plan.feasible
    assert plan.bottleneck == "lab"
    assert plan.missing.lab_tubes_per_day_required == 3_000  # 15,000 tubes / 5 days
    assert plan.missing.lab_tubes_per_day == 800
    assert plan.missing.sampling_points == 0


def test_several_labs_are_summed() -> None:
    plan = campaign_plan(_inputs(window_hours=5 * 24, lab_tubes_per_day=(2200, 800)))
    assert plan.lab_tubes_per_day == 3_000
    assert plan.feasible


def test_whole_city_in_24_hours_at_ten_in_one() -> None:
    plan = campaign_plan(
        _inputs(
            population=10_000_000,
            hours_per_day=24,
            window_hours=24,
            persons_per_hour=120,
            sampling_points=1_000,
        )
    )
    assert not plan.feasible
    assert plan.tubes_total == 1_000_000
    # N = 1,000,000 tubes a day and M = ⌈10 M / (120 × 24)⌉ = 3,473 sampling points
    assert plan.missing.lab_tubes_per_day_required == 1_000_000
    assert plan.missing.sampling_points_required == 3_473
    assert plan.missing.sampling_points == 2_473
    assert plan.missing.lab_tubes_per_day == 997_800
    assert plan.bottleneck == "lab"  # 454 lab days against 3.5 sampling days
    assert plan.missing.min_window_hours == math.ceil(1_000_000 / 2_200 * 24)


def test_sampling_bottleneck_reports_missing_points() -> None:
    plan = campaign_plan(
        _inputs(population=100_000, sampling_points=10, lab_tubes_per_day=(100_000,))
    )
    # 100,000 people / (10 × 120 per hour) = 83.3 opening hours; 7 days × 12 h = 84 h: fits
    assert plan.feasible
    tight = campaign_plan(
        _inputs(
            population=100_000,
            sampling_points=10,
            lab_tubes_per_day=(100_000,),
            window_hours=48,
        )
    )
    assert not tight.feasible
    assert tight.bottleneck == "sampling"
    assert tight.missing.lab_tubes_per_day == 0
    # 48 h hold 24 opening hours: 100,000 / (120 × 24) → 35 points
    assert tight.missing.sampling_points_required == 35
    assert tight.missing.sampling_points == 25
    # 83.3 opening hours at 12 a day: 6 full days and 11.3 h on the seventh
    assert tight.missing.min_window_hours == math.ceil(6 * 24 + 100_000 / 1_200 - 72)


def test_recheck_tubes_follow_positive_pools() -> None:
    plan = campaign_plan(_inputs(prevalence=0.001))
    expected_pools = math.ceil(15_000 * (1 - 0.999**10))
    assert plan.positive_pools == expected_pools
    assert plan.recheck_tubes == expected_pools * 10
    assert plan.tubes_total == 15_000 + expected_pools * 10


def test_single_tubes_need_no_recheck() -> None:
    plan = campaign_plan(_inputs(pool_size=1, prevalence=0.05))
    assert plan.recheck_tubes == 0
    assert plan.tubes_total == 150_000
    assert plan.notes == []


def test_rechecks_never_exceed_the_population() -> None:
    plan = campaign_plan(_inputs(population=25, prevalence=0.9))
    assert plan.recheck_tubes == 25


def test_open_and_wall_hours() -> None:
    assert open_hours_within(24, 12) == 12
    assert open_hours_within(30, 12) == 18
    assert open_hours_within(48, 24) == 48
    assert wall_hours_for(12, 12) == 12
    assert wall_hours_for(24, 12) == 36
    assert wall_hours_for(13, 12) == 25
    assert wall_hours_for(0, 12) == 0


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"population": 0}, "population"),
        ({"population": 10**9}, "population"),
        ({"pool_size": 0}, "pool_size"),
        ({"pool_size": 51}, "pool_size"),
        ({"prevalence": 1.5}, "prevalence"),
        ({"lab_tubes_per_day": ()}, "lab_tubes_per_day"),
        ({"lab_tubes_per_day": (2200, 0)}, "lab_tubes_per_day"),
        ({"sampling_points": 0}, "sampling_points"),
        ({"persons_per_hour": -1}, "persons_per_hour"),
        ({"hours_per_day": 25}, "hours_per_day"),
        ({"window_hours": 0}, "window_hours"),
        ({"population": True}, "population"),
    ],
)
def test_bad_inputs_name_the_field(over: dict[str, object], field: str) -> None:
    with pytest.raises(FieldError) as err:
        campaign_plan(_inputs(**over))
    assert err.value.field == field
    assert err.value.message


def test_reference_scenarios_show_the_seed_figures() -> None:
    from fangkong.masstesting.capacity.planner import reference_scenarios

    s = reference_scenarios()
    assert s.lab.people_per_lab_day == 22_000
    assert 5 <= s.county.lab_days_needed <= 7
    assert s.city.missing.lab_tubes_per_day_required == 1_000_000
    assert s.city.missing.sampling_points_required == 3_473
