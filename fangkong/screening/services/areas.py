"""Writes for risk areas elsewhere and zones inside our jurisdiction, and the risk-area list
import. Nothing is overwritten: a revision closes the current row and opens a new one."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.filejobs import copy_upload, file_job_create
from fangkong.core.models import FileJob, Region, RegionLevel, User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.core.versioned import Versions
from fangkong.people.import_rows import cell_text, norm_header
from fangkong.people.sheets import Columns, TableError, open_table, refuse_workbook_bomb
from fangkong.screening.models import RiskArea, RiskAreaKind, RiskLevel, Zone, ZoneKind
from fangkong.screening.services.arrivals import division_code as clean_division_code

MAX_IMPORT_BYTES = 20 * 1024 * 1024
IMPORT_SUFFIXES = (".xlsx", ".xlsm", ".csv")
JOB_KIND = "risk_areas"


def may_write_areas(actor: User) -> bool:
    """Whether the actor may change risk areas (the page shows the editing controls)."""
    return allowed(actor, "risk_area.change", region=getattr(actor, "region", None))


def _area_writer(actor: User) -> None:
    # Risk areas classify every district's arrivals: the table grants them city-wide only.
    authorize(actor, "risk_area.change", region=actor.region)


def _check_period(valid_from: dt.datetime, valid_to: dt.datetime | None) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise FieldError("valid_to", _("the end must be after the start"))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


# ---------------------------------------------------------------- risk areas


@dataclass
class AreaData:
    name: str
    division_code: str
    level: str
    kind: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    source: str


def risk_area_validate(
    *,
    name: str,
    division_code: str = "",
    level: str,
    kind: str = RiskAreaKind.AREA,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    source: str = "",
) -> AreaData:
    code = clean_division_code(division_code, field_name="division_code")
    name = (name or "").strip()[:200] or code
    if not name:
        raise FieldError("name", _("give the place name or its division code"))
    if level not in RiskLevel.values:
        raise FieldError("level", _("unknown risk level"))
    if kind not in RiskAreaKind.values:
        raise FieldError("kind", _("unknown kind"))
    start = _aware(valid_from) or timezone.now()
    end = _aware(valid_to)
    _check_period(start, end)
    return AreaData(name, code, level, kind, start, end, (source or "").strip()[:255])


def _area_details(area: RiskArea) -> dict[str, Any]:
    return {
        "code": area.division_code,
        "name": area.name,
        "level": area.level,
        "kind": area.kind,
        "valid_from": area.valid_from.isoformat(),
        "valid_to": area.valid_to.isoformat() if area.valid_to else None,
    }


def _new_area(data: AreaData, *, actor: User, previous: RiskArea | None) -> RiskArea:
    area = RiskArea(
        division_code=data.division_code,
        name=data.name,
        level=data.level,
        kind=data.kind,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source=data.source,
        previous=previous,
        created_by=actor,
    )
    area.save(force_insert=True)
    return area


AREA_VERSIONS = Versions(
    RiskArea,
    "risk_area",
    _area_details,
    already_revised=gettext_lazy("this risk area was already revised; open its latest version"),
    already_over=gettext_lazy("this risk area had already ended; add a new one"),
    already_closed=gettext_lazy("this risk area has already ended"),
)


@transaction.atomic
def risk_area_create(*, actor: User, data: AreaData) -> RiskArea:
    _area_writer(actor)
    return AREA_VERSIONS.created(actor=actor, row=_new_area(data, actor=actor, previous=None))


@transaction.atomic
def risk_area_revise(*, actor: User, area: RiskArea, data: AreaData) -> RiskArea:
    """Close `area` where the revision takes effect (`data.valid_from`) and open the new row."""
    _area_writer(actor)
    return AREA_VERSIONS.revise(
        actor=actor,
        row=area,
        valid_from=data.valid_from,
        insert=lambda old: _new_area(data, actor=actor, previous=old),
    )


@transaction.atomic
def risk_area_close(*, actor: User, area: RiskArea, at: dt.datetime | None = None) -> RiskArea:
    """End a risk area (its level is lifted) at `at`, by default now."""
    _area_writer(actor)
    return AREA_VERSIONS.close(actor=actor, row=area, at=_aware(at))


# ---------------------------------------------------------------- risk-area list import

AREA_LABELS = {
    "file": gettext_lazy("file"),
    "division_code": gettext_lazy("division code"),
    "name": gettext_lazy("place"),
    "level": gettext_lazy("risk level"),
    "valid_from": gettext_lazy("valid from"),
    "valid_to": gettext_lazy("valid to"),
    "kind": gettext_lazy("kind"),
    "source": gettext_lazy("source / notice"),
}
_AREA_HEADERS: dict[str, tuple[str, ...]] = {
    "division_code": ("地区代码", "区划代码", "行政区划代码", "code", "area code"),
    "name": ("地区名称", "地区", "区域名称", "风险区域", "地点", "place", "area", "area name"),
    "level": ("风险等级", "等级", "risk level", "risk"),
    "valid_from": ("开始时间", "生效时间", "起始时间", "start", "from", "valid from"),
    "valid_to": ("结束时间", "解除时间", "截止时间", "end", "to", "valid to"),
    "kind": ("类型", "类别", "type"),
    "source": ("来源", "通告", "发布通告", "notice"),
}
AREA_COLUMNS = Columns(
    _AREA_HEADERS,
    required=("level", ("name", "division_code")),
    title=lambda name: _AREA_HEADERS[name][0],
)
_LEVEL_WORDS = {
    "high": ("高", "高风险", "高风险区", "高风险地区", "high"),
    "medium": ("中", "中风险", "中风险区", "中风险地区", "medium", "mid"),
    "low": ("低", "低风险", "低风险区", "低风险地区", "low"),
    "case_place": ("病例活动场所", "病例轨迹", "病例到访场所", "case place", "case_place"),
}
LEVEL_MAP = {norm_header(w): key for key, words in _LEVEL_WORDS.items() for w in words}
_KIND_WORDS = {
    RiskAreaKind.AREA: ("风险区", "风险地区", "area"),
    RiskAreaKind.CASE_PLACE: _LEVEL_WORDS["case_place"],
}
KIND_MAP = {norm_header(w): str(key) for key, words in _KIND_WORDS.items() for w in words}
_DATE_TEXT = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T](\d{1,2})(?:[:时](\d{1,2}))?(?::(\d{1,2}))?)?"
)


def area_field_label(name: str) -> str:
    return str(AREA_LABELS.get(name, name))


def parse_when(value: Any, *, field_name: str) -> dt.datetime | None:
    """A cell as an aware datetime: Excel dates, ISO text, 2022/5/1 or 2022年5月1日 10时."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        return _aware(dt.datetime.combine(value, dt.time.min))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    found = _DATE_TEXT.match(text)
    if found is None:
        raise FieldError(field_name, _("not a date or time"))
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in found.groups())
    try:
        return _aware(dt.datetime(year, month, day, hour, minute, second))
    except ValueError:
        raise FieldError(field_name, _("not a date or time")) from None


