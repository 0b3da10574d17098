"""Streaming readers for uploaded tables: xlsx (openpyxl, read-only) and csv.

openpyxl opens the workbook in read-only mode and supplies what it is good at: the package
structure, the active sheet, the shared-string table, date styles and the epoch. The cells of
the sheet are then decoded by a lean loop over the same XML stream, because openpyxl's own
per-cell parser (a descriptor object per inline string) was most of the import's time: about
4-5x slower on a 100,000-row list (see bench/import.py). The loop yields exactly what
`ws.iter_rows(values_only=True)` yields (tests/people/test_import.py compares them); if openpyxl's
internals ever move, it falls back to `iter_rows`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import openpyxl
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse  # openpyxl's own parser (defusedxml if present)

from fangkong.core.sheets import append_row
from fangkong.core.validators import FieldError

XLSX_SUFFIXES = (".xlsx", ".xlsm")

_NS = f"{{{SHEET_MAIN_NS}}}"
_ROW, _CELL, _VALUE = _NS + "row", _NS + "c", _NS + "v"
_INLINE, _TEXT, _RUN = _NS + "is", _NS + "t", _NS + "r"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


_HEADER_NOISE = re.compile(r"\(.*?\)|\[.*?\]|[\s*:_\-./#]")
HEADER_SCAN_ROWS = 10


def norm_header(text: str) -> str:
    """Fold full-width forms, case, spaces and decoration (`*姓名：`, `手机号（必填）`)."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


# A required column is a field, or a tuple of fields any one of which will do.
Required = Sequence[str | tuple[str, ...]]


class Columns:
    """The columns one kind of list may have, written once for every import: each field with
    the titles it goes by (synonyms, folded by `norm_header`, so `*姓名：` and `姓名（必填）`
    match `姓名`), the fields a header must name, and how to name a missing one.

    `find` reads rows until the header: the first row, among the first ten, that names every
    required column; what is above it (a merged title row, a note) is skipped."""

    def __init__(
        self,
        aliases: Mapping[str, Iterable[str]],
        *,
        required: Required,
        title: Callable[[str], str] | None = None,
    ) -> None:
        self.map_ = {
            norm_header(str(alias)): name
            for name, names in aliases.items()
            for alias in (*names, name)
        }
        self.required = required
        self.title = title or (lambda name: next(iter(aliases.get(name, ())), name))

    def map(self, values: Sequence[Any]) -> dict[str, int]:
        """Column index of each known field in a row (the first occurrence wins)."""
        columns: dict[str, int] = {}
        for idx, value in enumerate(values):
            name = self.map_.get(norm_header(cell_text(value))) if value is not None else None
            if name and name not in columns:
                columns[name] = idx
        return columns

    def missing(self, columns: Mapping[str, int], required: Required | None = None) -> list[str]:
        out = []
        for need in self.required if required is None else required:
            options = (need,) if isinstance(need, str) else need
            if not any(o in columns for o in options):
                out.append(" / ".join(self.title(o) for o in options))
        return out

    def find(
        self, numbered: Iterator[tuple[int, Sequence[Any]]], *, required: Required | None = None
    ) -> tuple[int, dict[str, int]]:
        """(row number, columns) of the header, consuming the rows up to it; TableError
        naming the missing columns of the best candidate when there is none."""
        best: dict[str, int] = {}
        for row_no, values in numbered:
            columns = self.map(values)
            if not self.missing(columns, required):
                return row_no, columns
            best = columns if len(columns) > len(best) else best
            if row_no >= HEADER_SCAN_ROWS:
                break
        names = "、".join(self.missing(best, required))
        raise TableError(_("missing required column: %(columns)s") % {"columns": names})


