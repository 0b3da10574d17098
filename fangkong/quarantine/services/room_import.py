"""Rooms of a site from a spreadsheet (楼栋, 楼层, 房号, 走廊, 侧, 位置, 容量 and the three
attributes), read by the worker as a file job and added all or nothing: a room list is a
site's floor plan, and half a floor plan would mislead the allocator.

Errors carry the spreadsheet's own row numbers, so a site manager can fix the file and upload
it again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from fangkong.core.filejobs import file_job_create
from fangkong.core.models import FileJob, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.import_rows import cell_text
from fangkong.people.sheets import (
    HEADER_SCAN_ROWS,
    Columns,
    TableError,
    open_table,
    refuse_workbook_bomb,
)
from fangkong.quarantine.models import Site
from fangkong.quarantine.services.sites import RoomIn, RowError, room_errors, rooms_add

JOB_KIND = "quarantine_rooms"
SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_BYTES = 5 * 1024 * 1024

ROOM_COLUMNS_TITLES = {
    "building": ("楼栋", "楼号", "building"),
    "floor": ("楼层", "层", "floor"),
    "number": ("房号", "房间号", "room", "number"),
    "corridor": ("走廊", "通道", "corridor"),
    "side": ("侧", "朝向侧", "side"),
    "position": ("位置", "序号", "position"),
    "capacity": ("容量", "床位", "capacity"),
    "accessible": ("无障碍", "accessible"),
    "child_friendly": ("儿童友好", "亲子", "child-friendly", "child_friendly"),
    "negative_pressure": ("负压", "negative pressure", "negative_pressure"),
}
ROOM_COLUMNS = Columns(ROOM_COLUMNS_TITLES, required=("building", "floor", "number"))
YES = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
NO = {"", "否", "无", "n", "no", "false", "0"}


def _cell(row: Sequence[Any], header: dict[str, int], name: str) -> str:
    index = header.get(name)
    if index is None or index >= len(row):
        return ""
    return cell_text(row[index]).strip()


def _integer(text: str, line: int, name: str, errors: list[RowError]) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        errors.append(RowError(line, name, _("not a whole number: %(v)s") % {"v": text[:20]}))
        return None


def _flag(text: str, line: int, name: str, errors: list[RowError]) -> bool:
    value = text.lower()
    if value not in YES | NO:
        errors.append(RowError(line, name, _("write 是 or 否 (yes or no)")))
    return value in YES


def _room(row: Sequence[Any], header: dict[str, int], line: int, errors: list[RowError]) -> RoomIn:
    def text(name: str) -> str:
        return _cell(row, header, name)

    floor = _integer(text("floor"), line, "floor", errors)
    if floor is None and text("floor") == "":
        errors.append(RowError(line, "floor", _("a room needs its floor")))
    capacity = _integer(text("capacity"), line, "capacity", errors)
    return RoomIn(
        building=text("building"),
        floor=floor or 0,
        number=text("number"),
        corridor=text("corridor"),
        side=text("side").upper(),
        position=_integer(text("position"), line, "position", errors),
        capacity=1 if capacity is None else capacity,
        accessible=_flag(text("accessible"), line, "accessible", errors),
        child_friendly=_flag(text("child_friendly"), line, "child_friendly", errors),
        negative_pressure=_flag(text("negative_pressure"), line, "negative_pressure", errors),
    )


def _header(rows: Iterator[Sequence[Any]]) -> tuple[dict[str, int], Iterable[Sequence[Any]], int]:
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    try:
        header_row, columns = ROOM_COLUMNS.find(enumerate(head, start=1))
    except TableError as exc:
        raise FieldError("file", exc.message) from None
    return columns, itertools.chain(head[header_row:], rows), header_row + 1


def rooms_from_rows(
    *, actor: User, site: Site, rows: Iterable[Sequence[Any]]
) -> tuple[int, list[RowError]]:
    """Parse the rows and add the rooms (all or nothing); errors name spreadsheet rows."""
    header, body, first = _header(iter(rows))
    rooms: list[RoomIn] = []
    lines: list[int] = []
    errors: list[RowError] = []
    for line, row in enumerate(body, start=first):
        if not any(_cell(row, header, name) for name in header):
            continue  # blank line
        room = _room(row, header, line, errors)
        errors += room_errors(line, room)
        rooms.append(room)
        lines.append(line)
    if not rooms and not errors:
        raise FieldError("file", _("the list has no rooms"))
    if errors:
        return 0, errors
    created, found = rooms_add(actor=actor, site=site, rooms=rooms)
    # rooms_add counts rows from 1 in the order given; give them back their sheet lines
    return created, [RowError(lines[e.row - 1], e.field, e.reason) for e in found]


def rooms_import_submit(
    *, actor: User, site: Site, filename: str, content: bytes | IO[bytes] | Any
) -> FileJob:
    """Store a room list for the worker (`rooms_import_job`)."""
    authorize(actor, "quarantine.site.manage", region=site.region_path)
    return file_job_create(
        actor=actor,
        kind=JOB_KIND,
        filename=filename,
        content=content,
        suffixes=SUFFIXES,
        max_bytes=MAX_BYTES,
        too_large=_("the file is larger than 5 MB"),
        params={"site_id": site.pk},
        region_path=site.region_path,
        check=refuse_workbook_bomb,
    )


def rooms_import_job(*, job: FileJob, actor: User, path: Path) -> dict[str, Any]:
    """File-job handler: the rooms as the uploader, or every bad row and no room at all."""
    site = Site.objects.visible_to(actor).filter(pk=job.params.get("site_id")).first()
    if site is None:
        raise FieldError("site_id", _("unknown quarantine site or outside your jurisdiction"))
    try:
        with open_table(path, max_rows=settings.SYNC_IMPORT_MAX_ROWS) as (rows, _total):
            created, errors = rooms_from_rows(actor=actor, site=site, rows=rows)
    except TableError as exc:
        raise FieldError("file", exc.message) from None
    return {
        "site_id": site.pk,
        "created": created,
        "errors": [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors],
    }
