"""Quarantine (issue 10): allocating 20,000 persons into 20,000 rooms of 50 sites, and the site
board of a 2,000-room site, on PostgreSQL.

In one run, on a scratch database created first and dropped at the end, it seeds by
set-based SQL (the bench measures allocation, not seeding) a district with 50 active sites of
400 rooms each, 20,000 residents each under a proposed centralised quarantine, and one more
site of 2,000 rooms with 1,800 of them occupied; then measures
  (a) the baseline: one plain `UPDATE … FROM unnest` marking the 20,000 rooms occupied (the
      least any allocation must write), reverted afterwards;
  (b) `stays_allocate_many` for the 20,000 measures, as the command office, one batch per
      site (the waiting list spread over the 50 sites): cohort rules, the site lock, the
      stays, the rooms' state and history, the measures' site and their events, the audit
      rows — reading the measures included;
  (c) the board page of the 2,000-room site (`GET /quarantine/sites/<id>/`) as its staff,
      through Django's request handling, --requests times: p50 and p95;
and prints each figure, (b) against 3x (a) and (c)'s p95 against 300 ms.

    .venv/bin/python bench/quarantine.py [--persons 20000] [--sites 50] [--requests 50]

FANGKONG_BENCH_DATABASE_URL names the server (default postgresql://postgres@127.0.0.1:5432/
postgres); the scratch database is fangkong_bench_quarantine on it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch import scratch_create, scratch_drop, setup_django, with_db

SCRATCH_DB = "fangkong_bench_quarantine"
BOARD_ROOMS, BOARD_OCCUPIED = 2_000, 1_800
ALLOCATION_GOAL_RATIO = 3.0
BOARD_GOAL_MS = 300.0


def _rooms_sql(cur: Any, site_ids: list[int], per_site: int, path: str) -> None:
    """`per_site` rooms per site: floors of two corridors of ten facing pairs."""
    cur.execute(
        "INSERT INTO quarantine_room (site_id, region_path, building, floor, number, corridor, "
        "side, position, capacity, accessible, child_friendly, negative_pressure, state, "
        "updated_at) SELECT s, %s, '1', 1 + n / 40, (1 + n / 40)::text || lpad((n %% 40)::text, "
        "3, '0'), ((n %% 40) / 20 + 1)::text, CASE WHEN n %% 2 = 0 THEN 'A' ELSE 'B' END, "
        "1 + (n %% 20) / 2, 1, false, false, false, 'available', now() "
        "FROM unnest(%s::bigint[]) s, generate_series(0, %s - 1) n",
        [path, site_ids, per_site],
    )


def seed(persons: int, n_sites: int) -> tuple[Any, Any, Any, list[int]]:
    """The office user, the board site, its staff user and the measure ids to allocate."""
    from django.db import connection

    from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, Role, User
    from fangkong.people.measures_models import MeasurePlan
    from fangkong.quarantine.models import Site

    city = Region.objects.create(code="990100", name="基准市", level=RegionLevel.CITY)
    district = Region.objects.create(
        code="990101", name="第一区", level=RegionLevel.DISTRICT, parent=city
    )
    office = User.objects.create(username="bench", role=Role.COMMAND_OFFICE, region=city)
    sites = []
    for i in range(n_sites + 1):
        inst = Institution.objects.create(
            code=f"QB{i:03d}", name=f"基准隔离点{i}", kind=InstitutionKind.QUARANTINE_SITE,
            region=district,
        )  # fmt: skip
        sites.append(
            Site.objects.create(institution=inst, region_path=district.path, state="active")
        )
    board_site = sites.pop()
    staff = User.objects.create(
        username="bench_site", role=Role.QUARANTINE_SITE, institution=board_site.institution
    )
    plan = MeasurePlan.objects.get(key="centralised_7_home_3")
    with connection.cursor() as cur:
        _rooms_sql(cur, [s.pk for s in sites], -(-persons // n_sites), district.path)
        _rooms_sql(cur, [board_site.pk], BOARD_ROOMS, district.path)
        cur.execute(
            "INSERT INTO people_person (name, id_type, id_number_ct, id_number_bidx, "
            "id_number_mask, phone_ct, phone_bidx, phone_mask, address_ct, address_mask, sex, "
            "region_id, region_path, occupation, key_group, tags, source, created_at, "
            "updated_at) SELECT '居民' || n, 'resident_id', 'v1:x', 'b' || n, "
            "'9901**********000X', '', '', '', '', '', 'U', %s, %s, '', '', '[]', 'bench', "
            "now(), now() FROM generate_series(0, %s - 1) n",
            [district.pk, district.path, persons + BOARD_OCCUPIED],
        )
        cur.execute(
            "INSERT INTO people_controlmeasure (person_id, region_id, region_path, plan_id, kind, "
            "state, phases, start_date, planned_end, test_days, source_type, source_id, reason, "
            "converted_to, created_at, updated_at) SELECT id, region_id, region_path, %s, "
            "'centralised_quarantine', 'proposed', '[]', current_date, current_date + 9, '[]', "
            "'manual', 'bench' || id, '', '', now(), now() FROM people_person",
            [plan.pk],
        )
        _occupy_board(cur, board_site.pk)
        cur.execute("ANALYZE")
        cur.execute(
            "SELECT m.id FROM people_controlmeasure m WHERE NOT EXISTS (SELECT 1 FROM "
            "quarantine_stay s WHERE s.measure_id = m.id) ORDER BY m.id"
        )
        measure_ids = [r[0] for r in cur.fetchall()]
    return office, board_site, staff, measure_ids


def _occupy_board(cur: Any, site_id: int) -> None:
    """The board site 90 % full: stays straight into the first 1,800 rooms."""
    cur.execute(
        "WITH r AS (SELECT id, row_number() OVER (ORDER BY id) k FROM quarantine_room "
        "WHERE site_id = %s), m AS (SELECT id, person_id, region_path, row_number() OVER "
        "(ORDER BY id DESC) k FROM people_controlmeasure) "
        "INSERT INTO quarantine_stay (measure_id, person_id, region_path, site_id, room_id, slot, "
        "cohort, state, allocated_at, note) SELECT m.id, m.person_id, m.region_path, %s, r.id, 1, "
        "'C' || (r.k / 200), 'checked_in', now(), '' FROM r JOIN m ON m.k = r.k WHERE r.k <= %s",
        [site_id, site_id, BOARD_OCCUPIED],
    )
    cur.execute(
        "UPDATE quarantine_room SET state = 'occupied' WHERE id IN "
        "(SELECT room_id FROM quarantine_stay WHERE site_id = %s)",
        [site_id],
    )


def baseline(site_ids: list[int]) -> float:
    """One UPDATE marking the allocation's rooms occupied, then undone."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("SELECT id FROM quarantine_room WHERE site_id = ANY(%s)", [site_ids])
        ids = [r[0] for r in cur.fetchall()]
        t0 = time.perf_counter()
        with transaction.atomic():
            cur.execute(
                "UPDATE quarantine_room r SET state = 'occupied', updated_at = now() "
                "FROM unnest(%s::bigint[]) AS u(id) WHERE r.id = u.id",
                [ids],
            )
        seconds = time.perf_counter() - t0
        cur.execute("UPDATE quarantine_room SET state = 'available' WHERE id = ANY(%s)", [ids])
    return seconds