class TableError(Exception):
    """The file as a whole cannot be read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkbookTooLarge(TableError):
    """The workbook would unpack past the configured limit."""


# ---------------------------------------------------------------- xlsx


_COLUMNS: dict[str, int] = {}


def _column(ref: str) -> int:
    """0-based column of a cell reference such as "AB12"."""
    letters = ref.rstrip("0123456789")
    found = _COLUMNS.get(letters)
    if found is None:
        found = 0
        for ch in letters:
            found = found * 26 + ord(ch) - 64
        found = _COLUMNS[letters] = found - 1
    return found


def _inline_text(cell: Any) -> str | None:
    node = cell.find(_INLINE)
    if node is None:
        return None
    # plain text plus rich-text runs, leaving out phonetic guides (<rPh>), as openpyxl does
    plain = node.findtext(_TEXT) or ""
    return plain + "".join(run.findtext(_TEXT) or "" for run in node.findall(_RUN))


class _CellDecoder:
    def __init__(self, wb: Any, ws: Any) -> None:
        self.shared: Sequence[Any] = ws._shared_strings
        self.dates: dict[int, Any] = wb._date_formats
        self.durations: dict[int, Any] = wb._timedelta_formats
        self.epoch = wb.epoch

    def value(self, cell: Any) -> Any:
        kind = cell.get("t", "n")
        if kind == "s":
            raw = cell.findtext(_VALUE)
            return self.shared[int(raw)] if raw is not None else None
        if kind == "inlineStr":
            return _inline_text(cell)
        raw = cell.findtext(_VALUE) or None
        if raw is None:
            return None
        if kind == "n":
            number: int | float = (
                float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
            )
            style = cell.get("s")
            if style and int(style) in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=int(style) in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # "str" (a formula's cached text) and "e" (an error such as #N/A)


def _xlsx_rows(wb: Any, ws: Any) -> Iterator[tuple[Any, ...]]:
    """Rows from row 1, a gap in the XML yielding empty rows, like ws.iter_rows(values_only)."""
    decoder = _CellDecoder(wb, ws)
    with wb._archive.open(ws._worksheet_path) as src:
        expected = 1
        for _event, element in iterparse(src):
            if element.tag != _ROW:
                continue
            number = element.get("r")
            index = int(number) if number else expected
            while expected < index:
                expected += 1
                yield ()
            values: list[Any] = []
            for cell in element:
                if cell.tag != _CELL:
                    continue
                ref = cell.get("r")
                col = _column(ref) if ref else len(values)
                if col > len(values):
                    values.extend([None] * (col - len(values)))
                values.append(decoder.value(cell))
            expected = index + 1
            element.clear()
            yield tuple(values)


def _lean_reader_available(wb: Any, ws: Any) -> bool:
    needed = (
        (wb, "_archive"),
        (wb, "_date_formats"),
        (wb, "_timedelta_formats"),
        (ws, "_worksheet_path"),
        (ws, "_shared_strings"),
    )
    return all(hasattr(obj, name) for obj, name in needed)


def _xlsx_row_count(ws: Any, archive: zipfile.ZipFile | None) -> int:
    """Rows in the sheet: the declared dimension, or a byte scan when a writer left it out."""
    if ws.max_row and ws.max_row > 1:
        return int(ws.max_row)
    sheet_path = getattr(ws, "_worksheet_path", None)
    if archive is None or not sheet_path:
        return 0
    count, tail = 0, b""
    with archive.open(sheet_path) as src:
        while block := src.read(1 << 20):
            data = tail + block
            # keep a short tail so a tag split across two blocks is counted once, in the next
            cut = max(len(data) - 16, 0)
            count += len(_ROW_TAG.findall(data)) - len(_ROW_TAG.findall(data[cut:]))
            tail = data[cut:]
    return count + len(_ROW_TAG.findall(tail))


def check_workbook(source: Path | IO[bytes]) -> None:
    """Refuse a workbook that unpacks to more than UPLOAD_MAX_UNZIPPED_BYTES, before opening it.

    The members' declared sizes are summed from the zip directory without inflating anything.
    The declaration cannot be used to lie past the check: zipfile stops inflating a member at
    its declared size (and then fails its CRC), so a zip bomb is refused here or not at all.
    """
    limit = int(getattr(settings, "UPLOAD_MAX_UNZIPPED_BYTES", 200 * 1024 * 1024))
    try:
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TableError(_("the file cannot be read as an Excel workbook")) from None
    finally:
        if not isinstance(source, Path):
            source.seek(0)
    if unpacked > limit:
        raise WorkbookTooLarge(
            _("the workbook unpacks to more than %(mb)d MB; split it into smaller files")
            % {"mb": limit // (1024 * 1024)}
        )


def refuse_workbook_bomb(path: Path) -> None:
    """For a stored upload before its job is queued: a zip bomb is refused now, as a field
    error, not by the worker running dry; any other unreadable file fails its job later with
    the reason. CSV has no compression to check."""
    if path.suffix.lower() not in XLSX_SUFFIXES:
        return
    try:
        check_workbook(path)
    except WorkbookTooLarge as exc:
        raise FieldError("file", exc.message) from None
    except TableError:
        pass


def too_many_rows(limit: int) -> TableError:
    return TableError(_("the list has more than %(n)s rows") % {"n": f"{limit:,}"})


def _capped(rows: Iterable[Sequence[Any]], max_rows: int | None) -> Iterator[Sequence[Any]]:
    """The rows, failing past `max_rows`: a declared sheet size can be a lie."""
    try:
        for number, row in enumerate(rows, start=1):
            if max_rows is not None and number > max_rows:
                raise too_many_rows(max_rows)
            yield row
    except csv.Error as exc:
        raise TableError(_("the CSV file cannot be read: %(why)s") % {"why": exc}) from None


@contextmanager
def _open_xlsx(path: Path, *, lean: bool) -> Iterator[tuple[Iterator[Sequence[Any]], int]]:
    check_workbook(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise TableError(_("the file cannot be read as an Excel workbook")) from None
    try:
        ws = wb.active or wb.worksheets[0]
        total = _xlsx_row_count(ws, getattr(wb, "_archive", None))
        # Iterate to the real end: a wrong declared dimension would silently cut rows off.
        ws.reset_dimensions()  # type: ignore[union-attr]
        if lean and _lean_reader_available(wb, ws):
            yield _xlsx_rows(wb, ws), total
        else:
            yield ws.iter_rows(values_only=True), total
    finally:
        wb.close()


# ---------------------------------------------------------------- csv


def _delimiter(first_line: str) -> str:
    return "\t" if "\t" in first_line and "," not in first_line else ","


def _csv_scan(path: Path) -> tuple[str, str, int]:
    """(encoding, delimiter, rows), in one streaming pass per candidate encoding.

    utf-8-sig also accepts plain UTF-8; Excel on Chinese Windows saves GB18030 (GBK). An
    encoding is only trusted once every byte decoded, so the file is read to its end here,
    counting rows on the way, and read again (streaming) for the import itself.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=encoding, newline="") as text:
                delimiter = _delimiter(text.readline())
                text.seek(0)
                return encoding, delimiter, sum(1 for _row in csv.reader(text, delimiter=delimiter))
        except UnicodeDecodeError:
            continue
        except csv.Error as exc:
            raise TableError(_("the CSV file cannot be read: %(why)s") % {"why": exc}) from None
    raise TableError(_("the CSV file is neither UTF-8 nor GB18030 text"))