@dataclass
class AreaImportReport:
    rows: int = 0
    created: int = 0
    revised: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason


def _row_data(cells: dict[str, Any], now: dt.datetime) -> AreaData:
    level_word = LEVEL_MAP.get(norm_header(cell_text(cells.get("level"))))
    if level_word is None:
        raise FieldError("level", _("unknown risk level"))
    kind_text = norm_header(cell_text(cells.get("kind")))
    kind = KIND_MAP.get(kind_text) if kind_text else RiskAreaKind.AREA
    if kind is None:
        raise FieldError("kind", _("unknown kind"))
    if level_word == "case_place":
        kind, level_word = RiskAreaKind.CASE_PLACE, RiskLevel.LOW
    return risk_area_validate(
        name=cell_text(cells.get("name")),
        division_code=cell_text(cells.get("division_code")),
        level=level_word,
        kind=kind,
        valid_from=parse_when(cells.get("valid_from"), field_name="valid_from") or now,
        valid_to=parse_when(cells.get("valid_to"), field_name="valid_to"),
        source=cell_text(cells.get("source")),
    )


def _current_match(data: AreaData, now: dt.datetime) -> RiskArea | None:
    """The open, latest row for the same place and kind, which an import row revises."""
    qs = RiskArea.objects.filter(kind=data.kind, next_version__isnull=True).exclude(
        valid_to__lte=now
    )
    qs = (
        qs.filter(division_code=data.division_code)
        if data.division_code
        else qs.filter(division_code="", name=data.name)
    )
    return qs.order_by("-valid_from").first()


