"""Bulk insert that skips rows already there: COPY on PostgreSQL, the ORM elsewhere.

On PostgreSQL (psycopg 3) rows are COPYed into a temporary stage shaped like the table, then
moved with one `INSERT … SELECT … ON CONFLICT DO NOTHING`: an order of magnitude faster than
multi-row INSERTs, and a conflict (a row stored meanwhile) skips the row instead of failing the
batch. Other databases get `bulk_create(ignore_conflicts=True)`, which cannot say what it
skipped. Values are passed as they are stored (JSON already encoded by the caller).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction


def uses_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy")  # psycopg 3


def copy_insert(
    *,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    stage: str,
    returning: str | None = None,
) -> tuple[int, list[Any]]:
    """COPY `rows` (in `columns` order) into `table`, skipping conflicts; PostgreSQL only.
    Returns how many were inserted and, with `returning`, that column of each inserted row.
    The stage is private to the session and dropped when the transaction commits."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    target = quote(table)
    tail = f" RETURNING {quote(returning)}" if returning else ""
    if not connection.in_atomic_block:  # the stage lives until the commit: make there be one
        with transaction.atomic():
            return copy_insert(
                table=table, columns=columns, rows=rows, stage=stage, returning=returning
            )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "  # noqa: S608 - names
            f"SELECT {names} FROM {target} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} "  # noqa: S608
            f"ON CONFLICT DO NOTHING{tail}"
        )
        inserted = cursor.rowcount
        values = [r[0] for r in cursor.fetchall()] if returning else []
        cursor.execute(f"TRUNCATE {stage}")
    return int(inserted), values
