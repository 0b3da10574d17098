"""Writing spreadsheet cells that can never be read as formulas (CSV / formula injection).

Names, addresses and notes in our exports come from the public (self-declarations) and from
other jurisdictions' lists. A cell such as `=HYPERLINK("http://x","y")` or `@SUM(...)` must
reach the reader as the text it is, never as a formula that runs when the file is opened.

Per format:

- xlsx: openpyxl stores any str starting with "=" as a formula (<f>); every other str is
  already text. We write a risky str as an inline string (data_type "s", so no <f> element and
  the value is byte-for-byte what was entered, which our own importers read back unchanged)
  and set the cell's quotePrefix style, so that Excel/WPS also keep it text when a user edits
  the cell (F2, Enter) rather than re-parsing it as a formula.
- csv: there are no types, the spreadsheet program parses every field, so the only defence is
  to change the value: a leading apostrophe, which Excel and LibreOffice take as "text" and
  do not show (OWASP's recommendation). Use `csv_cell` for every field of a CSV export.

Every workbook row in fangkong goes through `append_row` (tests/system/test_sheet_injection.py
checks that no module calls `ws.append` or `csv.writer` itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell

# What spreadsheet programs take as the start of a formula (or, for tab/CR, what shifts the
# following text into a formula position in some importers).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_risky(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_cell(ws: Any, value: Any) -> Any:
    """`value` for `ws.append`: unchanged when harmless, else a text cell of the same text."""
    if not is_risky(value):
        return value
    cell = WriteOnlyCell(ws)
    cell.value = value
    cell.data_type = "s"  # after the value: openpyxl binds "=..." as a formula
    cell.quotePrefix = True
    return cell


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """Append one row to a worksheet (normal or write-only), every str written as text."""
    ws.append([safe_cell(ws, v) for v in values])


def csv_cell(value: Any) -> Any:
    """A CSV field that no spreadsheet program evaluates: a risky str gets a leading "'"."""
    return "'" + value if is_risky(value) else value
