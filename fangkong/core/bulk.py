"""Bulk writes: insert that skips rows already there (COPY on PostgreSQL, the ORM elsewhere),
and column updates of many rows by id (one UPDATE … FROM unnest on PostgreSQL).

On PostgreSQL (psycopg 3) rows are COPYed into a temporary stage shaped like the table, then
moved with one `INSERT … SELECT … ON CONFLICT DO NOTHING`: an order of magnitude faster than
multi-row INSERTs, and a conflict (a row stored meanwhile) skips the row instead of failing the
batch. Other databases get `bulk_create(ignore_conflicts=True)`, which cannot say what it
skipped. Values are passed as they are stored (JSON already encoded by the caller).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction


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


def update_columns(
    model: type[models.Model], ids: Sequence[int], columns: dict[str, tuple[str, Sequence[Any]]]
) -> None:
    """Set, for each row `ids[i]`, every column `name` to `values[i]`, where `columns` maps
    a column (attname) to (its PostgreSQL type, values). bulk_update's CASE per row and field
    costs more than the work itself; unnest sends one array per column as one parameter."""
    if not ids:
        return
    if connection.vendor != "postgresql":
        names = list(columns)
        rows = [
            model(pk=pk, **{name: columns[name][1][i] for name in names})
            for i, pk in enumerate(ids)
        ]
        model._default_manager.bulk_update(rows, names, batch_size=1000)
        return
    quote = connection.ops.quote_name
    aliases = [f"c{i}" for i in range(len(columns))]
    sets = ", ".join(f"{quote(name)} = v.{a}" for name, a in zip(columns, aliases, strict=True))
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{kind}[]" for kind, _v in columns.values())])
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {sets} "  # noqa: S608
        f"FROM unnest({arrays}) AS v(id, {', '.join(aliases)}) WHERE t.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(ids), *(list(values) for _k, values in columns.values())])
