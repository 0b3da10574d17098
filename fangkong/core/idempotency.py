"""Exactly-once uploads: the row that claims an idempotency key is inserted before any work.

A retry or a concurrent twin with the same key blocks on the unique index until the first
upload commits, then finds its row (and the stored answer on it) instead of working again.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

_M = TypeVar("_M", bound=models.Model)


def claim_key(model: type[_M], *, key: dict[str, Any], fields: dict[str, Any]) -> tuple[_M, bool]:
    """(row, True) when this call inserted the row for `key`, (existing row, False) otherwise."""
    manager = model._default_manager
    try:
        with transaction.atomic():
            return manager.create(**key, **fields), True
    except IntegrityError:
        return manager.get(**key), False
