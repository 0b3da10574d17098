"""Append-only, keyed hash-chained audit log.

Each row's hash covers its own fields and the previous row's hash, so editing a row breaks its
own hash and deleting one breaks the next row's link; `verify_chain` finds both. Since chain
version 2 the hash is an HMAC-SHA256 under `FANGKONG_AUDIT_KEY`, which lives outside the
database: a database writer can still change rows, but cannot recompute hashes that verify.
Version 1 rows (plain SHA-256, written before the key existed) form a sealed prefix: the first
keyed row links to the last of them, and the head's MAC fixes where that prefix ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fangkong.core.models import AuditEvent, AuditHead, User, audit_head_writes

GENESIS = "0" * 64
LEGACY, KEYED = 1, 2
CHAIN_VERSION = KEYED


def _body(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "reason": event.reason,
        "client_ip": event.client_ip,
        "details": event.details,
    }


def _digest(event: AuditEvent, key: bytes) -> str:
    if event.chain_version == LEGACY:
        body = _body(_fields(event))
        return hashlib.sha256(f"{event.prev_hash}|{body}".encode()).hexdigest()
    # v2 also covers the version (no silent downgrade) and the actor id (kept after user deletion)
    fields = {**_fields(event), "v": event.chain_version, "actor_id": event.actor_id}
    msg = f"{event.prev_hash}|{_body(fields)}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def head_mac(head: AuditHead, key: bytes) -> str:
    # the same formula is frozen in migration core.0002, which seals existing heads
    msg = f"fangkong-audit-head|{head.last_seq}|{head.last_hash}|{head.legacy_through}"
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def _audit_key() -> bytes:
    key: bytes = settings.KEYS.audit_key
    return key


@transaction.atomic
def audit_record(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | int,
    reason: str = "",
    client_ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    key = _audit_key()
    with audit_head_writes():
        AuditHead.objects.get_or_create(id=1)
    head = AuditHead.objects.select_for_update().get(id=1)
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=timezone.now(),
        actor=actor,
        actor_username=actor.get_username() if actor else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        client_ip=client_ip,
        details=details or {},
        prev_hash=head.last_hash,
        chain_version=CHAIN_VERSION,
    )
    event.hash = _digest(event, key)
    event.save(force_insert=True)
    head.last_seq, head.last_hash = event.seq, event.hash
    head.mac = head_mac(head, key)
    with audit_head_writes():
        head.save(update_fields=["last_seq", "last_hash", "mac"])
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class ChainSummary:
    rows: int
    legacy: int
    head_seq: int
    head_hash: str


def _row_problems(event: AuditEvent, legacy_through: int, key: bytes) -> Iterator[ChainProblem]:
    if event.chain_version == LEGACY and event.seq > legacy_through:
        yield ChainProblem(event.seq, "unkeyed row after the keyed chain began (forged)")
    elif event.chain_version == KEYED and event.seq <= legacy_through:
        yield ChainProblem(event.seq, "keyed row inside the legacy prefix")
    elif event.chain_version not in (LEGACY, KEYED):
        yield ChainProblem(event.seq, f"unknown chain version {event.chain_version}")
    if event.chain_version in (LEGACY, KEYED) and _digest(event, key) != event.hash:
        yield ChainProblem(event.seq, "row content does not match its hash (edited)")


def _head_problems(head: AuditHead | None, last: AuditEvent | None) -> Iterator[ChainProblem]:
    last_seq = last.seq if last else 0
    if head is None:
        if last is not None:
            yield ChainProblem(last_seq, "the chain head is missing")
        return
    if not hmac.compare_digest(head.mac, head_mac(head, _audit_key())):
        yield ChainProblem(head.last_seq, "the chain head is not signed with the audit key")
    if head.last_seq != last_seq:
        yield ChainProblem(head.last_seq, "rows at the end of the log are missing")
    elif last is not None and head.last_hash != last.hash:
        yield ChainProblem(head.last_seq, "the chain head does not match the last row")


def verify_chain(summary: list[ChainSummary] | None = None) -> Iterator[ChainProblem]:
    """Yield every broken link; an intact chain yields nothing.

    Pass a list as `summary` to receive the row counts and the head once the walk is done.
    """
    key = _audit_key()
    head = AuditHead.objects.filter(id=1).first()
    legacy_through = head.legacy_through if head else 0
    prev_hash, expected_seq, rows, legacy = GENESIS, 1, 0, 0
    last: AuditEvent | None = None
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            yield ChainProblem(expected_seq, f"rows {expected_seq}..{event.seq - 1} are missing")
        if event.prev_hash != prev_hash:
            yield ChainProblem(event.seq, "link to the previous row is broken")
        yield from _row_problems(event, legacy_through, key)
        rows, legacy = rows + 1, legacy + (event.chain_version == LEGACY)
        prev_hash, expected_seq, last = event.hash, event.seq + 1, event
    yield from _head_problems(head, last)
    if summary is not None:
        summary.append(
            ChainSummary(
                rows=rows,
                legacy=legacy,
                head_seq=head.last_seq if head else 0,
                head_hash=head.last_hash if head else GENESIS,
            )
        )
