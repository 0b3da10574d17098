"""Exactly-once uploads: the row that claims an idempotency key is inserted before any work.

A retry or a concurrent twin with the same key blocks on the unique index until the first
upload commits, then finds its row (and the stored answer on it) instead of working again.
The row keeps a hash of the body it was claimed for, so the same key with another body is a
client error (409), not a replay. Per-item answers are tallied the same way for every kind.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from fangkong.core.errors import Conflict

_M = TypeVar("_M", bound=models.Model)


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
