"""Uploaded files read by the background worker, never by the request that received them.

A spreadsheet is untrusted input whose cost is unknown until it is parsed (a 10 MB xlsx can
decompress to gigabytes, a sheet can hold a million rows). The request therefore only streams
the upload to `DATA_DIR/jobs/`, refusing it over the route's byte limit, and queues a job; the
worker parses it with the kind's handler. Handlers are registered by dotted path from the
domain apps' `ready()`, so core names no domain module.

The job row is locked while its handler runs inside the same transaction: a job delivered twice
runs once, a crash leaves nothing half-written, and the same file with the same parameters
uploaded again by the same person (a double click, a retry after a timeout) answers the job
already there. The file holds personal data and goes when the job ends, whatever the outcome.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from fangkong.core import queue
from fangkong.core.audit import audit_record
from fangkong.core.models import FileJob, FileJobStatus, Institution, User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError

logger = logging.getLogger(__name__)

FOLDER = "jobs"


class JobFailed(Exception):
    """A handler's refusal of the file: the job fails with this message (a row-free reason)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# handler(job=, actor=, path=) -> the job's result (JSON-able)
Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    handler: str  # dotted path, imported when a job runs
    title: str | Promise
    template: str  # renders a finished job's result on the job page
    back: str  # URL name of the page the upload was made from


KINDS: dict[str, JobKind] = {}


def register_kind(
    kind: str, *, handler: str, title: str | Promise, template: str, back: str
) -> None:
    KINDS[kind] = JobKind(handler=handler, title=title, template=template, back=back)


def copy_upload(
    content: bytes | IO[bytes] | Any, out: IO[bytes], *, max_bytes: int, too_large: str
) -> str:
    """Copy an upload (bytes, a Django file streamed in chunks, or a binary stream) to `out`,
    refusing an empty one or one over `max_bytes` (`too_large` names the limit); its SHA-256."""
    digest, size = hashlib.sha256(), 0
    blocks: Any
    if isinstance(content, bytes | bytearray):
        blocks = [bytes(content)]
    elif hasattr(content, "chunks"):
        blocks = content.chunks()
    else:
        blocks = iter(lambda: content.read(1 << 20), b"")
    for block in blocks:
        size += len(block)
        if size > max_bytes:
            raise FieldError("file", too_large)
        digest.update(block)
        out.write(block)
    if size == 0:
        raise FieldError("file", _("the file is empty"))
    out.flush()
    return digest.hexdigest()


def _enqueue(job_id: uuid.UUID) -> None:
    queue.enqueue("core.file_job", str(job_id))


def file_job_create(
    *,
    actor: User,
    kind: str,
    filename: str,
    content: bytes | IO[bytes] | Any,
    suffixes: tuple[str, ...],
    max_bytes: int,
    too_large: str,
    params: dict[str, Any] | None = None,
    region_path: str | None = None,
    institution: Institution | None = None,
    check: Callable[[Path], None] | None = None,
) -> FileJob:
    """Store the upload and queue its job. The caller (a domain service) has authorized the
    actor already; the handler authorizes again when the job runs. `check` looks at the stored
    file before it is queued (a zip bomb's declared size) and raises FieldError to refuse it."""
    if kind not in KINDS:
        raise ValueError(f"unknown file job kind {kind!r}")
    name = Path(filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise FieldError("file", _("this kind of file cannot be uploaded here"))
    job = FileJob(
        id=uuid.uuid4(),
        kind=kind,
        created_by=actor,
        region_path=region_path,
        institution=institution,
        filename=name[:255],
        params=params or {},
    )
    relative = Path(FOLDER) / f"{job.pk}{suffix}"
    target = Path(settings.DATA_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("wb") as out:
            job.file_sha256 = copy_upload(content, out, max_bytes=max_bytes, too_large=too_large)
        if check is not None:
            check(target)
        earlier = _same_upload(job)
        if earlier is not None:
            target.unlink(missing_ok=True)
            return earlier
        job.stored_path = str(relative)
        with transaction.atomic():
            job.save(force_insert=True)
            transaction.on_commit(lambda: _enqueue(job.pk))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return job


def _same_upload(job: FileJob) -> FileJob | None:
    """The job this upload repeats: same person, kind, file and parameters, not failed."""
    candidates = FileJob.objects.filter(
        created_by=job.created_by, kind=job.kind, file_sha256=job.file_sha256
    ).exclude(status=FileJobStatus.FAILED)
    return next((c for c in candidates if c.params == job.params), None)


def stored_file(job: FileJob) -> Path:
    if not job.stored_path:  # deleted when the job ended
        raise FileNotFoundError(job.pk)
    return Path(settings.DATA_DIR) / job.stored_path


def file_job_run(*, job_id: uuid.UUID | str) -> FileJob:
    """Run a queued job to the end; a finished one is returned untouched (safe to deliver
    twice). An unexpected error fails the job, then propagates to the task runner's log."""
    try:
        with transaction.atomic():
            job = FileJob.objects.select_for_update().get(pk=job_id)
            if job.finished:
                return job
            return _run_locked(job)
    except Exception:
        logger.exception("file job %s stopped by an internal error", job_id)
        with transaction.atomic():
            job = FileJob.objects.select_for_update().get(pk=job_id)
            _finish(
                job, FileJobStatus.FAILED, _("the file could not be processed (internal error)")
            )
        raise


def _run_locked(job: FileJob) -> FileJob:
    job.status, job.started_at = FileJobStatus.RUNNING, timezone.now()
    actor = User.objects.select_related("region", "institution").get(pk=job.created_by_id)
    if not actor.is_active:
        return _finish(job, FileJobStatus.FAILED, _("the uploading account is disabled"))
    handler: Handler = import_string(KINDS[job.kind].handler)
    try:
        with transaction.atomic():  # a refusal half-way leaves none of the handler's writes
            result = handler(job=job, actor=actor, path=stored_file(job))
    except (JobFailed, FieldError, Forbidden) as exc:
        return _finish(job, FileJobStatus.FAILED, getattr(exc, "message", "") or str(exc))
    except FileNotFoundError:
        return _finish(job, FileJobStatus.FAILED, _("the uploaded file is missing"))
    return _finish(job, FileJobStatus.DONE, "", result)


def _finish(
    job: FileJob, status: str, message: str, result: dict[str, Any] | None = None
) -> FileJob:
    if job.stored_path:
        path = stored_file(job)
        transaction.on_commit(lambda: path.unlink(missing_ok=True), robust=True)
    job.status, job.message, job.result = status, message, result or {}
    job.stored_path, job.finished_at = "", timezone.now()
    job.save()
    audit_record(
        actor=job.created_by,
        action="file_job.finish",
        object_type="file_job",
        object_id=str(job.pk),
        details={"kind": job.kind, "status": status, "file_sha256": job.file_sha256},
    )
    return job


def pending_paths() -> set[str]:
    """Stored files that queued or running jobs still need (for the uploads purge)."""
    active = (FileJobStatus.QUEUED, FileJobStatus.RUNNING)
    paths = FileJob.objects.filter(status__in=active).values_list("stored_path", flat=True)
    root = Path(settings.DATA_DIR)
    return {str(root / p) for p in paths if p}
