"""Import of person lists (xlsx or csv) as jobs: upload, run in the worker, report bad rows.

A job streams the file (fangkong.people.sheets), resolves community/grid inside the
importer's jurisdiction, validates every row with the same `person_validate` the API uses and
writes the good rows in chunks. Each chunk commits on its own, so the counters on the job show
progress while it runs and a crashed run can simply be run again: rows already stored are
found by blind index and counted as existing.

Validation and encryption cost ~0.3 ms a row; for a large file they run in worker processes
(one per core) while this process reads the file, de-duplicates in file order and writes.

Error reports name the row, the field and the reason only; a rejected value is never echoed,
because it is usually an ID or phone number.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fangkong.core import filejobs, queue
from fangkong.core.audit import audit_record
from fangkong.core.filejobs import copy_upload
from fangkong.core.models import Region, RegionLevel, User
from fangkong.core.permissions import Forbidden, authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.people.bulk import person_insert_values
from fangkong.people.import_rows import (
    FIELDS,
    REQUIRED,
    ImportFileError,
    RowInput,
    RowReader,
    RowResult,
    check_rows,
    field_label,
    find_header,
)
from fangkong.people.import_worker import check_batch, key_fingerprint, worker_init
from fangkong.people.models import ImportJob, ImportRowError, ImportStatus, Person
from fangkong.people.sheets import (
    TableError,
    errors_workbook,
    open_table,
    refuse_workbook_bomb,
)

logger = logging.getLogger(__name__)

# Rows per commit: big enough that per-chunk queries are noise, small enough that progress
# moves visibly and a crash loses little work.
CHUNK_ROWS = 2000
# Rows per hand-over to a worker process: large enough to amortise pickling.
BATCH_ROWS = 500
# Below this many rows, starting worker processes (a second or so) is not worth it.
PARALLEL_MIN_ROWS = 20_000
MAX_FILE_BYTES = 200 * 1024 * 1024
SUFFIXES = (".xlsx", ".xlsm", ".csv")

__all__ = [  # FIELDS, REQUIRED and field_label describe the columns to the upload page
    "FIELDS",
    "REQUIRED",
    "ImportProgress",
    "field_label",
    "import_errors_xlsx",
    "import_job_create",
    "import_job_run",
]


@dataclass
class ImportProgress:
    total: int = 0
    processed: int = 0
    created: int = 0
    existing: int = 0
    errors: int = 0

    def counters(self) -> dict[str, int]:
        return {
            "total_rows": self.total,
            "processed_rows": self.processed,
            "created_count": self.created,
            "existing_count": self.existing,
            "error_count": self.errors,
        }


ProgressFn = Callable[[ImportProgress], None]


# ---------------------------------------------------------------- rows and chunks


class _Importer:
    """Takes checked rows in file order, de-duplicates them and writes a chunk at a time."""

    def __init__(
        self, *, job: ImportJob, actor: User, total: int, progress: ProgressFn | None
    ) -> None:
        self.job, self.actor, self.progress = job, actor, progress
        self.counts = ImportProgress(total=total)
        self.seen: dict[tuple[str, str], int] = {}
        self.chunk: list[RowResult] = []
        self.errors: list[ImportRowError] = []
        self.pending = 0

    def skip_blank(self) -> None:
        self.counts.processed += 1
        self.pending += 1

    def accept(self, results: list[RowResult]) -> None:
        for result in results:
            self.counts.processed += 1
            self.pending += 1
            self._take(result)
            if self.pending >= CHUNK_ROWS:
                self.flush()

    def _take(self, result: RowResult) -> None:
        if result.problems or result.key is None:
            self._reject(result.row, result.problems)
            return
        first = self.seen.setdefault(result.key, result.row)
        if first != result.row:
            reason = _("duplicate of row %(row)d") % {"row": first}
            self._reject(result.row, [("id_number", reason)])
            return
        self.chunk.append(result)

    def _reject(self, row_no: int, problems: list[tuple[str, str]]) -> None:
        self.counts.errors += 1
        self.errors.extend(
            ImportRowError(job_id=self.job.pk, row=row_no, field=field, reason=reason[:255])
            for field, reason in problems
        )

    def _stored(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
        """Documents of `keys` already registered: (person id, region path) by key."""
        # Deliberately unscoped: the document is unique across all jurisdictions.
        found = Person.objects.filter(id_number_bidx__in={bidx for _t, bidx in keys})
        rows = found.values_list("id_type", "id_number_bidx", "pk", "region_path")
        return {(t, b): (pk, path) for t, b, pk, path in rows if (t, b) in keys}

    def _refer(self, held: dict[tuple[str, str], tuple[int, str]]) -> int:
        """Rows whose document is held outside the importer's jurisdiction (issue 8): not
        imported, counted with the new rows (an "already registered" count would tell the
        importer the number exists elsewhere) and referred to the command office, like a
        single registration (`people.services._refer`). Returns how many."""
        scope = scope_of(self.actor)
        elsewhere = {k: v for k, v in held.items() if not scope.covers(v[1])}
        if elsewhere:  # one row a chunk, not one a person: a list may hold many
            audit_record(
                actor=self.actor,
                action="person.registration_referred",
                object_type="import_job",
                object_id=str(self.job.pk),
                details={"persons": sorted(pk for pk, _path in elsewhere.values())},
            )
        return len(elsewhere)

    def flush(self) -> None:
        chunk, self.chunk = self.chunk, []
        errors, self.errors = self.errors, []
        self.pending = 0
        keys = {good.key for good in chunk if good.key is not None}
        held = self._stored(keys) if keys else {}
        new = [good.values for good in chunk if good.key not in held and good.values]
        with transaction.atomic():
            created = person_insert_values(new)
            if created is None:
                # a concurrent import may have won some rows; count what really landed
                created = len(self._stored(keys)) - len(held)
            referred = self._refer(held)
            self.counts.created += created + referred
            self.counts.existing += len(chunk) - created - referred
            ImportRowError.objects.bulk_create(errors, batch_size=1000)
            ImportJob.objects.filter(pk=self.job.pk).update(**self.counts.counters())
        if self.progress is not None:
            self.progress(self.counts)


def _batches(
    numbered: Iterator[tuple[int, Sequence[Any]]], reader: RowReader, importer: _Importer
) -> Iterator[list[RowInput]]:
    batch: list[RowInput] = []
    for row_no, values in numbered:
        item = reader.read(row_no, values)
        if item is None:
            importer.skip_blank()
            continue
        batch.append(item)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _worker_count(total: int) -> int:
    """Worker processes for a file of `total` rows; 0 means check rows in this process."""
    configured = getattr(settings, "IMPORT_WORKERS", None)
    workers = (os.cpu_count() or 1) if configured is None else int(configured)
    threshold = int(getattr(settings, "IMPORT_PARALLEL_MIN_ROWS", PARALLEL_MIN_ROWS))
    return workers if workers > 1 and total >= threshold else 0


@contextmanager
def _checker(
    workers: int, created_by_id: int
) -> Iterator[Callable[[Iterator[list[RowInput]]], Iterator[list[RowResult]]]]:
    """Map batches to results in order: inline, or on a pool with a bounded queue."""
    if not workers:
        yield lambda batches: (check_rows(b, created_by_id) for b in batches)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
        initargs=(
            settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", ""),
            translation.get_language() or settings.LANGUAGE_CODE,
            key_fingerprint(),
        ),
    )

    def ordered(batches: Iterator[list[RowInput]]) -> Iterator[list[RowResult]]:
        # A few batches in flight per worker keeps them busy without reading the file ahead.
        waiting: deque[Future[list[RowResult]]] = deque()
        for batch in batches:
            waiting.append(pool.submit(check_batch, batch, created_by_id))
            if len(waiting) > 2 * workers:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()

    try:
        yield ordered
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- services


def _store_upload(content: bytes | IO[bytes] | Any, target: Path) -> str:
    """Write the upload to `target`, returning its SHA-256; Django files stream in chunks."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        return copy_upload(
            content, out, max_bytes=MAX_FILE_BYTES, too_large=_("the file is larger than 200 MB")
        )


