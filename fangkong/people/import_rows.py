"""One row of a person list: column mapping, region resolution and the per-row check.

`check_rows` is the expensive part of an import (document and phone validation, encryption,
blind indexes). It takes and returns plain picklable values so that it can run in worker
processes (fangkong.people.import_worker), and uses nothing from the database.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.models import Region, RegionLevel, User
from fangkong.core.validators import FieldError
from fangkong.people.bulk import person_values
from fangkong.people.models import IdType, KeyGroup
from fangkong.people.services.persons import person_build, person_validate
from fangkong.people.sheets import Columns, TableError
from fangkong.people.sheets import cell_text as cell_text
from fangkong.people.sheets import norm_header as norm_header

# Government lists often carry a title line or two above the real header.

FIELDS = (
    "name",
    "id_type",
    "id_number",
    "phone",
    "address",
    "community",
    "grid",
    "occupation",
    "key_group",
    "tags",
)
REQUIRED = ("name", "id_number")

FIELD_LABELS = {
    "file": gettext_lazy("file"),
    "name": gettext_lazy("name"),
    "id_type": gettext_lazy("ID type"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("phone"),
    "address": gettext_lazy("address"),
    "community": gettext_lazy("community"),
    "grid": gettext_lazy("grid"),
    "occupation": gettext_lazy("occupation"),
    "key_group": gettext_lazy("key group"),
    "tags": gettext_lazy("tags"),
}

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字"),
    "id_type": ("证件类型", "证件种类"),
    "id_number": (
        "身份证号",
        "身份证号码",
        "身份证",
        "公民身份号码",
        "证件号码",
        "证件号",
        "idno",
    ),
    "phone": ("手机号", "手机号码", "手机", "联系电话", "电话", "电话号码", "联系方式", "mobile"),
    "address": ("现住址", "住址", "居住地址", "现居住地址", "家庭住址", "地址"),
    "community": ("所属社区", "社区", "村社区", "社区村", "所属村社区"),
    "grid": ("网格", "所属网格", "网格名称"),
    "occupation": ("职业", "工作单位职业"),
    "key_group": ("重点人群", "重点人群类别", "人群类别"),
    "tags": ("标签",),
}

_ID_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    IdType.RESIDENT_ID: ("身份证", "居民身份证", "二代身份证", "第二代居民身份证"),
    IdType.PASSPORT: ("护照", "中国护照", "外国护照", "普通护照"),
    IdType.HK_MACAU_PERMIT: (
        "港澳通行证",
        "往来港澳通行证",
        "港澳居民来往内地通行证",
        "回乡证",
        "港澳居民居住证",
    ),
    IdType.TAIWAN_PERMIT: ("台湾通行证", "台胞证", "台湾居民来往大陆通行证", "台湾居民居住证"),
    IdType.FOREIGN_PERMANENT: ("外国人永久居留证", "外国人永久居留身份证", "永久居留证"),
    IdType.OTHER: ("其他", "其它", "其他证件"),
}

_KEY_GROUP_ALIASES: dict[str, tuple[str, ...]] = {
    KeyGroup.NONE: ("无", "否", "非重点人群"),
    KeyGroup.COLD_CHAIN: ("冷链从业人员", "冷链", "冷链物流从业人员", "进口冷链食品从业人员"),
    KeyGroup.MEDICAL: ("医务人员", "医护人员", "医疗机构工作人员"),
    KeyGroup.DELIVERY: ("快递外卖人员", "快递员", "外卖骑手", "快递", "外卖", "快递外卖"),
    KeyGroup.TRANSPORT: ("公共交通从业人员", "公共交通", "交通运输从业人员"),
    KeyGroup.PORT: ("口岸工作人员", "口岸", "海关", "港口从业人员"),
    KeyGroup.QUARANTINE_STAFF: ("隔离点工作人员", "集中隔离场所工作人员", "隔离场所工作人员"),
    KeyGroup.MARKET: ("农贸市场从业人员", "农贸市场", "市场经营户", "商超从业人员"),
    KeyGroup.SCHOOL: ("学校教职工", "教职员工", "学校"),
    KeyGroup.ELDERLY_CARE: ("养老机构工作人员", "养老机构", "福利院工作人员"),
    KeyGroup.CONSTRUCTION: ("建筑工人", "建筑工地人员", "工地"),
    KeyGroup.SERVICE: ("服务行业从业人员", "服务行业", "服务业"),
}

_TAG_SPLIT = re.compile(r"[，,;；、]")
# Lines a clerk writes below the data of a register: who filled it in, who checked it, a phone
# to call back, the date, a note, a total. Not persons: skipped, never reported as a bad row.
_SIGNATURE = re.compile(
    r"^(填表人|填报人|制表人|统计人|审核人|审核|审批人|负责人|联系人|联系电话|电话|填报单位|"
    r"填表单位|单位|填报日期|填表日期|制表日期|日期|时间|备注|说明|注|签字|签名|盖章)\s*[:：]"
    r"|^(合计|总计|共计|小计)"
)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, missing columns)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def column_title(field: str) -> str:
    first = _HEADER_ALIASES.get(field, ("",))[0]
    return f"{first} ({field})" if first else field


@lru_cache(maxsize=8)
def _choice_map(kind: str, language: str) -> dict[str, str]:
    """Codes, the built-in Chinese names and the choice labels in the active language."""
    choices, aliases = (
        (IdType, _ID_TYPE_ALIASES) if kind == "id_type" else (KeyGroup, _KEY_GROUP_ALIASES)
    )
    found: dict[str, str] = {}
    for value, label in choices.choices:
        found[norm_header(str(value))] = str(value)
        found[norm_header(str(label))] = str(value)
        with translation.override("en"):
            found[norm_header(str(label))] = str(value)
    for value, names in aliases.items():
        found.update({norm_header(name): str(value) for name in names})
    found.pop("", None)
    return found


def choice_value(kind: str, text: str, default: str) -> str:
    if not text:
        return default
    # An unknown label passes through unchanged so person_validate rejects it for this row.
    return _choice_map(kind, translation.get_language() or "").get(norm_header(text), text)


# ---------------------------------------------------------------- reading the file


def document_text(text: str) -> str:
    """Undo the tricks spreadsheets use to keep long numbers as text ('…, ="…", full width)."""
    if text.startswith("'"):
        text = text[1:]
    elif text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


HEADER = Columns(_HEADER_ALIASES, required=REQUIRED, title=column_title)
# Without a region chosen on the upload a row must name its community or grid.
_REQUIRED_WITHOUT_REGION = (*REQUIRED, ("community", "grid"))


def find_header(
    numbered: Iterator[tuple[int, Sequence[Any]]], *, region_given: bool = False
) -> tuple[int, dict[str, int]]:
    """Consume rows up to the header; the header is the first row naming every required column.
    With `region_given` (the upload chose a community or grid) no region column is required."""
    try:
        return HEADER.find(
            numbered, required=REQUIRED if region_given else _REQUIRED_WITHOUT_REGION
        )
    except TableError as exc:
        raise ImportFileError(exc.message) from None


# ---------------------------------------------------------------- regions


class RegionResolver:
    """Communities and grids the importer may see, loaded once per job into dictionaries.
    `default` (a community or grid chosen on the upload) places rows that name neither; a grid
    named without its community is looked for in the default community."""

    def __init__(self, actor: User, default: Region | None = None) -> None:
        self.default = default
        regions = (
            Region.objects.visible_to(actor)
            .filter(level__in=(RegionLevel.COMMUNITY, RegionLevel.GRID))
            .only("id", "code", "name", "level", "parent_id", "path")
        )
        self.community_code: dict[str, Region] = {}
        self.community_name: dict[str, list[Region]] = {}
        self.grid_code: dict[str, Region] = {}
        self.grid_name: dict[str, list[Region]] = {}
        for region in regions:
            if region.level == RegionLevel.COMMUNITY:
                self.community_code[region.code] = region
                self.community_name.setdefault(region.name, []).append(region)
            else:
                self.grid_code[region.code] = region
                self.grid_name.setdefault(region.name, []).append(region)
        self._cache: dict[tuple[str, str], Region | tuple[str, str]] = {}

    def resolve(self, community: str, grid: str) -> Region:
        key = (community, grid)
        if key not in self._cache:
            try:
                self._cache[key] = self._resolve(community, grid)
            except FieldError as exc:
                # keep (field, message), not the exception: re-raising one instance would
                # grow its traceback (and the frames it holds) with every row
                self._cache[key] = (exc.field, exc.message)
        found = self._cache[key]
        if isinstance(found, tuple):
            raise FieldError(*found)
        return found

    def _resolve(self, community: str, grid: str) -> Region:
        parent = self._community(community) if community else None
        if not community and not grid and self.default is not None:
            return self.default
        if parent is None and self.default is not None:
            parent = self.default if self.default.level == RegionLevel.COMMUNITY else None
        if not grid:
            if parent is None:
                raise FieldError("community", _("community or grid is required"))
            return parent
        return self._grid(grid, parent)

    def _community(self, text: str) -> Region:
        found = self.community_code.get(text)
        if found is not None:
            return found
        named = self.community_name.get(text, [])
        if len(named) > 1:
            raise FieldError("community", _("several communities have this name; use the code"))
        if not named:
            raise FieldError("community", _("unknown region or outside your jurisdiction"))
        return named[0]

    def _grid(self, text: str, parent: Region | None) -> Region:
        found = self.grid_code.get(text)
        if found is None:
            named = self.grid_name.get(text, [])
            if parent is not None:
                named = [g for g in named if g.parent_id == parent.pk]
            if len(named) > 1:
                raise FieldError(
                    "grid", _("several grids have this name; give the community or use the code")
                )
            found = named[0] if named else None
        if found is None:
            raise FieldError("grid", _("unknown region or outside your jurisdiction"))
        if parent is not None and found.parent_id != parent.pk:
            raise FieldError("grid", _("the grid is not in the given community"))
        return found


# ---------------------------------------------------------------- the per-row check


@dataclass(slots=True)
class RowInput:
    """A row as read and resolved by the importing process, ready for `check_rows`."""

    row: int
    person: dict[str, Any]  # person_validate's keyword arguments
    region_id: int | None
    region_path: str
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class RowResult:
    row: int
    problems: list[tuple[str, str]]
    key: tuple[str, str] | None = None  # (id_type, blind index of the ID number)
    values: list[Any] | None = None  # Person column values, see bulk.person_values


class RowReader:
    """Turns a sheet row into a RowInput; owns the per-job caches (labels, regions)."""

    def __init__(
        self, *, actor: User, columns: dict[str, int], default_region: Region | None = None
    ) -> None:
        self.columns = list(columns.items())
        self.regions = RegionResolver(actor, default_region)
        self.choices: dict[tuple[str, str], str] = {}

    def _choice(self, kind: str, text: str, default: str) -> str:
        # a list repeats a handful of labels; normalising each once per job is enough
        key = (kind, text)
        found = self.choices.get(key)
        if found is None:
            found = self.choices[key] = choice_value(kind, text, default)
        return found

    def read(self, row_no: int, values: Sequence[Any]) -> RowInput | None:
        """None for a blank line or a signature / note line below the data."""
        cells = dict.fromkeys(FIELDS, "")
        width = len(values)
        for name, idx in self.columns:
            if idx < width:
                cells[name] = cell_text(values[idx])
        if not any(cells.values()):
            return None
        # A row whose ID column holds a document number is a person: only the others (a few
        # per file) pay for looking at every cell.
        if not _DOCUMENT.fullmatch(cells["id_number"]) and is_signature_line(values):
            return None
        item = RowInput(
            row=row_no,
            person={
                "name": cells["name"],
                "id_type": self._choice("id_type", cells["id_type"], IdType.RESIDENT_ID),
                "id_number": document_text(cells["id_number"]),
                "phone": document_text(cells["phone"]),
                "address": cells["address"],
                "occupation": cells["occupation"],
                "key_group": self._choice("key_group", cells["key_group"], KeyGroup.NONE),
                "tags": _TAG_SPLIT.split(cells["tags"]) if cells["tags"] else [],
            },
            region_id=None,
            region_path="",
        )
        try:
            region = self.regions.resolve(cells["community"], cells["grid"])
            item.region_id, item.region_path = region.pk, region.path
        except FieldError as exc:
            item.problems.append((exc.field, exc.message))
        return item


def is_signature_line(values: Sequence[Any]) -> bool:
    """A clerk's line under the data (填表人：…  审核人：…  联系电话：…, 合计 …): its cells
    start with such a label, and none of them is a document number."""
    texts = [unicodedata.normalize("NFKC", cell_text(v)) for v in values if cell_text(v)]
    if not texts or not any(_SIGNATURE.match(t) for t in texts):
        return False
    return not any(_DOCUMENT.fullmatch(t) for t in texts)


_DOCUMENT = re.compile(r"[0-9]{15}|[0-9]{17}[0-9Xx]|[A-Za-z]{1,2}[0-9]{6,9}")


def check_rows(batch: list[RowInput], created_by_id: int | None) -> list[RowResult]:
    """Validate and encrypt a batch; every problem of a row is reported, none echoes a value."""
    results: list[RowResult] = []
    for item in batch:
        problems = list(item.problems)
        try:
            data = person_validate(**item.person)
        except FieldError as exc:
            problems.insert(0, (exc.field, exc.message))
        if problems or item.region_id is None:
            results.append(RowResult(row=item.row, problems=problems))
            continue
        region = Region(pk=item.region_id, path=item.region_path)
        person = person_build(data=data, region=region, actor=None, source="import")
        person.created_by_id = created_by_id
        results.append(
            RowResult(
                row=item.row,
                problems=[],
                key=(person.id_type, person.id_number_bidx),
                values=person_values(person),
            )
        )
    return results
