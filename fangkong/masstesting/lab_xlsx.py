"""Lab results as an Excel sheet: parsed into the same items as the JSON upload and stored by
the same exactly-once ingest. The idempotency key is the hash of the file, so uploading the
same file twice (a double click, a retry after a timeout) answers the stored result.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import openpyxl
from django.utils.translation import gettext as _

from fangkong.core.models import Institution, User
from fangkong.masstesting.lab import (
    MAX_ITEMS,
    REJECTED,
    ResultBatchAnswer,
    ResultIn,
    reason_messages,
    results_batch_ingest,
)
from fangkong.people.import_rows import cell_text
from fangkong.people.sheets import TableError, check_workbook, errors_workbook

HEADERS: dict[str, tuple[str, ...]] = {
    "barcode": ("试管条码", "条码", "试管编号", "barcode", "tube barcode", "tube_barcode"),
    "result": ("结果", "检测结果", "result"),
    "ct_value": ("ct值", "ct", "ct_value", "ct value"),
}
# Which column a rejected item's reason is about.
REASON_FIELD = {
    "malformed": "barcode",
    "unknown_tube": "barcode",
    "bad_result": "result",
    "conflicting_result": "result",
    "bad_ct": "ct_value",
}
MAX_FILE_BYTES = 10 * 1024 * 1024


def field_labels() -> dict[str, str]:
    return {"barcode": _("Tube barcode"), "result": _("Result"), "ct_value": _("Ct value")}


def _columns(header: Sequence[Any]) -> dict[str, int]:
    names = [cell_text(h).lower() for h in header]
    found = {}
    for key, aliases in HEADERS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[key] = i
                break
    missing = [field_labels()[k] for k in ("barcode", "result") if k not in found]
    if missing:
        raise TableError(
            _("The first row must name the columns; missing: %(cols)s")
            % {"cols": ", ".join(missing)}
        )
    return found


def _rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    check_workbook(io.BytesIO(content))
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise TableError(_("the file cannot be read as an Excel workbook")) from None
    try:
        ws = wb.active or wb.worksheets[0]
        yield from enumerate(ws.iter_rows(values_only=True), start=1)
    finally:
        wb.close()


def _cell(row: Sequence[Any], columns: dict[str, int], key: str) -> Any:
    i = columns.get(key)
    return row[i] if i is not None and i < len(row) else None


def results_xlsx_parse(content: bytes) -> list[ResultIn]:
    """Items of the sheet, each carrying its row number; blank rows are skipped."""
    if len(content) > MAX_FILE_BYTES:
        raise TableError(_("The file is larger than 10 MB"))
    columns: dict[str, int] | None = None
    items: list[ResultIn] = []
    for number, row in _rows(content):
        if not any(cell_text(v) for v in row):
            continue
        if columns is None:
            columns = _columns(row)
            continue
        items.append(
            ResultIn(
                barcode=cell_text(_cell(row, columns, "barcode")),
                result=cell_text(_cell(row, columns, "result")),
                ct_value=_cell(row, columns, "ct_value"),
                row=number,
            )
        )
        if len(items) > MAX_ITEMS:
            raise TableError(_("At most %(n)d results per file") % {"n": MAX_ITEMS})
    if columns is None:
        raise TableError(_("The sheet is empty"))
    return items


def results_xlsx_ingest(
    *, actor: User, lab: Institution, content: bytes
) -> tuple[ResultBatchAnswer, list[tuple[int | None, str, str]]]:
    """Parse and ingest a results sheet; the answer and its row errors (row, field, reason)."""
    items = results_xlsx_parse(content)
    key = "xlsx:" + hashlib.sha256(content).hexdigest()
    answer = results_batch_ingest(actor=actor, lab=lab, idempotency_key=key, items=items)
    return answer, row_errors(answer.exceptions)


def row_errors(exceptions: list[list[Any]]) -> list[tuple[int | None, str, str]]:
    """The rejected items of a stored batch as (row, field label, reason) lines."""
    messages, labels = reason_messages(), field_labels()
    out = []
    for index, status, reason, *rest in exceptions:
        if status != REJECTED:
            continue
        row = rest[0] if rest and rest[0] is not None else index + 1
        out.append((row, labels[REASON_FIELD.get(reason, "barcode")], messages.get(reason, "")))
    return out


def row_errors_workbook(exceptions: list[list[Any]]) -> bytes:
    return errors_workbook(row_errors(exceptions))
