"""SIGKILL in the middle of scan uploads: every acknowledged scan survives, retries store once.

A real gunicorn (2 workers x 2 threads, its own session and process group) serves a fresh
file database, migrated and seeded in a subprocess: SQLite always, PostgreSQL too when
FANGKONG_TEST_DATABASE_URL is set (a separate scratch database, created and dropped here).
Client threads post batches; once some are acknowledged and others are on the wire, the
whole server group gets SIGKILL, with no chance to flush or clean up. After a restart:
  - every batch that got a 200 has all its accepted scans in the database (checked on the
    database directly, before anything is resent);
  - resending every batch with its own key stores nothing twice: acknowledged batches get
    their stored answer back, the others are stored now, and each person is stored once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/masstesting/scans/batch"
PERSONS, BATCH, CLIENTS, ACKS_BEFORE_KILL = 2400, 80, 4, 4

pytestmark = [pytest.mark.xdist_group("sigkill")]

SEED = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from fangkong.core.services import api_token_issue
from fangkong.masstesting.models import RegistrationCode
from fangkong.masstesting.sampling.services.codes import new_token
from fangkong.people.models import Person
from tests.factories import build_tree
from tests.factories.masstesting import campaign_setup
tree = build_tree()
setup = campaign_setup(tree, {}, pool_size=10)
grid = tree.grid_a1
Person.objects.bulk_create([
    Person(name="p", id_type="resident_id", id_number_ct="x", id_number_bidx=f"k{i}",
           id_number_mask="1***", region=grid, region_path=grid.path)
    for i in range(int(sys.argv[1]))
])
codes = [new_token() for _ in Person.objects.all()]
RegistrationCode.objects.bulk_create([
    RegistrationCode(person_id=pk, token=t)
    for pk, t in zip(Person.objects.order_by("pk").values_list("pk", flat=True), codes)
])
print(json.dumps({"token": api_token_issue(user=setup.sampler), "point": setup.point.pk,
                  "codes": codes}))
"""

COUNT_BY_KEY = (
    "SELECT b.idempotency_key, count(s.id) FROM masstesting_scanbatch b "
    "LEFT JOIN masstesting_scan s ON s.batch_id = b.id GROUP BY b.idempotency_key"
)
TOTALS = (
    "SELECT count(*), count(DISTINCT person_id), "
    "(SELECT coalesce(sum(members), 0) FROM masstesting_tube) FROM masstesting_scan"
)


@dataclass
class Backend:
    db_url: str
    query: Callable[[str], list[tuple[Any, ...]]]


def _sqlite(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "sigkill.sqlite3"

    def query(sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return conn.execute(sql).fetchall()

    yield Backend(f"sqlite:///{path}", query)


def _postgres() -> Iterator[Backend]:
    import psycopg

    base = os.environ.get("FANGKONG_TEST_DATABASE_URL")
    if not base:
        pytest.skip("FANGKONG_TEST_DATABASE_URL is not set")
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'fangkong'}_sigkill"
    admin = urlunsplit(parts._replace(path="/postgres"))
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return list(conn.execute(sql).fetchall())

    try:
        yield Backend(url, query)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: Any, tmp_path: Path) -> Iterator[Backend]:
    yield from _sqlite(tmp_path) if request.param == "sqlite" else _postgres()


def _env(db_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=db_url,
        FANGKONG_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(ROOT),
        FANGKONG_LOG_LEVEL="ERROR",
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        cmd += ["--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "2"]
        cmd += ["--log-level", "critical", "--timeout", "60"]
        # its own session: SIGKILL goes to the master and its workers, nothing else
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, start_new_session=True, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if http_get(self.port, "/login/") == 200:
                    return
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        if self.proc.poll() is None:  # never signal a reaped (possibly reused) process id
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def http_get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def post(port: int, token: str, key: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """One upload; 429 is retried with the same key, as the sampler page does."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            }
            conn.request("POST", URL, body, headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status != 429:
            return response.status, json.loads(data) if data else {}
        time.sleep(0.05)


@dataclass
class Run:
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)  # no answer: connection died with the server
    in_flight: int = 0
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: threading.Event = field(default_factory=threading.Event)


def _upload_until_killed(server: Server, token: str, batches: dict[str, bytes], run: Run) -> None:
    """Client threads post batches; the thread that gets the ACKS_BEFORE_KILL-th answer kills
    the server there and then, under the lock, so other uploads are certainly on the wire."""
    queue, port = list(batches), server.port

    def client() -> None:
        while True:
            with run.lock:
                if not queue:
                    return
                key = queue.pop(0)
                run.in_flight += 1
            try:
                status, body = post(port, token, key, batches[key])
            except (OSError, http.client.HTTPException):
                with run.lock:
                    run.lost.append(key)
                    run.in_flight -= 1
                return  # the server is gone
            with run.lock:
                run.in_flight -= 1
                assert status == 200, body
                run.acked[key] = body
                if len(run.acked) >= ACKS_BEFORE_KILL and run.in_flight > 0 and not run.killed:
                    server.kill()  # SIGKILL while at least one upload is on the wire
                    run.killed = True
                    run.ready.set()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return None


def test_sigkill_mid_upload_keeps_every_acknowledged_scan(backend: Backend, tmp_path: Path) -> None:
    env = _env(backend.db_url, tmp_path)
    seeded = subprocess.run(
        [sys.executable, "-c", SEED, str(PERSONS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    codes, token = seed["codes"], seed["token"]
    batches: dict[str, bytes] = {}
    for n, start in enumerate(range(0, PERSONS, BATCH)):
        scans = [
            {"barcode": f"K{n:03d}-{i // 10:02d}", "token": code}
            for i, code in enumerate(codes[start : start + BATCH])
        ]
        batches[f"kill-{n:03d}"] = json.dumps({"point_id": seed["point"], "scans": scans}).encode()

    server = Server(env)
    run = Run()
    try:
        _upload_until_killed(server, token, batches, run)
        assert run.ready.wait(timeout=60), "the server was not killed mid-upload"
    finally:
        server.kill()
    deadline = time.monotonic() + 30
    while run.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    acked = dict(run.acked)
    assert ACKS_BEFORE_KILL <= len(acked) < len(batches)

    # after the crash, before any resend: every acknowledged scan is on disk
    stored = dict(backend.query(COUNT_BY_KEY))
    for key, answer in acked.items():
        assert answer["counts"] == {"accepted": BATCH, "duplicate": 0, "rejected": 0}
        assert stored.get(key) == BATCH, key

    server = Server(env)
    try:
        for key, body in batches.items():
            status, answer = post(server.port, token, key, body)
            assert status == 200, answer
            if key in acked:  # the stored answer, not a second ingest
                assert answer["replayed"] is True
                assert answer["results"] == acked[key]["results"]
            else:  # committed before the kill (replayed) or never committed: stored now
                assert answer["counts"]["accepted"] == BATCH
        # a second round changes nothing
        key, body = next(iter(batches.items()))
        assert post(server.port, token, key, body)[1]["replayed"] is True
    finally:
        server.kill()
    assert backend.query(TOTALS) == [(PERSONS, PERSONS, PERSONS)]
    assert dict(backend.query(COUNT_BY_KEY)) == dict.fromkeys(batches, BATCH)
