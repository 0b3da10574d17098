"""Import of assistance requests (协查): another jurisdiction's list of people to find.

Each good row is matched to a Person by blind index (or registers one), assigned to the town
responsible for it by the district / town / community it names, and gets a pending screening
record (source "assistance_request") in that town's inbox with the request's deadline. A row
whose region cannot be placed inside the importer's jurisdiction is kept in the importer's
own queue; a row that cannot be read (no name, bad document, bad phone, a repeat) is reported
with its row, field and reason and imports nothing. Reports never echo the rejected value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.filejobs import copy_upload, file_job_create
from fangkong.core.models import FileJob, Region, RegionLevel, User
from fangkong.core.permissions import Forbidden, authorize
from fangkong.core.validators import FieldError
from fangkong.people.import_rows import cell_text, choice_value, document_text
from fangkong.people.models import IdType, Person
from fangkong.people.services.persons import PersonData, person_build, person_validate
from fangkong.people.sheets import (
    TableError,
    errors_workbook,
    open_table,
    refuse_workbook_bomb,
    too_many_rows,
)
from fangkong.screening import assistance_layout as layout
from fangkong.screening.models import (
    AssistanceItem,
    AssistanceRequest,
    AssistanceRowError,
    ScreeningRecord,
    ScreeningSource,
    ScreeningStatus,
)

SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_FILE_BYTES = 50 * 1024 * 1024
DEFAULT_DEADLINE_HOURS = 24
JOB_KIND = "assistance"
HEADER_SCAN_ROWS = 10


# ---------------------------------------------------------------- placing rows in towns


class TownPlacer:
    """Districts, towns and communities the importer may see, loaded once per import."""

    def __init__(self, actor: User) -> None:
        rows = Region.objects.visible_to(actor).filter(
            level__in=(RegionLevel.DISTRICT, RegionLevel.TOWN, RegionLevel.COMMUNITY)
        )
        self.by_id: dict[int, Region] = {}
        self.by_code: dict[str, Region] = {}
        self.by_name: dict[tuple[int, str], list[Region]] = {}
        for region in rows.only("id", "code", "name", "level", "parent_id", "path"):
            self.by_id[region.pk] = region
            self.by_code[region.code] = region
            self.by_name.setdefault((region.level, region.name), []).append(region)
        self._cache: dict[tuple[str, str, str], tuple[Region, Region | None] | None] = {}

    def place(
        self, district: str, town: str, community: str
    ) -> tuple[Region, Region | None] | None:
        """(town, community or None), or None when the row cannot be placed unambiguously."""
        key = (district, town, community)
        if key not in self._cache:
            self._cache[key] = self._place(district, town, community)
        return self._cache[key]

    def _find(self, level: int, text: str, within: Region | None) -> Region | None:
        if not text:
            return None
        found = self.by_code.get(text)
        if found is not None:
            ok = found.level == level and (within is None or found.is_within(within))
            return found if ok else None
        named = self.by_name.get((level, text), [])
        if within is not None:
            named = [r for r in named if r.is_within(within)]
        return named[0] if len(named) == 1 else None

    def _place(
        self, district: str, town: str, community: str
    ) -> tuple[Region, Region | None] | None:
        area = self._find(RegionLevel.DISTRICT, district, None)
        if district and area is None:
            return None
        town_region = self._find(RegionLevel.TOWN, town, area)
        if town and town_region is None:
            return None
        comm = self._find(RegionLevel.COMMUNITY, community, town_region or area)
        if comm is not None:
            parent = self.by_id.get(comm.parent_id or 0)
            return (parent, comm) if parent is not None else None
        if town_region is not None and not community:
            return town_region, None
        return None


# ---------------------------------------------------------------- reading rows


@dataclass
class GoodRow:
    row: int
    data: PersonData
    town: Region | None
    community: Region | None
    risk_type: str
    note: str


@dataclass
class Counts:
    rows: int = 0
    assigned: int = 0
    unplaced: int = 0
    created_persons: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def _read_row(
    row_no: int, values: Sequence[Any], columns: dict[str, int], placer: TownPlacer
) -> GoodRow | None:
    """A good row, or None for a blank line; raises FieldError for a bad one."""
    width = len(values)
    cells = {k: cell_text(values[i]) if i < width else "" for k, i in columns.items()}
    if not any(cells.values()):
        return None
    data = person_validate(
        name=cells.get("name", ""),
        id_type=choice_value("id_type", cells.get("id_type", ""), IdType.RESIDENT_ID),
        id_number=document_text(cells.get("id_number", "")),
        phone=document_text(cells.get("phone", "")),
        address=cells.get("address", ""),
    )
    placed = placer.place(
        cells.get("district", ""), cells.get("town", ""), cells.get("community", "")
    )
    town, community = placed if placed is not None else (None, None)
    return GoodRow(
        row=row_no,
        data=data,
        town=town,
        community=community,
        risk_type=cells.get("risk_type", "")[:64],
        note=cells.get("note", "")[:255],
    )


def _read_file(path: Path, actor: User, counts: Counts) -> list[GoodRow]:
    placer = TownPlacer(actor)
    good: list[GoodRow] = []
    seen: dict[tuple[str, str], int] = {}
    max_rows = settings.SYNC_IMPORT_MAX_ROWS  # one transaction for the whole list: a smaller cap
    with open_table(path, max_rows=max_rows + HEADER_SCAN_ROWS) as (rows, _total):
        numbered = enumerate(rows, start=1)
        _header_row, columns = layout.HEADER.find(numbered)
        for row_no, values in numbered:
            try:
                item = _read_row(row_no, values, columns, placer)
            except FieldError as exc:
                counts.rows += 1
                counts.errors.append((row_no, exc.field, exc.message))
                continue
            if item is None:
                continue
            counts.rows += 1
            if counts.rows > max_rows:
                raise too_many_rows(max_rows)
            key = (item.data.id_type, item.data.id_number)
            first = seen.setdefault(key, row_no)
            if first != row_no:
                reason = _("duplicate of row %(row)d") % {"row": first}
                counts.errors.append((row_no, "id_number", reason))
                continue
            good.append(item)
    return good


# ---------------------------------------------------------------- writing


def _persons(
    rows: list[GoodRow], actor: User, queue: Region, counts: Counts
) -> tuple[list[Person], list[Person]]:
    """For every row, in order: the encrypted identity built from the list, and the Person it
    belongs to (the registered one, or a new one at the row's community, town or the queue)."""
    built = [
        person_build(
            data=r.data, region=r.community or r.town or queue, actor=actor, source="assistance"
        )
        for r in rows
    ]
    keys = [(p.id_type, p.id_number_bidx) for p in built]
    # Deliberately unscoped: a document is registered once across all jurisdictions.
    found = Person.objects.filter(id_number_bidx__in={b for _t, b in keys}).only(
        "id", "id_type", "id_number_bidx", "region_id", "region_path"
    )
    existing = {(p.id_type, p.id_number_bidx): p for p in found}
    new = [p for p, k in zip(built, keys, strict=True) if k not in existing]
    Person.objects.bulk_create(new, batch_size=500)
    counts.created_persons = len(new)
    existing.update({(p.id_type, p.id_number_bidx): p for p in new})
    return built, [existing[k] for k in keys]


def _screening(
    item: AssistanceItem, person: Person, built: Person, request: AssistanceRequest, actor: User
) -> ScreeningRecord:
    return ScreeningRecord(
        source=ScreeningSource.ASSISTANCE_REQUEST,
        status=ScreeningStatus.PENDING,
        name=built.name,
        id_type=built.id_type,
        id_number_ct=built.id_number_ct,
        id_number_bidx=built.id_number_bidx,
        id_number_mask=built.id_number_mask,
        phone_ct=built.phone_ct,
        phone_mask=built.phone_mask,
        address_ct=built.address_ct,
        address_mask=built.address_mask,
        origin_place=request.from_jurisdiction[:200],
        destination=item.region,
        destination_path=item.region_path,
        note=" ".join(x for x in (item.risk_type, item.note) if x)[:255],
        person=person,
        assistance_item=item,
        created_by=actor,
    )


def _write(request: AssistanceRequest, rows: list[GoodRow], actor: User, counts: Counts) -> None:
    queue = request.region
    built, persons = _persons(rows, actor, queue, counts)
    items = []
    for good, person in zip(rows, persons, strict=True):
        target = good.community or good.town or queue
        items.append(
            AssistanceItem(
                request=request,
                row=good.row,
                person=person,
                region=target,
                region_path=target.path,
                town=good.town,
                placed=good.town is not None,
                risk_type=good.risk_type,
                note=good.note,
                deadline=request.deadline,
            )
        )
    AssistanceItem.objects.bulk_create(items, batch_size=500)
    ScreeningRecord.objects.bulk_create(
        [
            _screening(item, person, identity, request, actor)
            for item, person, identity in zip(items, persons, built, strict=True)
        ],
        batch_size=500,
    )
    counts.assigned = sum(1 for r in rows if r.town is not None)
    counts.unplaced = len(rows) - counts.assigned
    AssistanceRowError.objects.bulk_create(
        [
            AssistanceRowError(request=request, row=row, field=fld, reason=reason[:255])
            for row, fld, reason in counts.errors
        ],
        batch_size=1000,
    )


def _store(content: bytes | IO[bytes] | Any, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        return copy_upload(
            content, out, max_bytes=MAX_FILE_BYTES, too_large=_("the file is larger than 50 MB")
        )


@dataclass
class RequestInfo:
    from_jurisdiction: str
    reference_number: str = ""
    received_at: dt.datetime | None = None
    deadline: dt.datetime | None = None


@dataclass(frozen=True)
class _CleanInfo:
    from_jurisdiction: str
    reference_number: str
    received_at: dt.datetime
    deadline: dt.datetime


def _clean_info(info: RequestInfo) -> _CleanInfo:
    source = (info.from_jurisdiction or "").strip()[:120]
    if not source:
        raise FieldError("from_jurisdiction", _("name the requesting jurisdiction"))
    received = info.received_at or timezone.now()
    if timezone.is_naive(received):
        received = timezone.make_aware(received)
    deadline = info.deadline or received + dt.timedelta(hours=DEFAULT_DEADLINE_HOURS)
    if timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    if deadline <= received:
        raise FieldError("deadline", _("the deadline must be after the time received"))
    return _CleanInfo(source, (info.reference_number or "").strip()[:64], received, deadline)


def _authorize_import(actor: User) -> Region:
    authorize(actor, "assistance.import", region=actor.region)
    if actor.region is None:  # a role without a region holds no SUBTREE grant: unreachable
        raise Forbidden(_("only staff with a jurisdiction can import assistance requests"))
    return actor.region


def _file_name(filename: str) -> str:
    name = Path(filename or "").name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise FieldError("file", _("only .xlsx and .csv files can be imported"))
    return name


def assistance_import(
    *, actor: User, info: RequestInfo, filename: str, content: bytes | IO[bytes] | Any
) -> AssistanceRequest:
    """Store the list, place every good row and report every bad one; all in one transaction,
    so a list is either wholly imported (good rows) or not at all. In the calling process:
    the CLI's path; the web and the API go through `assistance_submit` and the worker."""
    _authorize_import(actor)
    clean = _clean_info(info)
    name = _file_name(filename)
    target = Path(settings.DATA_DIR) / "assistance" / f"{uuid.uuid4()}{Path(name).suffix.lower()}"
    # The list holds personal data and is read once, here: it is deleted whatever the outcome
    # (stored_path stays empty), and the request keeps only its hash and the row errors.
    try:
        digest = _store(content, target)
        return _import_stored(actor, clean, name, target, digest)
    finally:
        target.unlink(missing_ok=True)


def _import_stored(
    actor: User, clean: _CleanInfo, name: str, path: Path, digest: str
) -> AssistanceRequest:
    region = _authorize_import(actor)
    request = AssistanceRequest(
        id=uuid.uuid4(),
        from_jurisdiction=clean.from_jurisdiction,
        reference_number=clean.reference_number,
        received_at=clean.received_at,
        deadline=clean.deadline,
        region=region,
        region_path=region.path,
        filename=name[:255],
        created_by=actor,
        file_sha256=digest,
    )
    counts = Counts()
    try:
        rows = _read_file(path, actor, counts)
    except TableError as exc:
        raise FieldError("file", exc.message) from None
    with transaction.atomic():
        request.save(force_insert=True)
        _write(request, rows, actor, counts)
        _finish(request, actor, counts)
    return request


def assistance_submit(
    *, actor: User, info: RequestInfo, filename: str, content: bytes | IO[bytes] | Any
) -> FileJob:
    """Check the request's fields and queue the list for the worker (`assistance_job`)."""
    region = _authorize_import(actor)
    clean = _clean_info(info)
    return file_job_create(
        actor=actor,
        kind=JOB_KIND,
        filename=_file_name(filename),
        content=content,
        suffixes=SUFFIXES,
        max_bytes=MAX_FILE_BYTES,
        too_large=_("the file is larger than 50 MB"),
        # as given, so that a retry of the same upload finds its job; the defaults for the
        # times are taken from the job's creation when it runs
        params={
            "from_jurisdiction": clean.from_jurisdiction,
            "reference_number": clean.reference_number,
            "received_at": info.received_at.isoformat() if info.received_at else None,
            "deadline": info.deadline.isoformat() if info.deadline else None,
        },
        region_path=region.path,
        check=refuse_workbook_bomb,
    )


def assistance_job(*, job: FileJob, actor: User, path: Path) -> dict[str, Any]:
    """File-job handler: import the stored list as the uploader, with the fields given at
    upload; the answer names the request and its counts, never a person."""
    p = job.params
    received, deadline = (
        dt.datetime.fromisoformat(p[k]) if p.get(k) else None for k in ("received_at", "deadline")
    )
    clean = _clean_info(
        RequestInfo(
            from_jurisdiction=p["from_jurisdiction"],
            reference_number=p["reference_number"],
            received_at=received or job.created_at,
            deadline=deadline,
        )
    )
    request = _import_stored(actor, clean, job.filename, path, job.file_sha256)
    return {
        "request_id": str(request.pk),
        "total_rows": request.total_rows,
        "assigned_count": request.assigned_count,
        "unplaced_count": request.unplaced_count,
        "error_count": request.error_count,
    }


def _finish(request: AssistanceRequest, actor: User, counts: Counts) -> None:
    request.total_rows = counts.rows
    request.assigned_count = counts.assigned
    request.unplaced_count = counts.unplaced
    request.created_persons = counts.created_persons
    request.error_count = len({row for row, _f, _r in counts.errors})
    request.save(
        update_fields=[
            "total_rows",
            "assigned_count",
            "unplaced_count",
            "created_persons",
            "error_count",
        ]
    )
    audit_record(
        actor=actor,
        action="assistance.import",
        object_type="assistance_request",
        object_id=str(request.pk),
        details={
            "file_sha256": request.file_sha256,
            "from": request.from_jurisdiction,
            "reference": request.reference_number,
            "rows": counts.rows,
            "assigned": counts.assigned,
            "unplaced": counts.unplaced,
            "errors": request.error_count,
        },
    )


def assistance_errors_xlsx(*, request: AssistanceRequest) -> bytes:
    """Row, field and reason of every rejected row (never the rejected value)."""
    errors = request.row_errors.order_by("row", "id").iterator(chunk_size=2000)
    return errors_workbook((e.row, layout.field_label(e.field), e.reason) for e in errors)


# ---------------------------------------------------------------- placing rows by hand


def _assign_one(item: AssistanceItem, region: Region, town: Region) -> bool:
    """Move one queued row, its pending screening record and (when the import registered
    them at the queue) its person to the chosen place; True when the person moved."""
    record = ScreeningRecord.objects.select_for_update().filter(assistance_item=item).first()
    if record is not None and record.status != ScreeningStatus.PENDING:
        raise Conflict(
            _("row %(row)s was already decided in the queue; it stays there") % {"row": item.row}
        )
    item.region, item.town, item.placed = region, town, True
    item.save(update_fields=["region", "region_path", "town", "placed"])
    if record is not None:
        record.destination = region
        record.save(update_fields=["destination", "destination_path", "updated_at"])
    # A person registered at the importing unit itself (the queue) belongs where the row is
    # now placed, inside that unit; anyone registered somewhere more precise stays there.
    moved = Person.objects.filter(pk=item.person_id, region_id=item.request.region_id).update(
        region=region, region_path=region.path, updated_at=timezone.now()
    )
    return bool(moved)


@transaction.atomic
def assistance_items_assign(
    *, actor: User, items: list[AssistanceItem], region: Region, client_ip: str = ""
) -> int:
    """Assign rows the import could not place to a town (or one of its communities) of the
    caller's jurisdiction; each goes to that town's inbox. Returns how many were assigned.

    The caller obtained `items` through a scoped selector; the region is checked here.
    """
    authorize(actor, "assistance.assign")  # the target region is a field: checked below
    for item in items:
        authorize(actor, "assistance.assign", region=item.region_path)
    levels = (RegionLevel.TOWN, RegionLevel.COMMUNITY)
    visible = Region.objects.visible_to(actor).filter(pk=region.pk, level__in=levels).exists()
    if not visible:
        raise FieldError("region", _("choose a town or community of your jurisdiction"))
    town = region if region.level == RegionLevel.TOWN else region.parent
    if town is None:
        raise FieldError("region", _("choose a town or community of your jurisdiction"))
    locked = list(
        AssistanceItem.objects.select_for_update()
        .select_related("request")
        .filter(pk__in=[i.pk for i in items])
        .order_by("pk")
    )
    if any(i.placed for i in locked):
        raise Conflict(_("a chosen row is already assigned to a town; reload the page"))
    moved = sum(_assign_one(item, region, town) for item in locked)
    by_request: dict[uuid.UUID, int] = {}
    for item in locked:
        by_request[item.request_id] = by_request.get(item.request_id, 0) + 1
    for request_id, n in by_request.items():
        AssistanceRequest.objects.filter(pk=request_id).update(
            assigned_count=F("assigned_count") + n, unplaced_count=F("unplaced_count") - n
        )
    if locked:
        audit_record(
            actor=actor,
            action="assistance.assign",
            object_type="assistance_request",
            object_id=str(locked[0].request_id),
            client_ip=client_ip,
            details={
                "rows": [i.row for i in locked],
                "region": region.code,
                "town": town.code,
                "persons_moved": moved,
            },
        )
    return len(locked)
