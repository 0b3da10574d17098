"""Person-list upload and the import job page with its polled progress fragment."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.core import selectors as core_selectors
from fangkong.core.http import Forbidden, actor_of, get_scoped_or_404, scoped
from fangkong.core.models import RegionLevel
from fangkong.core.permissions import allowed
from fangkong.core.validators import FieldError
from fangkong.people.forms import ImportUploadForm
from fangkong.people.models import ImportStatus
from fangkong.people.selectors import persons as selectors
from fangkong.people.services import imports as importing

RECENT_JOBS = 20
ERRORS_SHOWN = 100
MAX_REGION_CHOICES = 3000


def _region_choices(actor: Any) -> list[tuple[str, str]]:
    regions = core_selectors.region_list(actor=actor).filter(
        level__in=(RegionLevel.COMMUNITY, RegionLevel.GRID)
    )
    rows = regions.order_by("path").values_list("code", "name", "level")[:MAX_REGION_CHOICES]
    return [
        (code, name if level == RegionLevel.COMMUNITY else f"· {name}")
        for code, name, level in rows
    ]


def _upload_form(request: HttpRequest, actor: Any) -> ImportUploadForm:
    own = importing.import_default_region(actor=actor, code=None)
    return ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        regions=_region_choices(actor),
        default=own.code if own else "",
    )


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = _upload_form(request, actor)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = form.cleaned_data["file"]
                # the importer validates type and size and streams the upload to disk
                job = importing.import_job_create(
                    actor=actor,
                    filename=upload.name or "",
                    content=upload,
                    region_code=form.cleaned_data["region_code"] or None,
                )
            except FieldError as exc:
                form.add_error("region_code" if exc.field == "region" else "file", exc.message)
            except Forbidden as exc:
                form.add_error(None, str(exc) or _("Your role may not import people."))
                status = 403
            else:
                return redirect("people:import_job", job_id=job.pk)
        status = 422 if status == 200 else status
    context = {
        "form": form,
        # the importer has the last word; this only spares such roles a form that must fail
        "may_import": allowed(actor, "person.import", region=actor.region),
        "jobs": list(selectors.import_job_list(actor=actor)[:RECENT_JOBS]),
        "columns": [
            (importing.field_label(f), f, f in importing.REQUIRED) for f in importing.FIELDS
        ],
    }
    return render(request, "people/imports/upload.html", context, status=status)


def _job_context(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    job = get_scoped_or_404(selectors.import_job_list(actor=actor_of(request)), pk=job_id)
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    errors = [
        {"row": e.row, "field": importing.field_label(e.field), "reason": e.reason}
        for e in (selectors.import_errors(job=job)[:ERRORS_SHOWN] if finished else [])
    ]
    return {"job": job, "finished": finished, "errors": errors, "errors_shown": ERRORS_SHOWN}


@scoped
@login_required
@require_GET
def import_job(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    return render(request, "people/imports/job.html", _job_context(request, job_id))


@scoped
@login_required
@require_GET
def import_job_progress(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Polled every second by the job page until the job finishes."""
    return render(request, "people/imports/_progress.html", _job_context(request, job_id))