@contextmanager
def _open_csv(path: Path) -> Iterator[tuple[Iterator[Sequence[Any]], int]]:
    encoding, delimiter, total = _csv_scan(path)
    with path.open(encoding=encoding, newline="") as text:
        yield csv.reader(text, delimiter=delimiter), total


@contextmanager
def open_table(
    path: Path, *, lean: bool = True, max_rows: int | None = None
) -> Iterator[tuple[Iterator[Sequence[Any]], int]]:
    """Yield the rows (from row 1) of the active sheet or of the CSV, and the row count.

    Neither format is read whole into memory. `max_rows` (the sheet's rows, header and blank
    lines included) is checked against the count before the first row is yielded, and again
    while reading.
    """
    xlsx = path.suffix.lower() in XLSX_SUFFIXES
    with _open_xlsx(path, lean=lean) if xlsx else _open_csv(path) as (rows, total):
        if max_rows is not None and total > max_rows:
            raise too_many_rows(max_rows)
        yield _capped(rows, max_rows), total


def errors_workbook(rows: Iterable[tuple[int | None, str, str]]) -> bytes:
    """A row-level error report: row, field label, reason per line (never the bad value)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Errors")[:31])
    append_row(ws, [_("Row"), _("Field"), _("Reason")])
    for row in rows:
        append_row(ws, row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
