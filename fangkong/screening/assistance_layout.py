"""The column layout of an assistance-request list (协查名单), in one place.

Importing a list from another jurisdiction and exporting ours to them use the same layout, so
the receiving side can load what we send with the same importer:

    from fangkong.screening.assistance_layout import layout_workbook
    data = layout_workbook([{"name": ..., "id_number": ..., "town": ...}, ...])

Headers are read in Chinese or English, with common variants (see HEADER_ALIASES).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import openpyxl
from django.utils.translation import gettext_lazy

from fangkong.core.sheets import append_row
from fangkong.people.sheets import Columns

# (field, Chinese header, English header), in the order written on export
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "姓名", "Name"),
    ("id_number", "证件号码", "ID number"),
    ("phone", "手机号", "Phone"),
    ("address", "现住址", "Current address"),
    ("district", "所属区县", "District"),
    ("town", "所属街道", "Town"),
    ("community", "所属社区", "Community"),
    ("risk_type", "风险类型", "Risk type"),
    ("note", "备注", "Note"),
)
FIELDS: tuple[str, ...] = tuple(c[0] for c in COLUMNS)
REQUIRED = ("name", "id_number")

FIELD_LABELS = {
    "file": gettext_lazy("file"),
    "name": gettext_lazy("name"),
    "id_type": gettext_lazy("ID type"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("phone"),
    "address": gettext_lazy("address"),
    "district": gettext_lazy("district"),
    "town": gettext_lazy("town"),
    "community": gettext_lazy("community"),
    "risk_type": gettext_lazy("risk type"),
    "note": gettext_lazy("note"),
}

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name"),
    "id_type": ("证件类型", "id type"),
    "id_number": (
        "证件号码",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "证件号",
        "id number",
        "id no",
    ),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "phone", "mobile"),
    "address": ("现住址", "现居住地址", "居住地址", "住址", "address", "current address"),
    "district": ("所属区县", "区县", "所属区", "district", "county"),
    "town": ("所属街道", "所属乡镇", "所属乡镇街道", "街道", "乡镇", "town", "street"),
    "community": ("所属社区", "所属村社区", "社区", "村社区", "community", "village"),
    "risk_type": ("风险类型", "人员类型", "人员类别", "risk type"),
    "note": ("备注", "note", "remarks"),
}
HEADER = Columns(HEADER_ALIASES, required=REQUIRED, title=lambda name: field_label(name))


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def map_header(values: Sequence[Any]) -> dict[str, int]:
    """Column index of each known field in a header row (first occurrence wins)."""
    return HEADER.map(values)


def layout_workbook(
    rows: Iterable[Mapping[str, Any]], *, english_headers: bool = False, title: str = "协查名单"
) -> bytes:
    """An xlsx in this layout: one header row, then one row per person (missing keys empty).

    ID and phone numbers are written as text so spreadsheet programs keep every digit.
    """
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    append_row(ws, [en if english_headers else zh for _f, zh, en in COLUMNS])
    for row in rows:
        append_row(ws, [_text(row.get(name)) for name in FIELDS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _text(value: Any) -> Any:
    if value is None:
        return ""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
