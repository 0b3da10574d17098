"""Assistance-request API: import another jurisdiction's list, read requests, their rows and
their row errors (JSON or xlsx)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from fangkong.core.api import FileJobOut, file_job_out
from fangkong.core.bodylimit import upload_limit
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
from fangkong.screening import assistance_layout as layout
from fangkong.screening import selectors
from fangkong.screening.models import AssistanceItem, AssistanceRequest
from fangkong.screening.services import assistance

router = Router(tags=["screening-assistance"])


class TownCount(Schema):
    town_code: str | None
    town_name: str | None
    count: int


class RequestOut(Schema):
    id: uuid.UUID
    from_jurisdiction: str
    reference_number: str
    received_at: dt.datetime
    deadline: dt.datetime
    region_code: str
    filename: str
    total_rows: int
    assigned_count: int
    unplaced_count: int
    created_persons: int
    error_count: int
    created_by: str
    created_at: dt.datetime


class RequestDetailOut(RequestOut):
    towns: list[TownCount]


class RequestPage(Page):
    items: list[RequestOut]
    results: list[RequestOut] = RESULTS_ALIAS


class RequestForm(Schema):
    from_jurisdiction: str
    reference_number: str = ""
    received_at: dt.datetime | None = None
    deadline: dt.datetime | None = None


class ItemOut(Schema):
    id: int
    row: int
    person_id: int | None
    name: str
    id_number: str
    region_code: str
    region_name: str
    town_code: str | None
    placed: bool
    risk_type: str
    note: str
    deadline: dt.datetime
    screening_id: int | None
    screening_status: str | None


class ItemPage(Page):
    items: list[ItemOut]
    results: list[ItemOut] = RESULTS_ALIAS


def request_out(r: AssistanceRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "from_jurisdiction": r.from_jurisdiction,
        "reference_number": r.reference_number,
        "received_at": r.received_at,
        "deadline": r.deadline,
        "region_code": r.region.code,
        "filename": r.filename,
        "total_rows": r.total_rows,
        "assigned_count": r.assigned_count,
        "unplaced_count": r.unplaced_count,
        "created_persons": r.created_persons,
        "error_count": r.error_count,
        "created_by": r.created_by.get_username(),
        "created_at": r.created_at,
    }


def item_out(item: AssistanceItem, *, actor: Any) -> dict[str, Any]:
    """A row as the list gave it: the name and document the uploader entered, never the
    registered person's (who may live in another jurisdiction: issue 8)."""
    screening = getattr(item, "screening", None)
    return {
        "id": item.pk,
        "row": item.row,
        "person_id": selectors.visible_person_id(actor=actor, person=item.person),
        "name": screening.name if screening else "",
        "id_number": screening.id_number_mask if screening else "",
        "region_code": item.region.code,
        "region_name": item.region.name,
        "town_code": item.town.code if item.town else None,
        "placed": item.placed,
        "risk_type": item.risk_type,
        "note": item.note,
        "deadline": item.deadline,
        "screening_id": screening.pk if screening else None,
        "screening_status": screening.status if screening else None,
    }


def _detail(request: HttpRequest, request_id: uuid.UUID) -> dict[str, Any]:
    actor = actor_of(request)
    found = get_scoped_or_404(selectors.assistance_request_list(actor=actor), pk=request_id)
    towns = selectors.assistance_town_counts(actor=actor, request_id=found.pk)
    return {
        **request_out(found),
        "towns": [
            {"town_code": t["town__code"], "town_name": t["town__name"], "count": t["n"]}
            for t in towns
        ],
    }


@router.post("", response={202: FileJobOut, 403: ErrorOut})
@decorate_view(upload_limit(assistance.MAX_FILE_BYTES))
@scoped
def request_import(request: HttpRequest, file: File[UploadedFile], form: Form[RequestForm]) -> Any:
    """Import a list (multipart: `file` plus the request's fields). Columns: 姓名/证件号码/
    手机号/现住址/所属区县/所属街道/所属社区/风险类型/备注 or their English names. The worker
    reads the list: poll `GET /api/v1/jobs/{id}` until `status` is done; `result.request_id`
    then names the request (`GET /api/v1/screening/assistance-requests/{request_id}`)."""
    job = assistance.assistance_submit(
        actor=actor_of(request),
        info=assistance.RequestInfo(
            from_jurisdiction=form.from_jurisdiction,
            reference_number=form.reference_number,
            received_at=form.received_at,
            deadline=form.deadline,
        ),
        filename=file.name or "",
        content=file,
    )
    return 202, file_job_out(job)


@router.get("", response=RequestPage)
@scoped
def request_list(request: HttpRequest, page: int = 1, page_size: int = 20) -> Any:
    qs = selectors.assistance_request_list(actor=actor_of(request))
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [request_out(r) for r in rows],
    }


@router.get("/layout.xlsx")
@scoped
def layout_template(request: HttpRequest) -> HttpResponse:
    """An empty list in the layout this importer reads (and our exports use)."""
    return xlsx_response(layout.layout_workbook([]), "assistance-layout.xlsx")


@router.get("/{uuid:request_id}", response=RequestDetailOut)
@scoped
def request_get(request: HttpRequest, request_id: uuid.UUID) -> Any:
    return _detail(request, request_id)


@router.get("/{uuid:request_id}/items", response=ItemPage)
@scoped
def request_items(
    request: HttpRequest,
    request_id: uuid.UUID,
    placed: bool | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    """The request's rows visible to the caller: a town sees those assigned to it."""
    qs = selectors.assistance_item_list(
        actor=actor_of(request), request_id=request_id, placed=placed
    ).select_related("town")
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size, max_size=1000)
    if count == 0:
        # none of its rows is the caller's: the request must be, or it is not found at all
        get_scoped_or_404(selectors.assistance_request_list(actor=actor_of(request)), pk=request_id)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [item_out(i, actor=actor_of(request)) for i in rows],
    }


@router.get("/{uuid:request_id}/errors", response=RowErrorPage)
@scoped
def request_errors(
    request: HttpRequest, request_id: uuid.UUID, page: int = 1, page_size: int = 100
) -> Any:
    actor = actor_of(request)
    found = get_scoped_or_404(selectors.assistance_request_list(actor=actor), pk=request_id)
    qs = selectors.assistance_error_list(actor=actor, request_id=found.pk)
    return row_error_page(qs, page=page, page_size=page_size, field_label=layout.field_label)


@router.get("/{uuid:request_id}/errors.xlsx")
@scoped
def request_errors_xlsx(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    found = get_scoped_or_404(
        selectors.assistance_request_list(actor=actor_of(request)), pk=request_id
    )
    # the request id, not the uploaded name: file names often carry people's names
    return xlsx_response(
        assistance.assistance_errors_xlsx(request=found), f"assistance-errors-{found.pk}.xlsx"
    )
