"""The page of an uploaded file read by the worker, with its polled status fragment, and the
row-error report of any list import as xlsx (from the job's result `errors`: row, field,
reason — never the rejected value)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.core import selectors
from fangkong.core.filejobs import KINDS
from fangkong.core.http import actor_of, get_scoped_or_404, scoped, xlsx_response
from fangkong.people.sheets import errors_workbook


def _job_context(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    job = get_scoped_or_404(selectors.file_job_list(actor=actor_of(request)), pk=job_id)
    return {"job": job, "kind": KINDS[job.kind]}


@scoped
@login_required
@require_GET
def file_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return render(request, "web/jobs/job.html", _job_context(request, job_id))


@scoped
@login_required
@require_GET
def file_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Polled every second by the job page until the job finishes."""
    return render(request, "web/jobs/_progress.html", _job_context(request, job_id))


@scoped
@login_required
@require_GET
def file_job_errors(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _job_context(request, job_id)["job"]
    errors = (job.result or {}).get("errors") or []
    rows = [(e.get("row"), e.get("field", ""), e.get("reason", "")) for e in errors]
    return xlsx_response(errors_workbook(rows), f"errors-{job.pk}.xlsx")
