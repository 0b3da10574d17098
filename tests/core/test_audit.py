"""The audit log: append-only through the ORM, tamper-evident against raw SQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from fangkong.core.audit import GENESIS, audit_record, verify_chain
from fangkong.core.models import AuditEvent, AuditHead, Role, User
from tests.factories import UserFactory

TABLE = AuditEvent._meta.db_table
HEAD_TABLE = AuditHead._meta.db_table
ROOT = Path(__file__).resolve().parents[2]


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


def _plain(sql: str, params: list[Any] | None = None) -> None:
    """Raw SQL by a database writer who is not the owner (the triggers stay on)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=qn(TABLE), head=qn(HEAD_TABLE)), params or [])


def _raw(sql: str, params: list[Any]) -> None:
    """Raw SQL as the database owner would run it: on PostgreSQL the owner can switch the
    append-only triggers off, so the chain itself must still give the change away."""
    qn = connection.ops.quote_name
    tables = (qn(TABLE), qn(HEAD_TABLE))
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql.format(table=tables[0], head=tables[1]), params)
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


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


# --- the keyed chain: a database writer without FANGKONG_AUDIT_KEY cannot recompute it -----------


def _plain_sha256(prev_hash: str, row: dict[str, Any]) -> str:
    """What an attacker with database write access but without the key can compute."""
    fields = {
        "seq": row["seq"],
        "at": row["at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": row["actor_username"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "reason": row["reason"],
        "client_ip": row["client_ip"],
        "details": row["details"],
    }
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def _rewrite_from(seq: int, details: dict[str, Any], *, downgrade: bool) -> None:
    """Edit one row, then re-link every later row and the head, as a database writer would."""
    rows = list(AuditEvent.objects.order_by("seq").values())
    prev = GENESIS
    for row in rows:
        if row["seq"] >= seq:
            if row["seq"] == seq:
                row["details"] = details
            row["prev_hash"], row["hash"] = prev, _plain_sha256(prev, row)
            version = 1 if downgrade else row["chain_version"]
            _raw(
                "UPDATE {table} SET details = %s, prev_hash = %s, hash = %s, chain_version = %s"
                " WHERE seq = %s",
                [json.dumps(row["details"]), row["prev_hash"], row["hash"], version, row["seq"]],
            )
        prev = row["hash"]
    _raw("UPDATE {head} SET last_hash = %s WHERE id = 1", [prev])


@pytest.mark.django_db
def test_new_rows_are_keyed_version_2() -> None:
    events = _record_some(2)
    stored = list(AuditEvent.objects.order_by("seq").values())
    assert [row["chain_version"] for row in stored] == [2, 2]
    # not the unkeyed digest anyone can compute
    assert stored[0]["hash"] != _plain_sha256(GENESIS, stored[0])
    assert events[1].prev_hash == events[0].hash


@pytest.mark.django_db
@pytest.mark.parametrize("downgrade", [False, True], ids=["as-v2", "downgraded-to-v1"])
def test_a_row_recomputed_with_plain_sha256_fails_verification(downgrade: bool) -> None:
    events = _record_some(4)
    target = events[1].seq
    _rewrite_from(target, {"fields": ["id_number"], "n": 2}, downgrade=downgrade)
    _, err, status = _verify()
    assert status == 1 and "BROKEN" in err
    problems = list(verify_chain())
    assert min(p.seq for p in problems) == target
    # no link is broken, so only the missing key can give the forgery away
    assert not any("link" in p.problem for p in problems)
    assert any(p.problem == "the chain head is not signed with the audit key" for p in problems)


@pytest.mark.django_db
def test_verify_fails_under_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _record_some(2)
    other = dataclasses.replace(settings.KEYS, audit_key=secrets.token_bytes(32))
    monkeypatch.setattr(settings, "KEYS", other)
    _, _, status = _verify()
    assert status == 1


@pytest.mark.django_db
def test_tail_truncation_with_a_head_rewind_without_the_key_is_detected() -> None:
    events = _record_some(3)
    _raw("DELETE FROM {table} WHERE seq = %s", [events[-1].seq])
    _raw(
        "UPDATE {head} SET last_seq = %s, last_hash = %s WHERE id = 1",
        [events[-2].seq, events[-2].hash],
    )
    _, err, status = _verify()
    assert status == 1
    assert "the chain head is not signed with the audit key" in err


@pytest.mark.django_db
def test_reordered_rows_are_detected() -> None:
    events = _record_some(4)
    a, b = events[1].seq, events[2].seq
    _raw("UPDATE {table} SET seq = %s WHERE seq = %s", [10_000, a])
    _raw("UPDATE {table} SET seq = %s WHERE seq = %s", [a, b])
    _raw("UPDATE {table} SET seq = %s WHERE seq = %s", [b, 10_000])
    _, _, status = _verify()
    assert status == 1
    assert {p.seq for p in verify_chain()} >= {a, b}


@pytest.mark.django_db
def test_a_deleted_head_is_detected() -> None:
    _record_some(2)
    _raw("DELETE FROM {head}", [])
    _, err, status = _verify()
    assert status == 1 and "the chain head is missing" in err


@pytest.mark.django_db
def test_verify_reports_legacy_rows_and_the_head() -> None:
    events = _record_some(3)
    out, _, status = _verify()
    assert status == 0
    assert "3 rows (0 legacy unkeyed, 3 keyed)" in out
    assert f"head {events[-1].seq} {events[-1].hash[:16]}" in out


# --- an existing unkeyed chain keeps verifying after the upgrade --------------------------------

CORE_BEFORE = ("core", "0001_initial")


def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def _latest_everything() -> list[tuple[str, str]]:
    """Every app's last migration: going back to core 0001 unapplies every app that depends on
    a later core migration (quarantine on 0006), and they must all come back."""
    executor = MigrationExecutor(connection)
    return list(executor.loader.graph.leaf_nodes())


def _write_legacy_rows(n: int) -> str:
    """Rows exactly as the unkeyed code wrote them, straight into the 0001 schema."""
    prev = GENESIS
    at = dt.datetime.now(dt.UTC)
    for seq in range(1, n + 1):
        row = {
            "seq": seq,
            "at": at,
            "actor_username": "system",
            "action": "legacy.action",
            "object_type": "t",
            "object_id": str(seq),
            "reason": "",
            "client_ip": "",
            "details": {"n": seq},
        }
        digest = _plain_sha256(prev, row)
        _plain(
            "INSERT INTO {table} (seq, at, actor_username, action, object_type, object_id,"
            " reason, client_ip, details, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s)",
            [
                seq,
                at,
                "system",
                "legacy.action",
                "t",
                str(seq),
                "",
                "",
                json.dumps(row["details"]),
                prev,
                digest,
            ],
        )
        prev = digest
    _plain("INSERT INTO {head} (id, last_seq, last_hash) VALUES (1, %s, %s)", [n, prev])
    return prev


@pytest.mark.django_db(transaction=True)
def test_a_legacy_chain_still_verifies_after_the_upgrade_and_continues_keyed() -> None:
    latest = _latest_everything()
    _migrate([CORE_BEFORE])
    try:
        legacy_head = _write_legacy_rows(3)
    finally:
        _migrate(latest)
    rows = list(AuditEvent.objects.order_by("seq").values("seq", "chain_version"))
    assert [r["chain_version"] for r in rows] == [1, 1, 1]
    event = audit_record(actor=None, action="after.upgrade", object_type="t", object_id=4)
    assert event.chain_version == 2 and event.prev_hash == legacy_head
    out, _, status = _verify()
    assert status == 0, out
    assert "4 rows (3 legacy unkeyed, 1 keyed)" in out
    # the unkeyed prefix is sealed: a legacy row edited and recomputed still breaks the link
    # into the first keyed row, and an unkeyed row appended after it is refused
    _rewrite_from(2, {"n": 99}, downgrade=False)
    assert list(verify_chain())


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


@pytest.mark.django_db
def test_audit_head_is_written_only_by_the_audit_service() -> None:
    _record_some(1)
    head = AuditHead.objects.get(id=1)
    head.last_seq = 0
    with pytest.raises(PermissionError):
        head.save()
    with pytest.raises(PermissionError):
        head.delete()
    with pytest.raises(PermissionError):
        AuditHead.objects.filter(id=1).update(last_seq=0)
    with pytest.raises(PermissionError):
        AuditHead.objects.all().delete()
    with pytest.raises(PermissionError), transaction.atomic():
        AuditHead.objects.bulk_update([head], ["last_seq"])
    with pytest.raises(PermissionError), transaction.atomic():
        AuditHead.objects.update_or_create(id=1, defaults={"last_seq": 0})
    with pytest.raises(PermissionError), transaction.atomic():
        AuditHead.objects.bulk_create([AuditHead(id=2)])
    with pytest.raises(PermissionError), transaction.atomic():
        AuditHead.objects.create(id=3)
    assert AuditHead.objects.get(id=1).last_seq == 1
    # the service itself still appends
    audit_record(actor=None, action="after.guard", object_type="t", object_id=1)
    assert list(verify_chain()) == []


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_audit_rows_and_the_chain_verifies() -> None:
    events = _record_some(3)
    actor_id = events[0].actor_id
    assert actor_id is not None
    User.objects.filter(pk=actor_id).delete()
    assert not User.objects.filter(pk=actor_id).exists()
    rows = AuditEvent.objects.order_by("seq").values_list("actor_id", "actor_username")
    assert [r[0] for r in rows] == [actor_id] * 3
    assert all(r[1] for r in rows)
    out, _, status = _verify()
    assert status == 0, out


# --- PostgreSQL: the database itself refuses to rewrite the log ----------------------------------

pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only triggers are PostgreSQL only; SQLite relies on the ORM and the chain",
)


@pg_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET reason = 'changed'",
        "UPDATE {table} SET details = '{{}}', hash = hash",
        "DELETE FROM {table}",
    ],
    ids=["update", "update-details", "delete"],
)
def test_postgres_refuses_update_and_delete_of_audit_rows(sql: str) -> None:
    _record_some(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _plain(sql)
    assert AuditEvent.objects.count() == 2
    assert list(verify_chain()) == []


@pg_only
@pytest.mark.django_db
def test_postgres_refuses_truncate_unless_the_test_database_allows_it() -> None:
    _record_some(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        # the database-level 'allow' is set for the test database only (tests/conftest.py)
        _plain("SET LOCAL fangkong.audit_truncate = 'deny'")
        _plain("TRUNCATE {table}")
    with pytest.raises(DatabaseError, match="audit head"), transaction.atomic():
        _plain("SET LOCAL fangkong.audit_truncate = 'deny'")
        _plain("TRUNCATE {head}")
    assert AuditEvent.objects.count() == 1


@pg_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {head} SET last_seq = last_seq - 1",
        "UPDATE {head} SET last_hash = 'x', mac = 'y'",
        "UPDATE {head} SET last_seq = last_seq + 1, legacy_through = last_seq + 1",
        "DELETE FROM {head}",
        "INSERT INTO {head} (id, last_seq, last_hash, legacy_through, mac)"
        " VALUES (2, 0, '', 0, '')",
    ],
    ids=["backwards", "same-seq", "move-legacy-boundary", "delete", "second-head"],
)
def test_postgres_lets_the_head_only_move_forward(sql: str) -> None:
    _record_some(2)
    with pytest.raises(DatabaseError, match="audit head"), transaction.atomic():
        _plain(sql)
    head = AuditHead.objects.get(id=1)
    assert head.last_seq == 2
    audit_record(actor=None, action="still.appends", object_type="t", object_id=3)
    assert AuditHead.objects.get(id=1).last_seq == 3
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
from fangkong.core.audit import GENESIS, audit_record, verify_chain
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
