"""Append-only, hash-chained audit log.

Each row's hash covers its own fields and the previous row's hash, so editing a row breaks its
own hash and deleting one breaks the next row's link; `verify_chain` finds both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fangkong.core.models import AuditEvent, AuditHead, User

GENESIS = "0" * 64


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


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
    head, _ = AuditHead.objects.get_or_create(id=1)
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
    )
    event.hash = _digest(event.prev_hash, _fields(event))
    event.save(force_insert=True)
    head.last_seq, head.last_hash = event.seq, event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def verify_chain() -> Iterator[ChainProblem]:
    """Yield every broken link; an intact chain yields nothing."""
    prev_hash, expected_seq = GENESIS, 1
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            yield ChainProblem(expected_seq, f"rows {expected_seq}..{event.seq - 1} are missing")
        if event.prev_hash != prev_hash:
            yield ChainProblem(event.seq, "link to the previous row is broken")
        if _digest(event.prev_hash, _fields(event)) != event.hash:
            yield ChainProblem(event.seq, "row content does not match its hash (edited)")
        prev_hash, expected_seq = event.hash, event.seq + 1
    head = AuditHead.objects.filter(id=1).first()
    if head and head.last_seq != expected_seq - 1:
        yield ChainProblem(head.last_seq, "rows at the end of the log are missing")