def _enqueue(job_id: uuid.UUID) -> None:
    queue.enqueue("people.import", str(job_id))


def import_default_region(*, actor: User, code: str | None) -> Region | None:
    """The community or grid that rows naming none go to: the one chosen (by code, inside the
    importer's jurisdiction), else the importer's own community or grid, else none."""
    if code:
        found = (
            Region.objects.visible_to(actor)
            .filter(code=code, level__in=(RegionLevel.COMMUNITY, RegionLevel.GRID))
            .first()
        )
        if found is None:
            raise FieldError("region", _("choose a community or grid in your jurisdiction"))
        return found
    own = actor.region
    return (
        own if own is not None and own.level in (RegionLevel.COMMUNITY, RegionLevel.GRID) else None
    )


def import_job_create(
    *,
    actor: User,
    filename: str,
    content: bytes | IO[bytes] | Any,
    enqueue: bool = True,
    region_code: str | None = None,
) -> ImportJob:
    """Store the upload and queue a job; `enqueue=False` lets the CLI run it in-process.
    `region_code` names the community or grid for rows without one (import_default_region)."""
    authorize(actor, "person.import", region=actor.region)
    if actor.region_id is None:
        raise Forbidden(_("only staff with a jurisdiction can import person lists"))
    default_region = import_default_region(actor=actor, code=region_code)
    name = Path(filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise FieldError("file", _("only .xlsx and .csv files can be imported"))
    job = ImportJob(
        id=uuid.uuid4(), created_by=actor, region_id=actor.region_id, default_region=default_region
    )
    relative = Path("imports") / f"{job.pk}{suffix}"
    target = Path(settings.DATA_DIR) / relative
    try:
        job.file_sha256 = _store_upload(content, target)
        refuse_workbook_bomb(target)
        job.filename, job.stored_path = name[:255], str(relative)
        with transaction.atomic():
            job.save(force_insert=True)
            if enqueue:
                transaction.on_commit(lambda: _enqueue(job.pk))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return job


def _stored_file(job: ImportJob) -> Path:
    if not job.stored_path:  # deleted when the job ended
        raise FileNotFoundError(job.pk)
    path = Path(job.stored_path)
    return path if path.is_absolute() else Path(settings.DATA_DIR) / path


@transaction.atomic
def _job_start(job_id: uuid.UUID | str) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return job
    # RUNNING here means a worker died mid-job: start over. Its stored rows come back as
    # "existing", and its error rows are replaced so none is reported twice.
    ImportRowError.objects.filter(job=job).delete()
    job.status, job.message, job.finished_at = ImportStatus.RUNNING, "", None
    for name, value in ImportProgress().counters().items():
        setattr(job, name, value)
    job.save()
    return job


def _discard_upload(job: ImportJob) -> None:
    """The uploaded list holds personal data and is needed only while its job runs: once the
    job has ended (done or failed) the file goes; the row error report lives in the database.
    Removed after the commit, so a job whose finish rolled back can still be run again."""
    if not job.stored_path:
        return
    path = _stored_file(job)
    transaction.on_commit(lambda: path.unlink(missing_ok=True), robust=True)
    job.stored_path = ""


def _job_finish(job: ImportJob, *, status: str, message: str = "") -> ImportJob:
    job.refresh_from_db()
    with transaction.atomic():
        job.status, job.message, job.finished_at = status, message, timezone.now()
        _discard_upload(job)
        if status == ImportStatus.DONE:
            job.total_rows = job.processed_rows  # the declared sheet size may have been a guess
        job.save()
        audit_record(
            actor=job.created_by,
            action="person.import",
            object_type="import_job",
            object_id=str(job.pk),
            details={
                "status": status,
                "file_sha256": job.file_sha256,
                "rows": job.processed_rows,
                "created": job.created_count,
                "existing": job.existing_count,
                "errors": job.error_count,
            },
        )
    logger.info(
        "import job %s %s: %s rows, %s created, %s existing, %s rejected",
        job.pk,
        status,
        job.processed_rows,
        job.created_count,
        job.existing_count,
        job.error_count,
    )
    return job


def _import_file(job: ImportJob, actor: User, progress: ProgressFn | None) -> None:
    with open_table(_stored_file(job), max_rows=settings.IMPORT_MAX_ROWS) as (rows, total):
        numbered = enumerate(rows, start=1)
        default = job.default_region
        header_row, columns = find_header(numbered, region_given=default is not None)
        reader = RowReader(actor=actor, columns=columns, default_region=default)
        importer = _Importer(
            job=job, actor=actor, total=max(total - header_row, 0), progress=progress
        )
        ImportJob.objects.filter(pk=job.pk).update(total_rows=importer.counts.total)
        with _checker(_worker_count(importer.counts.total), actor.pk) as check:
            for results in check(_batches(numbered, reader, importer)):
                importer.accept(results)
        importer.flush()


def import_job_run(*, job_id: uuid.UUID | str, progress: ProgressFn | None = None) -> ImportJob:
    """Run a queued job to the end; a finished job is returned untouched (safe to retry)."""
    job = _job_start(job_id)
    if job.status != ImportStatus.RUNNING:
        return job
    actor = User.objects.select_related("region").get(pk=job.created_by_id)
    if not actor.is_active:
        return _job_finish(
            job, status=ImportStatus.FAILED, message=_("the importing account is disabled")
        )
    try:
        _import_file(job, actor, progress)
    except (ImportFileError, TableError) as exc:
        return _job_finish(job, status=ImportStatus.FAILED, message=exc.message)
    except FileNotFoundError:
        return _job_finish(
            job, status=ImportStatus.FAILED, message=_("the uploaded file is missing")
        )
    except Exception:
        logger.exception("import job %s stopped by an internal error", job.pk)
        _job_finish(
            job,
            status=ImportStatus.FAILED,
            message=_("the import stopped because of an internal error; rows saved so far stay"),
        )
        raise
    return _job_finish(job, status=ImportStatus.DONE)


def import_errors_xlsx(*, job: ImportJob) -> bytes:
    """The row-level error report as a workbook: row, field, reason (never the bad value)."""
    head: list[tuple[int | None, str, str]] = []
    if job.message and job.status == ImportStatus.FAILED:
        head.append((None, field_label("file"), job.message))
    errors = job.row_errors.order_by("row", "id").iterator(chunk_size=2000)
    return errors_workbook([*head, *((e.row, field_label(e.field), e.reason) for e in errors)])


PURGE_GRACE_SECONDS = 3600


def uploads_purge() -> int:
    """Delete stored uploads that no running or queued job needs: files of jobs that ended
    before lists were deleted at the end of their job, files whose job row was never written
    (a crash between the copy and the commit), assistance lists read by the CLI, and files of
    ended file jobs (lab results, assistance lists).
    System work, no actor; one audit row with the count. Returns how many files went."""
    root = Path(settings.DATA_DIR)
    active = (ImportStatus.QUEUED, ImportStatus.RUNNING)
    pending = ImportJob.objects.filter(status__in=active)
    keep = {str(root / p) for p in pending.values_list("stored_path", flat=True) if p}
    keep |= filejobs.pending_paths()
    # an upload being copied right now has no committed job row yet: leave recent files alone
    settled = time.time() - PURGE_GRACE_SECONDS
    removed = 0
    for folder in ("imports", "assistance", filejobs.FOLDER):
        for path in sorted((root / folder).glob("*")) if (root / folder).is_dir() else []:
            if path.is_file() and str(path) not in keep and path.stat().st_mtime < settled:
                path.unlink(missing_ok=True)
                removed += 1
    with transaction.atomic():
        ImportJob.objects.exclude(status__in=active).exclude(stored_path="").update(stored_path="")
        audit_record(
            actor=None,
            action="uploads.purge",
            object_type="upload",
            object_id="-",
            details={"files": removed},
        )
    return removed
