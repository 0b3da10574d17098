"""Pooled results to person statuses (issue 4): 250,000 tube results for 2.5 M people.

In one run, on a scratch PostgreSQL database created first and dropped at the end, it seeds
(server-side, with generate_series: the bench measures resolution, not seeding) a city of
grids, 2.5 M persons, a 10-in-1 campaign with a point per grid, 250,000 pooled tubes and their
2.5 M scans, and some thousands of persons under a control measure in force; then measures
  (a) the baseline: one plain `UPDATE … FROM unnest` writing the 250,000 results onto the
      tubes (what the lab upload must do anyway, the least any resolution can cost);
  (b) `pools_resolve(tube_ids=<all 250,000>)`: recheck tasks for every member of a positive
      or invalid pool, tests recorded on the measures of members under control;
  (c) `campaign_person_status_counts`: the 2.5 M people counted by their latest status
      (derived at query time from scans, tubes and recheck tasks);
and prints the figures, (b)+(c) against the 30 s goal, and the ratio to (a).

    .venv/bin/python bench/results.py [--tubes 250000] [--positive 0.005] [--invalid 0.001]

FANGKONG_BENCH_DATABASE_URL names the server (default postgresql://postgres@127.0.0.1:5432/
postgres); the scratch database is fangkong_bench_results on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch import scratch_create, scratch_drop, setup_django, with_db

SCRATCH_DB = "fangkong_bench_results"
POOL = 10
PER_GRID = 5_000  # residents per grid: a grid worker's few hundred households
GOAL_SECONDS = 30.0


def seed_regions(n_grids: int) -> list[Any]:
    """City > districts > towns > communities > grids, a grid per 5,000 residents."""
    from fangkong.core.models import Region, RegionLevel

    city = Region.objects.create(code="990100", name="基准市", level=RegionLevel.CITY)
    grids = []
    for g in range(n_grids):
        d, t, c = g // 100, (g // 20) % 5, (g // 4) % 5
        district = Region.objects.get_or_create(
            code=f"9901{d + 1:02d}",
            defaults={"name": f"第{d + 1}区", "level": RegionLevel.DISTRICT, "parent": city},
        )[0]
        town = Region.objects.get_or_create(
            code=f"{district.code}{t + 1:03d}",
            defaults={"name": f"第{t + 1}街道", "level": RegionLevel.TOWN, "parent": district},
        )[0]
        community = Region.objects.get_or_create(
            code=f"{town.code}{c + 1:03d}",
            defaults={"name": f"第{c + 1}社区", "level": RegionLevel.COMMUNITY, "parent": town},
        )[0]
        grids.append(
            Region.objects.create(
                code=f"{community.code}G{g % 4 + 1:02d}",
                name=f"第{g % 4 + 1}网格",
                level=RegionLevel.GRID,
                parent=community,
            )
        )
    return [city, *grids]


def seed(n_tubes: int, controlled_every: int) -> tuple[Any, Any, list[int]]:
    """Everything by set-based SQL; returns the city user, the campaign and the tube ids."""
    from django.db import connection
    from django.utils import timezone

    from fangkong.core.models import Role, User
    from fangkong.masstesting.models import Campaign, SamplingPoint, ScanBatch
    from fangkong.people.measures_models import MeasurePlan

    n_persons = n_tubes * POOL
    city, *grids = seed_regions(max(1, n_persons // PER_GRID))
    user = User.objects.create(username="bench", role=Role.COMMAND_OFFICE, region=city)
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="全员核酸", region=city, pool_size=POOL, starts_at=now, ends_at=now + dt.timedelta(1)
    )
    points = SamplingPoint.objects.bulk_create(
        SamplingPoint(campaign=campaign, name=f"采样点{g.code}", region=g) for g in grids
    )
    for point, grid in zip(points, grids, strict=True):
        point.grids.add(grid)
    batch = ScanBatch.objects.create(point=points[0], idempotency_key="bench", body_hash="")
    plan = MeasurePlan.objects.get(key="home_quarantine_7")
    g_ids, g_paths = [g.pk for g in grids], [g.path for g in grids]
    p_ids = [p.pk for p in points]
    with connection.cursor() as cur:
        # person n (0-based) lives in grid n // PER_GRID; tube k holds persons 10k .. 10k+9
        cur.execute(
            "INSERT INTO people_person (name, id_type, id_number_ct, id_number_bidx, "
            "id_number_mask, phone_ct, phone_bidx, phone_mask, address_ct, address_mask, sex, "
            "region_id, region_path, occupation, key_group, tags, source, created_at, "
            "updated_at) SELECT '居民', 'resident_id', 'v1:x', 'b' || n, '9901**********000X', "
            "'', '', '', '', '', 'U', (%s::bigint[])[1 + n / %s], (%s::text[])[1 + n / %s], "
            "'', '', '[]', 'bench', now(), now() FROM generate_series(0, %s - 1) n",
            [g_ids, PER_GRID, g_paths, PER_GRID, n_persons],
        )
        cur.execute("SELECT min(id) FROM people_person")
        first_person = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO masstesting_tube (campaign_id, barcode, point_id, capacity, members, "
            "status, opened_at, closed_at, kind, result) SELECT %s, 'P' || lpad(k::text, 7, '0'), "
            "(%s::bigint[])[1 + k * %s / %s], %s, %s, 'received', now(), now(), 'pool', '' "
            "FROM generate_series(0, %s - 1) k",
            [campaign.pk, p_ids, POOL, PER_GRID, POOL, POOL, n_tubes],
        )
        cur.execute("SELECT min(id) FROM masstesting_tube")
        first_tube = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO masstesting_scan (campaign_id, tube_id, person_id, token, point_id, "
            "batch_id, scanned_at) SELECT %s, %s + n / %s, %s + n, 't' || n, "
            "(%s::bigint[])[1 + n / %s], %s, now() FROM generate_series(0, %s - 1) n",
            [campaign.pk, first_tube, POOL, first_person, p_ids, PER_GRID, batch.pk, n_persons],
        )
        # every controlled_every-th person is under home quarantine, in force since yesterday
        cur.execute(
            "INSERT INTO people_controlmeasure (person_id, region_id, region_path, plan_id, kind, "
            "state, phases, start_date, planned_end, test_days, source_type, source_id, reason, "
            "converted_to, created_at, updated_at) SELECT id, region_id, region_path, %s, "
            "'home_quarantine', 'in_force', '[]', current_date - 1, current_date + 6, '[]', "
            "'manual', 'bench', '', '', now(), now() FROM people_person "
            "WHERE (id - %s) %% %s = 3",
            [plan.pk, first_person, controlled_every],
        )
        cur.execute("ANALYZE")
        cur.execute("SELECT id FROM masstesting_tube ORDER BY id")
        tube_ids = [r[0] for r in cur.fetchall()]
    return user, campaign, tube_ids


def results_for(tube_ids: list[int], positive: float, invalid: float) -> list[str]:
    """Spread positive and invalid pools evenly (deterministic, so runs compare)."""
    every_pos = max(1, round(1 / positive)) if positive else 0
    every_inv = max(1, round(1 / invalid)) if invalid else 0
    out = []
    for i in range(len(tube_ids)):
        if every_pos and i % every_pos == every_pos // 2:
            out.append("positive")
        elif every_inv and i % every_inv == every_inv // 3:
            out.append("invalid")
        else:
            out.append("negative")
    return out


def write_results(tube_ids: list[int], results: list[str]) -> float:
    """(a) The baseline: the 250,000 results written onto the tubes in one statement."""
    from django.db import connection, transaction

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE masstesting_tube AS t SET result = v.r, resulted_at = now(), "
            "status = 'resulted' FROM unnest(%s::bigint[], %s::text[]) AS v(id, r) "
            "WHERE t.id = v.id",
            [tube_ids, results],
        )
    return time.perf_counter() - t0


def resolve(tube_ids: list[int], *, profile: bool = False) -> tuple[float, Any]:
    """(b) What the lab upload calls in its transaction, committed."""
    import cProfile
    import pstats

    from django.db import transaction

    from fangkong.masstesting.results.services.resolve import pools_resolve

    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    with transaction.atomic():
        summary = pools_resolve(tube_ids=tube_ids)
    elapsed = time.perf_counter() - t0
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return elapsed, summary


def statuses(user: Any, campaign: Any) -> tuple[float, dict[str, int]]:
    """(c) 2.5 M people by latest status, through the scoped selector (city user)."""
    from fangkong.masstesting.results.selectors import campaign_person_status_counts

    t0 = time.perf_counter()
    counts = campaign_person_status_counts(actor=user, campaign_id=campaign.pk)
    return time.perf_counter() - t0, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tubes", type=int, default=250_000)
    parser.add_argument("--positive", type=float, default=0.005, help="share of positive pools")
    parser.add_argument("--invalid", type=float, default=0.001, help="share of invalid pools")
    parser.add_argument(
        "--controlled-every", type=int, default=997, help="one person in N under control"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept scratch database")
    parser.add_argument("--profile", action="store_true", help="cProfile pools_resolve")
    args = parser.parse_args()
    server = os.environ.get(
        "FANGKONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fangkong-bench-results-"))
    try:
        if not args.reuse:
            scratch_create(server, SCRATCH_DB)
        setup_django(with_db(server, SCRATCH_DB), workdir)
        if args.reuse:
            user, campaign, tube_ids = reset()
        else:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            t0 = time.perf_counter()
            user, campaign, tube_ids = seed(args.tubes, args.controlled_every)
            print(
                f"seeded {len(tube_ids):,} tubes, {len(tube_ids) * POOL:,} persons and scans "
                f"in {time.perf_counter() - t0:.1f} s"
            )
        results = results_for(tube_ids, args.positive, args.invalid)
        write_s = write_results(tube_ids, results)
        resolve_s, summary = resolve(tube_ids, profile=args.profile)
        status_s, counts = statuses(user, campaign)
        report(len(tube_ids), results, write_s, resolve_s, summary, status_s, counts)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            scratch_drop(server, SCRATCH_DB)
        shutil.rmtree(workdir, ignore_errors=True)


def reset() -> tuple[Any, Any, list[int]]:
    """A kept database back to "no results yet", for another measurement."""
    from django.db import connection

    from fangkong.core.models import User
    from fangkong.masstesting.models import Campaign

    with connection.cursor() as cur:
        cur.execute("TRUNCATE masstesting_rechecktask, people_measuretest")
        cur.execute("DELETE FROM core_auditevent")
        cur.execute("UPDATE core_audithead SET last_seq = 0, last_hash = ''")
        cur.execute("UPDATE masstesting_tube SET result = '', resulted_at = NULL")
        cur.execute("VACUUM ANALYZE masstesting_tube")
        cur.execute("SELECT id FROM masstesting_tube ORDER BY id")
        tube_ids = [r[0] for r in cur.fetchall()]
    return User.objects.get(username="bench"), Campaign.objects.get(), tube_ids


def report(
    n: int,
    results: list[str],
    write_s: float,
    resolve_s: float,
    summary: Any,
    status_s: float,
    counts: dict[str, int],
) -> None:
    pos, inv = results.count("positive"), results.count("invalid")
    total = resolve_s + status_s
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"tubes: {n:,} ({pos:,} positive, {inv:,} invalid pools), people: {n * POOL:,}")
    print(f"(a) baseline UPDATE of {n:,} tube results: {write_s:.2f} s")
    print(
        f"(b) pools_resolve: {resolve_s:.2f} s -> {summary.rechecks_created:,} recheck tasks, "
        f"{summary.measure_tests_recorded:,} measure tests recorded"
    )
    print(f"(c) people by latest status: {status_s:.2f} s -> {counts}")
    print(f"(b)+(c) = {total:.2f} s; ratio to the baseline UPDATE: {total / write_s:.1f}x")
    verdict = "met" if total <= GOAL_SECONDS else "NOT met"
    print(f"goal (<= {GOAL_SECONDS:.0f} s for {n:,} tubes): {verdict}")


if __name__ == "__main__":
    main()
