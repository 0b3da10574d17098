"""The lab page (receipt by scan, results upload, recent batches) and the transport page of a
sampling point (pack closed tubes into a box, hand it over to a lab).

Both read only through selectors_lab and write only through lab.py; the receipt scan answers
an htmx fragment per scanned barcode so a barcode scanner acting as a keyboard (it types the
code and presses Enter) can work through a box without the page reloading.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    DOMAIN_ERRORS,
    Conflict,
    Forbidden,
    actor_of,
    error_text,
    get_scoped_or_404,
    int_param,
    scoped,
    xlsx_response,
)
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.lab import selectors as selectors_lab
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.lab.sheets import MAX_FILE_BYTES, results_xlsx_submit, row_errors_workbook
from fangkong.masstesting.models import BoxStatus, CampaignStatus, SamplingPoint, TestResult

LIST_SIZE = 50
_SPLIT = re.compile(r"[\s,，;；]+")


def _lab_tiles(actor: User) -> dict[str, int]:
    tubes = selectors_lab.lab_tube_list(actor=actor)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    figures = tubes.aggregate(
        awaiting=Count("id", filter=Q(result="", received_at__isnull=False)),
        in_transit=Count("id", filter=Q(received_at__isnull=True)),
        resulted_today=Count("id", filter=Q(resulted_at__gte=today)),
        positive_today=Count("id", filter=Q(resulted_at__gte=today, result=TestResult.POSITIVE)),
    )
    boxes = selectors_lab.box_list(actor=actor, status=BoxStatus.HANDED_OVER).count()
    return {"boxes_open": boxes, **{k: int(v or 0) for k, v in figures.items()}}


def _lab_context(actor: User) -> dict[str, Any]:
    awaiting = selectors_lab.lab_tube_list(actor=actor, awaiting_result=True)
    boxes = selectors_lab.box_list(actor=actor, status=BoxStatus.HANDED_OVER)
    return {
        "is_lab": allowed(actor, "lab.work"),
        "tiles": _lab_tiles(actor),
        "boxes": list(boxes.order_by("handed_over_at", "id")[:LIST_SIZE]),
        "awaiting": list(awaiting[:LIST_SIZE]),
        "batches": list(selectors_lab.result_batch_list(actor=actor)[:20]),
        "max_mb": MAX_FILE_BYTES // (1024 * 1024),
    }


@scoped  # boxes, tubes and batches come from selectors_lab, scoped to the actor
@login_required
@require_GET
def lab_page(request: HttpRequest) -> HttpResponse:
    return render(request, "masstesting/lab.html", _lab_context(actor_of(request)))


def _actor_lab(actor: User) -> Any:
    try:
        return lab_services.actor_lab(actor)
    except Forbidden as exc:  # a page answers Django's 403, not the API's
        raise PermissionDenied(str(exc)) from exc


@scoped  # writes through lab.tubes_receive, which looks only at tubes handed to the lab
@login_required
@require_POST
def lab_receive(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    barcodes = [b for b in _SPLIT.split(request.POST.get("barcodes", "")) if b][:5000]
    context: dict[str, Any] = {"answers": [], "error": ""}
    if not barcodes:
        context["error"] = _("Scan a tube barcode")
    else:
        try:
            answer = lab_services.tubes_receive(
                actor=actor, lab=_actor_lab(actor), barcodes=barcodes
            )
            context["answers"] = answer.results
        except DOMAIN_ERRORS as exc:
            context["error"] = error_text(exc)
    if not request.headers.get("HX-Request"):
        for line in context["answers"]:
            messages.info(request, f"{line['barcode']}: {line['status']}")
        return redirect("masstesting:lab")
    # the tiles, the boxes and the awaiting list follow along (htmx out-of-band swaps)
    context.update(_lab_context(actor))
    return render(request, "masstesting/lab_receive_result.html", context)


@scoped  # stores the file through lab_xlsx.results_xlsx_submit; the worker reads it
@login_required
@require_POST
@upload_limit(MAX_FILE_BYTES)
def lab_results_upload(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    upload = request.FILES.get("file")
    outcome: dict[str, Any] = {}
    if upload is None:
        outcome["error"] = _("Choose an Excel file (.xlsx) to upload")
    else:
        try:
            job = results_xlsx_submit(actor=actor, filename=upload.name or "", content=upload)
        except FieldError as exc:
            outcome["error"] = exc.message
        else:
            return redirect("web:file_job", job_id=job.pk)
    context = _lab_context(actor)
    context["outcome"] = outcome
    return render(request, "masstesting/lab.html", context, status=422)


@scoped  # the batch is read through selectors_lab.result_batch_list
@login_required
@require_GET
def lab_batch_errors(request: HttpRequest, batch_id: int) -> HttpResponse:
    qs = selectors_lab.result_batch_list(actor=actor_of(request))
    batch = get_scoped_or_404(qs, pk=batch_id)
    return xlsx_response(row_errors_workbook(batch.results), f"result-batch-{batch.pk}-errors.xlsx")


# ---------------------------------------------------------------- transport


def _point_from(request: HttpRequest, raw: str) -> SamplingPoint | None:
    points = selectors_lab.transport_points(actor=actor_of(request))
    if not raw:
        listed = list(points.filter(campaign__status=CampaignStatus.RUNNING)[:2])
        return listed[0] if len(listed) == 1 else None
    if not raw.isdigit():
        raise Http404()
    return get_scoped_or_404(points, pk=int(raw))


def _transport_context(actor: User, point: SamplingPoint | None) -> dict[str, Any]:
    points = selectors_lab.transport_points(actor=actor).filter(
        campaign__status=CampaignStatus.RUNNING
    )
    context: dict[str, Any] = {"points": list(points[:200]), "point": point}
    if point is not None:
        packable = selectors_lab.packable_tubes(actor=actor, point_id=point.pk)
        boxes = selectors_lab.box_list(actor=actor, point_id=point.pk)
        context.update(
            packable=list(packable[:500]),
            packable_count=packable.count(),
            labs=selectors_lab.lab_choices(point=point),
            boxes=list(boxes[:LIST_SIZE]),
            suggested_code=f"{point.pk}-{timezone.localtime():%m%d-%H%M}",
        )
    return context


@scoped  # points, tubes and boxes come from selectors_lab, scoped to the actor
@login_required
@require_GET
def transport_page(request: HttpRequest) -> HttpResponse:
    point = _point_from(request, request.GET.get("point", ""))
    return render(
        request, "masstesting/transport.html", _transport_context(actor_of(request), point)
    )


def _back(point: SamplingPoint) -> HttpResponse:
    return redirect(f"{reverse('masstesting:transport')}?point={point.pk}")


@scoped  # the point is read through selectors_lab.transport_points; lab.box_pack checks roles
@login_required
@require_POST
def transport_pack(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    point = _point_from(request, request.POST.get("point", "") or "x")
    assert point is not None
    authorize(actor, "box.transport", region=point.region, institution=point.institution_id)
    lab_id = int_param(request.POST.get("lab"))
    lab = (
        next(iter(selectors_lab.lab_choices(point=point, lab_id=lab_id)), None) if lab_id else None
    )
    barcodes = request.POST.getlist("tubes") + [
        b for b in _SPLIT.split(request.POST.get("scanned", "")) if b
    ]
    try:
        if lab is None:
            raise FieldError("lab", _("Choose the lab the box goes to"))
        box = lab_services.box_pack(
            actor=actor,
            point=point,
            lab=lab,
            code=request.POST.get("code", ""),
            tube_barcodes=barcodes,
        )
    except FieldError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Box %(code)s packed with %(n)d tubes.") % {"code": box.code, "n": box.tube_count},
        )
    return _back(point)


@scoped  # the box is read through selectors_lab.box_list
@login_required
@require_POST
def transport_hand_over(request: HttpRequest, box_id: int) -> HttpResponse:
    actor = actor_of(request)
    box = get_scoped_or_404(selectors_lab.box_list(actor=actor), pk=box_id)
    point = box.point
    authorize(actor, "box.transport", region=point.region, institution=point.institution_id)
    try:
        lab_services.box_hand_over(actor=actor, box=box)
    except Conflict as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("Box %(code)s handed over to %(lab)s.") % {"code": box.code, "lab": box.lab.name},
        )
    return _back(box.point)
