"""The weekly key-group bulletin as an xlsx workbook (一周一通报), and its audited export.

Sheet 1: the title (region and ISO week with its dates), a header row, one row per unit and key
group, a subtotal per key group and the grand total. Sheet 2: the members who missed their
tests, personal data masked exactly as on screen.
"""

from __future__ import annotations

import io

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.sheets import append_row
from fangkong.keygroups.selectors import (
    Compliance,
    ComplianceRow,
    group_label,
    weekly_compliance,
)

_TITLE = Font(name="SimHei", size=14, bold=True)
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DCE3EC")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F4F7")
_LOW_FONT = Font(color="B42318", bold=True)
_THIN = Side(style="thin", color="9AA4B2")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
LOW_COMPLIANCE = 90.0


def bulletin_title(c: Compliance) -> str:
    return _(
        "%(region)s key-group routine testing weekly bulletin, %(week)s (%(start)s to %(end)s)"
    ) % {
        "region": c.region_name,
        "week": c.label,
        "start": c.monday.isoformat(),
        "end": c.sunday.isoformat(),
    }


def _write_table(
    ws: Worksheet, header: list[str], rows: list[list[object]], widths: list[int]
) -> None:
    append_row(ws, header)
    head_row = ws.max_row
    for cell in ws[head_row]:
        cell.font, cell.fill, cell.border = _BOLD, _HEAD_FILL, _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        append_row(ws, row)
        for cell in ws[ws.max_row]:
            cell.border = _BOX
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = ws.cell(row=head_row + 1, column=1)


def _row(label: str, group: str, r: ComplianceRow) -> list[object]:
    # the exact share: the cell's 0.0% format rounds it for display
    return [
        label,
        group,
        r.members,
        r.tested,
        r.not_tested,
        r.tested / r.members if r.members else 1,
    ]


def bulletin_workbook(c: Compliance) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _("Compliance by unit")[:31]
    header = [
        _("Unit"),
        _("Key group"),
        _("Members"),
        _("Tested on time"),
        _("Not tested"),
        _("Compliance"),
    ]
    append_row(ws, [bulletin_title(c)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws["A1"].font, ws["A1"].alignment = _TITLE, Alignment(horizontal="center")
    append_row(ws, [_("Generated %(at)s") % {"at": f"{timezone.localtime():%Y-%m-%d %H:%M}"}])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(header))
    rows = [_row(r.unit_label, r.key_group_label, r) for r in c.rows]
    first_data = 4
    totals = [_row(_("Subtotal"), g.key_group_label, g) for g in c.by_group]
    totals.append(_row(_("Total"), "", c.total))
    _write_table(ws, header, rows + totals, [36, 18, 10, 14, 12, 12])
    for index in range(first_data, ws.max_row + 1):
        pct = ws.cell(row=index, column=6)
        pct.number_format = "0.0%"
        if isinstance(pct.value, float) and pct.value * 100 < LOW_COMPLIANCE:
            pct.font = _LOW_FONT
        if index >= first_data + len(rows):
            for cell in ws[index]:
                cell.font, cell.fill = _BOLD, _TOTAL_FILL
    _laggard_sheet(wb, c)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _laggard_sheet(wb: openpyxl.Workbook, c: Compliance) -> None:
    ws = wb.create_sheet(title=_("Not tested")[:31])
    append_row(ws, [_("Members who missed their tests, %(week)s") % {"week": c.label}])
    ws["A1"].font = _TITLE
    header = [
        _("Unit"),
        _("Key group"),
        pgettext("person", "Name"),
        _("ID number"),
        _("Phone"),
        _("Test every (days)"),
        _("Tests required"),
        _("Tests done"),
        _("Last test"),
    ]
    rows: list[list[object]] = [
        [
            lag.unit_label,
            group_label(lag.key_group),
            lag.name,
            lag.id_number,
            lag.phone,
            lag.every_days,
            lag.tests_required,
            lag.tests_in_window,
            lag.last_test.isoformat() if lag.last_test else _("Never"),
        ]
        for lag in c.laggards
    ]
    _write_table(ws, header, rows, [30, 16, 10, 22, 16, 12, 12, 10, 12])


def bulletin_export(
    *, actor: User, year: int, week: int, region: Region | None = None
) -> tuple[str, bytes]:
    """The workbook and its file name; every export writes an audit row (it lists people)."""
    c = weekly_compliance(actor=actor, year=year, week=week, region=region)
    data = bulletin_workbook(c)
    audit_record(
        actor=actor,
        action="keygroup_bulletin.export",
        object_type="region",
        object_id=region.code if region else "",
        details={"week": c.label, "members": c.total.members, "not_tested": len(c.laggards)},
    )
    return f"keygroup-bulletin-{c.label}.xlsx", data