def _apply_row(actor: User, data: AreaData, now: dt.datetime, report: AreaImportReport) -> None:
    current = _current_match(data, now)
    if current is None:
        risk_area_create(actor=actor, data=data)
        report.created += 1
        return
    same = (current.level, current.valid_to, current.name) == (
        data.level,
        data.valid_to,
        data.name,
    )
    if same:
        report.unchanged += 1
        return
    # an unchanged start date in the file means "from now on" for the revision
    if data.valid_from <= current.valid_from:
        data.valid_from = max(now, current.valid_from + dt.timedelta(seconds=1))
        if data.valid_to is not None and data.valid_to <= data.valid_from:
            raise FieldError("valid_to", _("the end must be after the start"))
    risk_area_revise(actor=actor, area=current, data=data)
    report.revised += 1


def _import_rows(
    actor: User, path: Path, now: dt.datetime, report: AreaImportReport, *, max_rows: int
) -> None:
    with open_table(path, max_rows=max_rows) as (rows, _total):
        numbered = enumerate(rows, start=1)
        _row_no, columns = AREA_COLUMNS.find(numbered)
        for row_no, values in numbered:
            cells = {k: values[i] if i < len(values) else None for k, i in columns.items()}
            if not any(cell_text(v) for v in cells.values()):
                continue
            report.rows += 1
            try:
                with transaction.atomic():
                    _apply_row(actor, _row_data(cells, now), now, report)
            except FieldError as exc:
                report.errors.append((row_no, exc.field, exc.message))
            except Conflict as exc:
                report.errors.append((row_no, "name", exc.message))


def _import_file(actor: User, path: Path, *, max_rows: int) -> AreaImportReport:
    """Read a stored list as `actor`; each good row commits on its own, bad rows are
    reported; one audit row for the whole file."""
    _area_writer(actor)
    report = AreaImportReport()
    try:
        _import_rows(actor, path, timezone.now(), report, max_rows=max_rows)
    except TableError as exc:
        raise FieldError("file", exc.message) from None
    audit_record(
        actor=actor,
        action="risk_area.import",
        object_type="risk_area",
        object_id="-",
        details={
            "rows": report.rows,
            "created": report.created,
            "revised": report.revised,
            "unchanged": report.unchanged,
            "errors": len(report.errors),
        },
    )
    return report


def risk_areas_import(
    *, actor: User, filename: str, content: bytes | IO[bytes] | Any
) -> AreaImportReport:
    """Import a risk-area list in the calling process (the CLI's path; the web and the API
    go through `risk_areas_submit` and the worker)."""
    _area_writer(actor)
    suffix = Path(filename or "").suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise FieldError("file", _("only .xlsx and .csv files can be imported"))
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        _copy(content, tmp)
        return _import_file(actor, Path(tmp.name), max_rows=settings.SYNC_IMPORT_MAX_ROWS)


def risk_areas_submit(*, actor: User, filename: str, content: bytes | IO[bytes] | Any) -> FileJob:
    """Store a risk-area list and queue it for the worker (`risk_areas_job`)."""
    _area_writer(actor)
    return file_job_create(
        actor=actor,
        kind=JOB_KIND,
        filename=filename,
        content=content,
        suffixes=IMPORT_SUFFIXES,
        max_bytes=MAX_IMPORT_BYTES,
        too_large=_("the file is larger than 20 MB"),
        region_path=scope_of(actor).region_path,
        check=refuse_workbook_bomb,
    )


def risk_areas_job(*, job: FileJob, actor: User, path: Path) -> dict[str, Any]:
    """File-job handler: import the stored list as the uploader; the answer holds the counts
    and each bad row (row, field label, reason)."""
    report = _import_file(actor, path, max_rows=settings.IMPORT_MAX_ROWS)
    return {
        "rows": report.rows,
        "created": report.created,
        "revised": report.revised,
        "unchanged": report.unchanged,
        "errors": [
            {"row": r, "field": area_field_label(f), "reason": why} for r, f, why in report.errors
        ],
    }


def _copy(content: bytes | IO[bytes] | Any, out: IO[bytes]) -> None:
    copy_upload(
        content, out, max_bytes=MAX_IMPORT_BYTES, too_large=_("the file is larger than 20 MB")
    )


# ---------------------------------------------------------------- zones


