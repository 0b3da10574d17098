"""Versioned rows with history, written once for every model that keeps one (risk areas,
zones; quarantine site states and report templates will follow).

Nothing is overwritten: a row is valid from `valid_from` until `valid_to` (open when null). A
revision closes the current row where the new one takes effect and inserts the new row with
`previous` pointing back, so "what was in force at time t" is a plain range query and the
history is a chain. Closing ends the current row. Both lock the row, refuse a row that was
already revised (the caller is looking at a stale version), and write one audit row with the
same details shape: the version's own details, plus `previous` on a revision.

A model qualifies by having `valid_from`, `valid_to` (nullable) and a one-to-one `previous`
to itself; the caller authorizes, validates the new data, and builds the new row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.validators import FieldError

V = TypeVar("V", bound=models.Model)


@dataclass(frozen=True)
class Versions(Generic[V]):
    """How one model keeps versions: its audit name and details, and its refusal texts."""

    model: type[V]
    object_type: str  # audit object type; actions are "<object_type>.create|revise|close"
    details: Callable[[V], dict[str, Any]]
    # refusals in the model's own words (lazy texts): revised by someone else, over before the
    # revision starts, closed twice
    already_revised: Any
    already_over: Any
    already_closed: Any

    def _audit(self, actor: User, verb: str, row: V, extra: dict[str, Any]) -> None:
        audit_record(
            actor=actor,
            action=f"{self.object_type}.{verb}",
            object_type=self.object_type,
            object_id=row.pk,
            details={**extra, **self.details(row)},
        )

    def _lock_latest(self, row: V) -> V:
        manager = self.model._default_manager
        locked = manager.select_for_update().get(pk=row.pk)
        if manager.filter(previous=locked).exists():
            raise Conflict(str(self.already_revised))
        return locked

    def created(self, *, actor: User, row: V) -> V:
        """Audit the first version of a row the caller has just inserted."""
        self._audit(actor, "create", row, {})
        return row

    def revise(
        self, *, actor: User, row: V, valid_from: dt.datetime, insert: Callable[[V], V]
    ) -> V:
        """Close `row` at `valid_from` and insert its successor with `insert(closed_row)`."""
        current: Any = self._lock_latest(row)
        if valid_from <= current.valid_from:
            raise FieldError("valid_from", _("a revision must start after the version it replaces"))
        if current.valid_to is not None and current.valid_to < valid_from:
            raise FieldError("valid_from", str(self.already_over))
        current.valid_to = valid_from
        current.save(update_fields=["valid_to"])
        new = insert(current)
        self._audit(actor, "revise", new, {"previous": current.pk})
        return new

    def close(self, *, actor: User, row: V, at: dt.datetime | None = None) -> V:
        """End `row` at `at` (default now)."""
        current: Any = self._lock_latest(row)
        at = at or timezone.now()
        if current.valid_to is not None and current.valid_to <= at:
            raise Conflict(str(self.already_closed))
        if at <= current.valid_from:
            raise FieldError("at", _("the end must be after the start"))
        current.valid_to = at
        current.save(update_fields=["valid_to"])
        self._audit(actor, "close", current, {})
        return current
