"""Lab results as an Excel sheet: parsed into the same items as the JSON upload and stored by
the same exactly-once ingest. The idempotency key is the hash of the file, so uploading the
same file twice (a double click, a retry after a timeout) answers the stored result.

The request only stores the file (`results_xlsx_submit`); the background worker parses and
ingests it (`results_xlsx_job`, a core file-job handler), so a hostile workbook costs the
worker, never a request thread.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from django.utils.translation import gettext as _

from fangkong.core.errors import Conflict
from fangkong.core.filejobs import JobFailed, file_job_create
from fangkong.core.models import FileJob, Institution, User
from fangkong.masstesting.lab.services import (
    MAX_ITEMS,
    REJECTED,
    ResultBatchAnswer,
    ResultIn,
    actor_lab,
    reason_messages,
    results_batch_ingest,
)
from fangkong.people.import_rows import cell_text
from fangkong.people.sheets import (
    Columns,
    TableError,
    check_workbook,
    errors_workbook,
    refuse_workbook_bomb,
)

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
JOB_KIND = "lab_results"
SUFFIXES = (".xlsx", ".xlsm")


def field_labels() -> dict[str, str]:
    return {"barcode": _("Tube barcode"), "result": _("Result"), "ct_value": _("Ct value")}


COLUMNS = Columns(HEADERS, required=("barcode", "result"), title=lambda name: field_labels()[name])


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
    items: list[ResultIn] = []
    rows = _rows(content)
    try:
        _header_row, columns = COLUMNS.find(rows)
    except TableError:
        # an empty sheet says so; a sheet without the columns names the missing ones
        if not any(True for _ in _rows(content)):
            raise TableError(_("The sheet is empty")) from None
        raise
    for number, row in rows:
        if not any(cell_text(v) for v in row):
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


def results_xlsx_submit(*, actor: User, filename: str, content: Any) -> FileJob:
    """Store a results sheet for the worker; the job's result is `results_xlsx_job`'s."""
    lab = actor_lab(actor)
    return file_job_create(
        actor=actor,
        kind=JOB_KIND,
        filename=filename,
        content=content,
        suffixes=SUFFIXES,
        max_bytes=MAX_FILE_BYTES,
        too_large=_("The file is larger than 10 MB"),
        params={"lab_id": lab.pk},
        institution=lab,
        check=refuse_workbook_bomb,
    )


def results_xlsx_job(*, job: FileJob, actor: User, path: Path) -> dict[str, Any]:
    """File-job handler: ingest the stored sheet as the uploader, for the lab named at upload
    (refused if the uploader no longer works there)."""
    lab = actor_lab(actor)
    if lab.pk != job.params.get("lab_id"):
        raise JobFailed(_("the uploader no longer works for this laboratory"))
    try:
        answer, errors = results_xlsx_ingest(actor=actor, lab=lab, content=path.read_bytes())
    except (TableError, Conflict) as exc:
        raise JobFailed(exc.message) from None
    return {
        "batch_id": answer.batch_id,
        "replayed": answer.replayed,
        "counts": answer.counts,
        "resolve": answer.resolve,
        "errors": [{"row": r, "field": f, "reason": m} for r, f, m in errors],
    }
