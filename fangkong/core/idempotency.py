"""Exactly-once uploads: the row that claims an idempotency key is inserted before any work.

A retry or a concurrent twin with the same key blocks on the unique index until the first
upload commits, then finds its row (and the stored answer on it) instead of working again.
The row keeps a hash of the body it was claimed for, so the same key with another body is a
client error (409), not a replay. Per-item answers are tallied the same way for every kind.

A batch kind is a model on `BatchRecord` (key, body hash, stored counts and per-item
exceptions) with a unique (owner, idempotency_key); `batch_once` claims, runs the work once,
stores the answer and replays it to every retry; `item_answers` spells the stored exceptions
out as one answer per item with the kind's messages. Shedding overload is the HTTP layer's
(`core.http.shed`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from fangkong.core.errors import Conflict

_M = TypeVar("_M", bound=models.Model)
_B = TypeVar("_B", bound="BatchRecord")


ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


def claim_key(
    model: type[_M], *, key: dict[str, Any], body_hash: str, fields: dict[str, Any]
) -> tuple[_M, bool]:
    """(row, True) when this call inserted the row for `key`, (existing row, False) when an
    earlier upload of the same body did; Conflict when the key was used for another body."""
    manager = model._default_manager
    try:
        with transaction.atomic():
            return manager.create(**key, body_hash=body_hash, **fields), True
    except IntegrityError:
        row = manager.get(**key)
    if getattr(row, "body_hash", None) != body_hash:
        raise Conflict(_("This Idempotency-Key was used for a different batch"))
    return row, False


def tally(size: int, exceptions: list[list[Any]]) -> dict[str, int]:
    """Counts of a batch of `size` items whose exceptions are [index, status, reason, …]."""
    counts = {ACCEPTED: size, DUPLICATE: 0, REJECTED: 0}
    for _index, status, *_rest in exceptions:
        counts[status] += 1
        counts[ACCEPTED] -= 1
    return counts


class BatchRecord(models.Model):
    """The stored side of one exactly-once upload; a kind adds its owner and uploader and the
    unique (owner, idempotency_key) constraint."""

    idempotency_key = models.CharField(max_length=128)
    body_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)
    # Only the items that were not accepted, as [index, status, reason, …]; the rest were.
    results = models.JSONField(default=list)

    class Meta:
        abstract = True


def body_digest(value: Any, *, ensure_ascii: bool = False) -> str:
    """SHA-256 of `value` as compact JSON: what a retry's body must match."""
    raw = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=ensure_ascii)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class BatchAnswer:
    batch_id: int
    replayed: bool
    counts: dict[str, int]  # accepted / duplicate / rejected, then the kind's own figures
    exceptions: list[list[Any]] = field(default_factory=list)


def batch_once(
    model: type[_B],
    *,
    key: dict[str, Any],
    body_hash: str,
    fields: dict[str, Any],
    size: int,
    work: Callable[[_B], tuple[list[list[Any]], dict[str, int]]],
) -> BatchAnswer:
    """Claim `key`, run `work(batch)` once (it returns the exceptions and any figures of its
    own to store beside the tally) and store the answer; a retry gets the stored answer."""
    with transaction.atomic():
        batch, created = claim_key(model, key=key, body_hash=body_hash, fields=fields)
        if not created:
            return BatchAnswer(batch.pk, True, batch.counts, batch.results)
        exceptions, extra = work(batch)
        counts = {**tally(size, exceptions), **extra}
        batch.counts, batch.results = counts, exceptions
        batch.save(update_fields=["counts", "results"])
    return BatchAnswer(batch.pk, False, counts, exceptions)


def item_answers(
    size: int,
    exceptions: list[list[Any]],
    messages: Mapping[str, str],
    extra: Callable[[int], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One answer per item, in order: status, reason and its message (empty when accepted),
    plus what `extra(index)` adds (the item's barcode, say)."""
    out = [
        {"index": i, **(extra(i) if extra else {}), "status": ACCEPTED, "reason": "", "message": ""}
        for i in range(size)
    ]
    for index, status, reason, *_rest in exceptions:
        out[index].update(status=status, reason=reason, message=messages.get(reason, ""))
    return out