def _common_ancestor(regions: list[Region]) -> Region:
    """The lowest region whose subtree holds every one of `regions`."""
    paths = [r.path for r in regions]
    prefix = paths[0]
    for path in paths[1:]:
        while not path.startswith(prefix):
            prefix = prefix[: prefix.rstrip("/").rfind("/") + 1]
    code = prefix.rstrip("/").rsplit("/", 1)[-1]
    return Region.objects.get(code=code)


def _check_polygon(polygon: Any) -> dict[str, Any] | None:
    if polygon in (None, "", {}):
        return None
    if not isinstance(polygon, dict) or polygon.get("type") not in ("Polygon", "MultiPolygon"):
        raise FieldError("polygon", _("the polygon must be GeoJSON of type Polygon"))
    coords = polygon.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise FieldError("polygon", _("the polygon has no coordinates"))
    return {"type": polygon["type"], "coordinates": coords}


@dataclass
class ZoneData:
    name: str
    kind: str
    region: Region
    grids: list[Region]
    polygon: dict[str, Any] | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    notice: str


def zone_validate(
    *,
    actor: User,
    name: str,
    kind: str,
    grid_codes: list[str] | None = None,
    polygon: Any = None,
    region_code: str = "",
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    notice: str = "",
) -> ZoneData:
    name = (name or "").strip()[:200]
    if not name:
        raise FieldError("name", _("name is required"))
    if kind not in ZoneKind.values:
        raise FieldError("kind", _("unknown zone kind"))
    codes = sorted({c.strip() for c in grid_codes or [] if c and c.strip()})
    visible = Region.objects.visible_to(actor)
    grids = list(visible.filter(code__in=codes, level=RegionLevel.GRID))
    if len(grids) != len(codes):
        raise FieldError("grid_codes", _("unknown grid or outside your jurisdiction"))
    shape = _check_polygon(polygon)
    if not grids and shape is None:
        raise FieldError("grid_codes", _("choose the grids or draw a polygon"))
    if region_code:
        region = visible.filter(code=region_code.strip()).first()
        if region is None:
            raise FieldError("region_code", _("unknown region or outside your jurisdiction"))
    elif grids:
        region = _common_ancestor(grids)
    elif actor.region is not None:
        region = actor.region
    else:
        raise FieldError("region_code", _("choose the region the zone lies in"))
    start = _aware(valid_from) or timezone.now()
    end = _aware(valid_to)
    _check_period(start, end)
    return ZoneData(name, kind, region, grids, shape, start, end, (notice or "").strip()[:255])


def _zone_details(zone: Zone) -> dict[str, Any]:
    return {
        "name": zone.name,
        "kind": zone.kind,
        "region": zone.region.code,
        "grids": sorted(zone.grids.values_list("code", flat=True)),
        "valid_from": zone.valid_from.isoformat(),
        "valid_to": zone.valid_to.isoformat() if zone.valid_to else None,
    }


def _new_zone(data: ZoneData, *, actor: User, previous: Zone | None) -> Zone:
    zone = Zone(
        name=data.name,
        kind=data.kind,
        region=data.region,
        polygon=data.polygon,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        notice=data.notice,
        previous=previous,
        created_by=actor,
    )
    zone.save(force_insert=True)
    zone.grids.set(data.grids)
    return zone


ZONE_VERSIONS = Versions(
    Zone,
    "zone",
    _zone_details,
    already_revised=gettext_lazy("this zone was already revised; open its latest version"),
    already_over=gettext_lazy("this zone had already ended; add a new one"),
    already_closed=gettext_lazy("this zone has already ended"),
)


@transaction.atomic
def zone_create(*, actor: User, data: ZoneData) -> Zone:
    authorize(actor, "zone.change", region=data.region)
    return ZONE_VERSIONS.created(actor=actor, row=_new_zone(data, actor=actor, previous=None))


@transaction.atomic
def zone_revise(*, actor: User, zone: Zone, data: ZoneData) -> Zone:
    authorize(actor, "zone.change", region=zone.region_path)
    authorize(actor, "zone.change", region=data.region)
    return ZONE_VERSIONS.revise(
        actor=actor,
        row=zone,
        valid_from=data.valid_from,
        insert=lambda old: _new_zone(data, actor=actor, previous=old),
    )


@transaction.atomic
def zone_close(*, actor: User, zone: Zone, at: dt.datetime | None = None) -> Zone:
    authorize(actor, "zone.change", region=zone.region_path)
    return ZONE_VERSIONS.close(actor=actor, row=zone, at=_aware(at))
