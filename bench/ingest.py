"""Scan ingest benchmark (issue 4): batches of 5,000 scans through the real HTTP API.

In one run, on a scratch PostgreSQL database created first and dropped at the end, it seeds
persons with registration codes (by COPY: the bench measures scans, not the PII vault), a
10-in-1 campaign and its sampling points, then measures
  (a) scans/s through gunicorn -> django-ninja -> scan_batch_ingest -> PostgreSQL, several
      client threads posting pre-encoded batches of 5,000 with an Idempotency-Key each;
  (b) raw psycopg COPY of the very rows (a) stored into the same table (emptied first), in
      one transaction, as the baseline nothing can beat;
and prints both figures and the ratio. Goals: >= 20,000 scans/s and >= 35% of COPY.

    .venv/bin/python bench/ingest.py [--persons 200000] [--workers 2] [--clients 4]

FANGKONG_BENCH_DATABASE_URL names the server (default postgresql://postgres@127.0.0.1:5432/
postgres); the scratch database is fangkong_bench_ingest on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scratch import ROOT, scratch_create, scratch_drop, setup_django

SCRATCH_DB = "fangkong_bench_ingest"
BATCH = 5000
POINTS = 20
GOAL_RATE, GOAL_RATIO = 20_000.0, 0.35


def seed(n_persons: int) -> tuple[str, list[int], list[str]]:
    """Regions, persons + codes (COPY), a campaign, points, a bearer token for their sampler."""
    from django.db import connection
    from django.utils import timezone

    from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, Role, User
    from fangkong.core.services import api_token_issue
    from fangkong.masstesting.models import Campaign, SamplingPoint

    city = Region.objects.create(code="990100", name="基准市", level=RegionLevel.CITY)
    district = Region.objects.create(
        code="990101", name="第1区", level=RegionLevel.DISTRICT, parent=city
    )
    # Only a sampler of the point's own institution may upload its scans (permission table).
    station = Institution.objects.create(
        name="基准采样站", kind=InstitutionKind.SAMPLING_POINT, region=district
    )
    user = User.objects.create(username="bench", role=Role.SAMPLER, institution=station)
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="全员核酸",
        region=city,
        pool_size=10,
        starts_at=now,
        ends_at=now + dt.timedelta(hours=24),
    )
    points = [
        SamplingPoint.objects.create(
            campaign=campaign, name=f"采样点{i}", region=district, institution=station
        ).pk
        for i in range(POINTS)
    ]
    cols = "name, id_type, id_number_ct, id_number_bidx, id_number_mask, phone_ct, phone_bidx, "
    cols += "phone_mask, address_ct, address_mask, sex, region_id, region_path, occupation, "
    cols += "key_group, tags, source, created_at, updated_at"
    head = ("居民", "resident_id", "v1:placeholder")
    tail = ("9901**********000X", "", "", "", "", "", "U", district.pk, district.path, "", "")
    tail += ("[]", "bench", now, now)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY people_person ({cols}) FROM STDIN") as copy:
            for i in range(n_persons):
                copy.write_row((*head, f"b{i}", *tail))
        cursor.execute(
            "INSERT INTO masstesting_registrationcode (person_id, token, created_at) "
            "SELECT id, substr(md5(id::text || 'bench'), 1, 22), now() FROM people_person"
        )
        cursor.execute("SELECT token FROM masstesting_registrationcode ORDER BY id")
        tokens = [r[0] for r in cursor.fetchall()]
        cursor.execute("ANALYZE")
    return api_token_issue(user=user), points, tokens


def bodies(points: list[int], tokens: list[str]) -> list[bytes]:
    out = []
    # Scanned now, inside the campaign seeded a moment ago: the bench runs on any date.
    at = dt.datetime.now(dt.UTC).isoformat()
    for b, start in enumerate(range(0, len(tokens), BATCH)):
        chunk = tokens[start : start + BATCH]
        scans = [
            {"barcode": f"B{b:04d}-{i // 10:04d}", "token": t, "scanned_at": at}
            for i, t in enumerate(chunk)
        ]
        body = {"point_id": points[b % len(points)], "scans": scans}
        out.append(json.dumps(body).encode())
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "2"]
    cmd += ["--timeout", "120", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy())
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def post_all(port: int, token: str, payloads: list[bytes], clients: int) -> tuple[float, int]:
    def send(item: tuple[int, bytes]) -> int:
        index, body = item
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"bench-{index}",
            }
            conn.request("POST", "/api/v1/masstesting/scans/batch", body, headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            if response.status in (429, 503):  # shed: retry with the same key, as a sampler would
                time.sleep(0.05)
                continue
            if response.status != 200:
                raise RuntimeError(f"batch {index}: {response.status} {data[:300]!r}")
            return int(json.loads(data)["counts"]["accepted"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        accepted = sum(pool.map(send, enumerate(payloads)))
    return time.perf_counter() - t0, accepted


def copy_baseline() -> tuple[float, int]:
    """Re-insert exactly the stored scan rows by raw psycopg COPY into the emptied table."""
    import psycopg
    from django.db import connection

    cols = "campaign_id, tube_id, person_id, token, point_id, batch_id, sampler_id, scanned_at"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM masstesting_scan ORDER BY id")
        rows = cursor.fetchall()
        cursor.execute("TRUNCATE masstesting_scan")
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY masstesting_scan ({cols}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        conn.commit()
        return time.perf_counter() - t0, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    args = parser.parse_args()
    server = os.environ.get(
        "FANGKONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fangkong-bench-ingest-"))
    proc = None
    try:
        setup_django(scratch_create(server, SCRATCH_DB), workdir)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        token, points, tokens = seed(args.persons)
        print(f"seeded {len(tokens):,} persons with codes in {time.perf_counter() - t0:.1f} s")
        payloads = bodies(points, tokens)
        connection.close()
        proc, port = start_server(args.workers)
        api_s, accepted = post_all(port, token, payloads, args.clients)
        copy_s, copied = copy_baseline()
        if accepted != len(tokens):
            raise SystemExit(
                f"the API accepted {accepted:,} of {len(tokens):,} scans: nothing to compare"
            )
        report(accepted, api_s, copied, copy_s, args)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        scratch_drop(server, SCRATCH_DB)
        shutil.rmtree(workdir, ignore_errors=True)


def report(accepted: int, api_s: float, copied: int, copy_s: float, args: Any) -> None:
    api_rate, copy_rate = accepted / api_s, copied / copy_s
    ratio = api_rate / copy_rate
    print(f"cores: {os.cpu_count()}, gunicorn workers: {args.workers}, clients: {args.clients}")
    print(f"HTTP batch API: {accepted:,} scans in {api_s:.2f} s = {api_rate:,.0f} scans/s")
    print(f"raw psycopg COPY: {copied:,} rows in {copy_s:.2f} s = {copy_rate:,.0f} rows/s")
    print(f"ratio API / COPY: {ratio:.1%}")
    met = api_rate >= GOAL_RATE and ratio >= GOAL_RATIO
    verdict = "met" if met else "NOT met"
    print(f"goal (>= {GOAL_RATE:,.0f}/s and >= {GOAL_RATIO:.0%} of COPY): {verdict}")


if __name__ == "__main__":
    main()
