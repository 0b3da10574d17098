"""Lab API: transfer boxes, lab receipt, lab tube lists and corrections under
/api/v1/masstesting/lab/, the xlsx results upload (a file job), and the JSON results upload
POST /api/v1/masstesting/results/batch (exactly once per Idempotency-Key, overload shed with
429 like the scan upload)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, UploadedFile
from ninja.decorators import decorate_view
from ninja.errors import HttpError

from fangkong.core.api import FileJobOut, file_job_out
from fangkong.core.bodylimit import body_limit, upload_limit
from fangkong.core.http import (
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    idempotency_key_of,
    page_dict,
    scoped,
    shed,
    xlsx_response,
)
from fangkong.masstesting.lab import selectors as selectors_lab
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.lab.sheets import MAX_FILE_BYTES, results_xlsx_submit, row_errors_workbook
from fangkong.masstesting.models import TestResult, TransferBox

router = Router(tags=["masstesting-lab"])


class BoxIn(Schema):
    point_id: int
    lab_id: int
    code: str
    tube_barcodes: list[str]


class BoxOut(Schema):
    id: int
    campaign_id: int
    code: str
    point_id: int
    point_name: str
    lab_id: int
    lab_name: str
    status: str
    tube_count: int
    received_count: int
    created_at: dt.datetime
    handed_over_at: dt.datetime | None
    received_at: dt.datetime | None


class BoxPage(Page):
    items: list[BoxOut]


class ReceiveIn(Schema):
    barcodes: list[str]


class LabTubeOut(Schema):
    id: int
    campaign_id: int
    barcode: str
    kind: str
    members: int
    box_code: str | None
    status: str
    received_at: dt.datetime | None
    result: str
    ct_value: float | None
    resulted_at: dt.datetime | None


class LabTubePage(Page):
    items: list[LabTubeOut]


class BatchOut(Schema):
    id: int
    lab_name: str
    uploaded_by: str
    received_at: dt.datetime
    counts: dict[str, int]


class BatchPage(Page):
    items: list[BatchOut]


def box_out(box: TransferBox) -> dict[str, Any]:
    fields = {f: getattr(box, f) for f in BoxOut.model_fields if not f.endswith("_name")}
    return {**fields, "point_name": box.point.name, "lab_name": box.lab.name}


@router.post("/lab/boxes", response={201: BoxOut})
@scoped
def box_create(request: HttpRequest, payload: BoxIn) -> Any:
    actor = actor_of(request)
    point = get_scoped_or_404(selectors_lab.transport_points(actor=actor), pk=payload.point_id)
    lab = next(iter(selectors_lab.lab_choices(point=point, lab_id=payload.lab_id)), None)
    if lab is None:
        raise Http404()
    box = lab_services.box_pack(
        actor=actor, point=point, lab=lab, code=payload.code, tube_barcodes=payload.tube_barcodes
    )
    return 201, box_out(box)


@router.post("/lab/boxes/{box_id}/hand-over", response=BoxOut)
@scoped
def box_hand_over(request: HttpRequest, box_id: int) -> Any:
    actor = actor_of(request)
    box = get_scoped_or_404(selectors_lab.box_list(actor=actor), pk=box_id)
    return box_out(lab_services.box_hand_over(actor=actor, box=box))


@router.get("/lab/boxes", response=BoxPage)
@scoped
def box_list(
    request: HttpRequest, status: str | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = selectors_lab.box_list(actor=actor_of(request), status=status)
    return page_dict(qs, page=page, page_size=page_size, out=box_out)


@router.get("/lab/boxes/{box_id}", response=BoxOut)
@scoped
def box_get(request: HttpRequest, box_id: int) -> Any:
    return box_out(get_scoped_or_404(selectors_lab.box_list(actor=actor_of(request)), pk=box_id))


@router.post("/lab/receive", response=dict[str, Any])
@decorate_view(body_limit(lambda: settings.BATCH_MAX_BYTES))
@scoped
def tubes_receive(request: HttpRequest, payload: ReceiveIn) -> Any:
    actor = actor_of(request)
    answer = lab_services.tubes_receive(
        actor=actor, lab=lab_services.actor_lab(actor), barcodes=payload.barcodes
    )
    return {"counts": answer.counts, "results": answer.results}


def _tube_out(tube: Any) -> dict[str, Any]:
    out = {f: getattr(tube, f) for f in LabTubeOut.model_fields if f != "box_code"}
    return {**out, "box_code": tube.box.code if tube.box else None}


@router.get("/lab/tubes", response=LabTubePage)
@scoped
def lab_tube_list(
    request: HttpRequest,
    status: str | None = None,
    result: str | None = None,
    awaiting_result: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    if result is not None and result not in TestResult.values:
        raise HttpError(422, _("result must be negative, positive or invalid"))
    qs = selectors_lab.lab_tube_list(
        actor=actor_of(request), status=status, result=result, awaiting_result=awaiting_result
    )
    return page_dict(qs, page=page, page_size=page_size, out=_tube_out)


class CorrectionIn(Schema):
    result: str
    ct_value: float | None = None
    reason: str


@router.post("/lab/tubes/{tube_id}/correct", response=LabTubeOut)
@scoped
def tube_result_correct(request: HttpRequest, tube_id: int, payload: CorrectionIn) -> Any:
    """Replace a tube's stored result; the reason goes to the audit log."""
    actor = actor_of(request)
    tube = get_scoped_or_404(selectors_lab.lab_tube_list(actor=actor), pk=tube_id)
    tube = lab_services.tube_result_correct(
        actor=actor,
        tube=tube,
        result=payload.result,
        ct_value=payload.ct_value,
        reason=payload.reason,
    )
    return _tube_out(tube)


