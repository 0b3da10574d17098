"""Insert many persons at once, skipping any whose document is already registered.

Rows travel as plain column values (`person_values`), so they can be produced in worker
processes. PostgreSQL takes them by COPY into a session-local staging table and then one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING`: no per-field preparation by Django and no
per-parameter binding by psycopg, which together were about a fifth of a 100,000-row import
(bench/import.py). Other databases get `bulk_create(ignore_conflicts=True)`. Either way rows
that lost a race against a concurrent import are not inserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import models
from django.utils import timezone

from fangkong.core.bulk import copy_insert, uses_copy
from fangkong.people.models import Person

STAGE = "fangkong_person_import_stage"
INSERT_BATCH = 1000  # rows per INSERT on the portable path; far below parameter limits


def _fields() -> list[models.Field[Any, Any]]:
    return [f for f in Person._meta.concrete_fields if not f.primary_key]


COLUMNS: list[str] = [f.attname for f in _fields()]


def person_values(person: Person) -> list[Any]:
    """The unsaved person's column values in COLUMNS order: str, int, date, list or None."""
    return [getattr(person, name) for name in COLUMNS]


def _timestamps() -> set[int]:
    return {
        i
        for i, f in enumerate(_fields())
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add)
    }


def _encoded(rows: Sequence[list[Any]]) -> Iterator[list[Any]]:
    """Rows as COPY takes them: JSON encoded, creation and change stamps set to now."""
    jsons = [i for i, f in enumerate(_fields()) if isinstance(f, models.JSONField)]
    stamps, now = _timestamps(), timezone.now()
    for values in rows:
        row = list(values)
        for i in jsons:
            row[i] = json.dumps(row[i])
        for i in stamps:
            row[i] = now
        yield row


def person_insert_values(rows: Sequence[list[Any]]) -> int | None:
    """Insert, skipping documents already registered; the count inserted, or None if unknown.

    Call inside a transaction. The portable path cannot count what it skipped (None).
    """
    if not rows:
        return 0
    if uses_copy():
        columns = [f.column for f in _fields()]
        table = Person._meta.db_table
        inserted, _ = copy_insert(table=table, columns=columns, rows=_encoded(rows), stage=STAGE)
        return inserted
    persons = [Person(**dict(zip(COLUMNS, values, strict=True))) for values in rows]
    Person.objects.bulk_create(persons, batch_size=INSERT_BATCH, ignore_conflicts=True)
    return None