def allocate(office: Any, measure_ids: list[int], sites: list[Any]) -> tuple[float, int, int]:
    """The waiting list spread over the sites, one `stays_allocate_many` per site."""
    from fangkong.people.models import ControlMeasure
    from fangkong.quarantine.services.stays import stays_allocate_many

    per_site = -(-len(measure_ids) // len(sites))
    t0 = time.perf_counter()
    warned = refused = 0
    for i, site in enumerate(sites):
        chunk = measure_ids[i * per_site : (i + 1) * per_site]
        measures = list(ControlMeasure.objects.filter(pk__in=chunk).order_by("pk"))
        done = stays_allocate_many(actor=office, measures=measures, site=site)
        warned += len(done.warnings)
        refused += len(done.refused)
    return time.perf_counter() - t0, warned, refused


def board(staff: Any, site: Any, requests: int) -> list[float]:
    from django.test import Client

    client = Client()
    client.force_login(staff)
    url = f"/quarantine/sites/{site.pk}/"
    assert client.get(url).status_code == 200  # warm
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    server = os.environ.get(
        "FANGKONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fangkong-bench-quarantine-"))
    try:
        scratch_create(server, SCRATCH_DB)
        setup_django(with_db(server, SCRATCH_DB), workdir)
        from django.core.management import call_command

        from fangkong.quarantine.models import Site

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        office, board_site, staff, measure_ids = seed(args.persons, args.sites)
        seeded_s = time.perf_counter() - t0
        print(f"seeded {len(measure_ids):,} measures and their rooms in {seeded_s:.1f} s")
        sites = list(Site.objects.exclude(pk=board_site.pk).order_by("pk"))
        base_s = baseline([s.pk for s in sites])
        alloc_s, warned, refused = allocate(office, measure_ids, sites)
        assert refused == 0, f"{refused} measures were refused a room"
        times = board(staff, board_site, args.requests)
        report(len(measure_ids), base_s, alloc_s, warned, times)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        scratch_drop(server, SCRATCH_DB)
        shutil.rmtree(workdir, ignore_errors=True)


def report(n: int, base_s: float, alloc_s: float, warned: int, times: list[float]) -> None:
    ratio = alloc_s / base_s
    alloc_verdict = "met" if ratio <= ALLOCATION_GOAL_RATIO else "NOT met"
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"(a) baseline UPDATE of {n:,} rooms: {base_s:.3f} s")
    print(
        f"(b) stays_allocate_many, {n:,} persons: {alloc_s:.1f} s "
        f"({alloc_s / n * 1000:.2f} ms each, "
        f"{warned:,} with a cohort warning); ratio to the baseline: {ratio:.0f}x "
        f"(goal <= {ALLOCATION_GOAL_RATIO:.0f}x: {alloc_verdict})"
    )
    print(
        f"(c) board of a {BOARD_ROOMS:,}-room site ({BOARD_OCCUPIED:,} occupied), {len(times)} "
        f"requests: p50 {p50:.0f} ms, p95 {p95:.0f} ms "
        f"(goal p95 <= {BOARD_GOAL_MS:.0f} ms: {'met' if p95 <= BOARD_GOAL_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
