"""The audit log: append-only through the ORM, tamper-evident against raw SQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from fangkong.core.audit import audit_record, verify_chain
from fangkong.core.models import AuditEvent, AuditHead, Role
from tests.factories import UserFactory

TABLE = AuditEvent._meta.db_table
ROOT = Path(__file__).resolve().parent.parent


def _record_some(n: int = 4) -> list[AuditEvent]:
    actor = UserFactory(role=Role.TOWN)
    return [
        audit_record(
            actor=actor,
            action="person.reveal",
            object_type="person",
            object_id=i,
            reason=f"核查身份 {i}",
            details={"fields": ["phone"], "n": i},
        )
        for i in range(1, n + 1)
    ]


def _verify() -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except CommandError as exc:
        # call_command raises instead of exiting; the CLI turns this into exit status 1
        return out.getvalue(), err.getvalue() + str(exc), 1
    return out.getvalue(), err.getvalue(), 0


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(TABLE)), params)


@pytest.mark.django_db
def test_verify_passes_on_an_intact_chain() -> None:
    _record_some(4)
    out, _, status = _verify()
    assert status == 0
    assert "OK" in out and "4 rows" in out
    assert list(verify_chain()) == []


@pytest.mark.django_db
def test_verify_on_an_empty_log() -> None:
    out, _, status = _verify()
    assert status == 0 and "0 rows" in out


@pytest.mark.django_db
def test_raw_sql_edit_is_detected_and_named() -> None:
    events = _record_some(4)
    target = events[1]
    _raw("UPDATE {table} SET reason = %s WHERE seq = %s", ["无理由", target.seq])
    _, err, status = _verify()
    assert status == 1
    assert f"row {target.seq}: row content does not match its hash" in err
    assert "BROKEN" in err
    assert [p.seq for p in verify_chain()] == [target.seq]


@pytest.mark.django_db
def test_raw_sql_edit_that_recomputes_nothing_but_the_hash_breaks_the_next_link() -> None:
    events = _record_some(3)
    _raw("UPDATE {table} SET hash = %s WHERE seq = %s", ["f" * 64, events[0].seq])
    problems = {(p.seq, p.problem) for p in verify_chain()}
    assert (events[0].seq, "row content does not match its hash (edited)") in problems
    assert (events[1].seq, "link to the previous row is broken") in problems


@pytest.mark.django_db
def test_raw_sql_delete_in_the_middle_is_detected() -> None:
    events = _record_some(4)
    _raw("DELETE FROM {table} WHERE seq = %s", [events[1].seq])
    _, err, status = _verify()
    assert status == 1
    assert f"row {events[1].seq}: rows {events[1].seq}..{events[1].seq} are missing" in err
    assert f"row {events[2].seq}: link to the previous row is broken" in err


@pytest.mark.django_db
def test_raw_sql_delete_of_the_last_row_is_detected() -> None:
    events = _record_some(3)
    _raw("DELETE FROM {table} WHERE seq = %s", [events[-1].seq])
    _, err, status = _verify()
    assert status == 1
    assert f"row {events[-1].seq}: rows at the end of the log are missing" in err


@pytest.mark.django_db
def test_orm_refuses_update_and_delete() -> None:
    events = _record_some(2)
    event = AuditEvent.objects.get(seq=events[0].seq)
    event.reason = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(seq=event.seq).update(reason="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    # bulk_update opens its own atomic block; a savepoint keeps the test transaction usable
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["reason"])
    assert AuditEvent.objects.count() == 2
    assert list(verify_chain()) == []


def _append_in_thread(n: int, errors: list[BaseException], start: threading.Barrier) -> None:
    try:
        start.wait()
        for i in range(n):
            audit_record(actor=None, action="test.concurrent", object_type="t", object_id=i)
    except BaseException as exc:  # reported by the main thread, which owns the assertion
        errors.append(exc)
    finally:
        connections.close_all()


def _run_writers(threads_n: int, per_thread: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)
    threads = [
        threading.Thread(target=_append_in_thread, args=(per_thread, errors, start))
        for _ in range(threads_n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_the_chain_intact() -> None:
    """Several writers at once must serialise on the AuditHead row instead of forking."""
    if connection.vendor == "sqlite":
        pytest.skip("in-memory SQLite cannot share a database between threads; see the next test")
    audit_record(actor=None, action="test.genesis", object_type="t", object_id=0)
    threads_n, per_thread = 4, 5
    assert _run_writers(threads_n, per_thread) == []
    total = 1 + threads_n * per_thread
    assert AuditEvent.objects.count() == total
    assert AuditHead.objects.get(id=1).last_seq == total
    assert list(verify_chain()) == []


# Runs in a fresh process on a file database configured exactly like production SQLite
# (WAL, BEGIN IMMEDIATE, busy_timeout), which the in-memory test database is not.
_SQLITE_WRITERS = """
import threading
import django
django.setup()
from django.db import connection, connections
from fangkong.core.audit import audit_record, verify_chain
from fangkong.core.models import AuditEvent, AuditHead, Institution, Region, User
# only the tables the audit chain and its foreign keys need: a full migrate takes far longer
with connection.schema_editor() as editor:
    for model in (Region, Institution, User, AuditHead, AuditEvent):
        editor.create_model(model)
errors, start = [], threading.Barrier(4)
def write():
    try:
        start.wait()
        for i in range(5):
            audit_record(actor=None, action="test.concurrent", object_type="t", object_id=i)
    except Exception as exc:
        errors.append(exc)
    finally:
        connections.close_all()
threads = [threading.Thread(target=write) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=60)
print("errors", len(errors), *errors)
print("rows", AuditEvent.objects.count())
print("problems", len(list(verify_chain())))
"""


def test_concurrent_appends_on_a_sqlite_file(tmp_path: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL run covers concurrency with real row locks")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FANGKONG_MODE")}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [sys.executable, "-c", _SQLITE_WRITERS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-3:] == ["errors 0", "rows 20", "problems 0"], done.stdout