def _batch_out(batch: Any) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "lab_name": batch.lab.name,
        "uploaded_by": batch.uploaded_by.get_username() if batch.uploaded_by else "",
        "received_at": batch.received_at,
        "counts": batch.counts,
    }


@router.get("/lab/batches", response=BatchPage)
@scoped
def result_batch_list(request: HttpRequest, page: int = 1, page_size: int = 20) -> Any:
    qs = selectors_lab.result_batch_list(actor=actor_of(request))
    return page_dict(qs, page=page, page_size=page_size, out=_batch_out)


@router.get("/lab/batches/{batch_id}/errors.xlsx")
@scoped
def result_batch_errors(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The rejected rows of a batch as a workbook: row, field, reason (never the value)."""
    qs = selectors_lab.result_batch_list(actor=actor_of(request))
    batch = get_scoped_or_404(qs, pk=batch_id)
    return xlsx_response(row_errors_workbook(batch.results), f"result-batch-{batch.pk}-errors.xlsx")


@router.post("/lab/results/xlsx", response={202: FileJobOut, 403: ErrorOut})
@decorate_view(upload_limit(MAX_FILE_BYTES))
@scoped
def results_xlsx(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upload results as xlsx (multipart field `file`): columns 试管条码/barcode, 结果/result
    (阴性/阳性/无效 or negative/positive/invalid), optional Ct值/ct_value. The worker reads
    the file: poll `GET /api/v1/jobs/{id}` until `status` is done; `result` then holds
    `batch_id`, `replayed`, `counts`, `resolve` and the rejected rows as `errors`."""
    job = results_xlsx_submit(actor=actor_of(request), filename=file.name or "", content=file)
    return 202, file_job_out(job)


_RESULTS_INFLIGHT = threading.BoundedSemaphore(
    getattr(settings, "MASSTESTING_MAX_INFLIGHT_RESULT_BATCHES", 2)
)


def _parse_results(body: bytes) -> list[lab_services.ResultIn]:
    try:
        data = json.loads(body)
        raw = data["items"]
        if not isinstance(raw, list):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise HttpError(422, _("The body must be {items: [...]}")) from exc
    if len(raw) > lab_services.MAX_ITEMS:
        raise HttpError(413, _("At most %(n)d results per batch") % {"n": lab_services.MAX_ITEMS})
    items = []
    for item in raw:
        item = item if isinstance(item, dict) else {}
        items.append(
            lab_services.ResultIn(
                barcode=str(item.get("barcode") or "").strip(),
                result=str(item.get("result") or ""),
                ct_value=item.get("ct_value"),
            )
        )
    return items


@router.post(
    "/results/batch", response={200: dict[str, Any], 409: ErrorOut, 413: ErrorOut, 429: ErrorOut}
)
@decorate_view(body_limit(lambda: settings.BATCH_MAX_BYTES))
@scoped
def results_batch(request: HttpRequest) -> Any:
    """A lab's results, exactly once per Idempotency-Key: {items: [{barcode, result
    (negative/positive/invalid), ct_value?}]}, up to 5,000; per item accepted / duplicate /
    rejected with a reason. Sheds overload with 429 like the scan upload."""
    key = idempotency_key_of(request)
    items = _parse_results(request.body)
    actor = actor_of(request)
    the_lab = lab_services.actor_lab(actor)
    answer = shed(
        _RESULTS_INFLIGHT,
        lambda: lab_services.results_batch_ingest(
            actor=actor, lab=the_lab, idempotency_key=key, items=items
        ),
    )
    if isinstance(answer, JsonResponse):
        return answer
    return {
        "batch_id": answer.batch_id,
        "replayed": answer.replayed,
        "counts": answer.counts,
        "resolve": answer.resolve,
        "results": answer.per_item(),
    }
