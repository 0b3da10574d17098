"""Person-list import API: upload a file, poll the job, read or download its row errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, UploadedFile

from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    RowErrorPage,
    actor_of,
    get_scoped_or_404,
    page_slice,
    row_error_page,
    scoped,
    xlsx_response,
)
from fangkong.people.models import ImportJob
from fangkong.people.selectors import persons as selectors
from fangkong.people.services import imports as importing

router = Router(tags=["people-imports"])


class ImportJobOut(Schema):
    id: uuid.UUID
    filename: str
    status: str
    region_code: str
    default_region_code: str | None
    created_by: str
    total_rows: int
    processed_rows: int
    created_count: int
    existing_count: int
    error_count: int
    percent: int
    message: str
    created_at: datetime
    finished_at: datetime | None


class ImportJobPage(Page):
    items: list[ImportJobOut]
    results: list[ImportJobOut] = RESULTS_ALIAS


def job_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "filename": job.filename,
        "status": job.status,
        "region_code": job.region.code,
        "default_region_code": job.default_region.code if job.default_region else None,
        "created_by": job.created_by.get_username(),
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created_count": job.created_count,
        "existing_count": job.existing_count,
        "error_count": job.error_count,
        "percent": job.percent,
        "message": job.message,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _jobs(request: HttpRequest) -> Any:
    jobs = selectors.import_job_list(actor=actor_of(request))
    return jobs.select_related("region", "default_region", "created_by")


@router.post("", response={202: ImportJobOut, 403: ErrorOut})
@scoped
def import_create(
    request: HttpRequest, file: File[UploadedFile], region_code: Form[str] = ""
) -> Any:
    """Upload an xlsx or csv person list (multipart field `file`); the import runs queued.
    `region_code` (optional) names the community or grid for rows that name none; by default
    the uploader's own community or grid. A community or grid column overrides it per row."""
    job = importing.import_job_create(
        actor=actor_of(request),
        filename=file.name or "",
        content=file,
        region_code=region_code or None,
    )
    return 202, job_out(get_scoped_or_404(_jobs(request), pk=job.pk))


@router.get("", response=ImportJobPage)
@scoped
def import_list(request: HttpRequest, page: int = 1, page_size: int = 20) -> Any:
    count, page, size, rows = page_slice(_jobs(request), page=page, page_size=page_size)
    return {"count": count, "page": page, "page_size": size, "results": [job_out(j) for j in rows]}


@router.get("/{uuid:job_id}", response=ImportJobOut)
@scoped
def import_get(request: HttpRequest, job_id: uuid.UUID) -> Any:
    return job_out(get_scoped_or_404(_jobs(request), pk=job_id))


@router.get("/{uuid:job_id}/errors", response=RowErrorPage)
@scoped
def import_errors(
    request: HttpRequest, job_id: uuid.UUID, page: int = 1, page_size: int = 50
) -> Any:
    actor = actor_of(request)
    job = get_scoped_or_404(_jobs(request), pk=job_id)
    qs = selectors.import_error_list(actor=actor, job_id=job.pk)
    return row_error_page(qs, page=page, page_size=page_size, field_label=importing.field_label)


@router.get("/{uuid:job_id}/errors.xlsx")
@scoped
def import_errors_xlsx(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = get_scoped_or_404(_jobs(request), pk=job_id)
    # The job id, not the uploaded file's name: file names often carry people's names.
    return xlsx_response(importing.import_errors_xlsx(job=job), f"import-errors-{job.pk}.xlsx")
