"""Tracing API: cases, investigations, exposures, generations, the chain graph, 协查 export.

A case outside the caller's jurisdiction answers 404, and so does everything under it.
Contacts living outside the caller's jurisdiction are listed without any personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from pydantic import ValidationError

from fangkong.core.bodylimit import body_limit
from fangkong.core.http import (
    RESULTS_ALIAS,
    XLSX_TYPE,
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_slice,
    scoped,
    xlsx_response,
)
from fangkong.core.middleware import client_ip
from fangkong.people.selectors.persons import person_get_qs
from fangkong.tracing import selectors
from fangkong.tracing.chain import chain_graph
from fangkong.tracing.export import assistance_export
from fangkong.tracing.models import Case, CaseContact, Exposure, Investigation
from fangkong.tracing.services import cases as services
from fangkong.tracing.services.generations import case_compute_generations

router = Router(tags=["tracing"])


class PersonRef(Schema):
    id: int
    name: str
    id_number: str


class InvestigationOut(Schema):
    id: int
    case_id: int
    person: PersonRef
    region_name: str
    opened_at: dt.datetime
    deadline: dt.datetime
    contacts_traced_at: dt.datetime | None
    closed_at: dt.datetime | None
    overdue: bool
    notes: str


class CaseOut(Schema):
    id: int
    person: PersonRef
    kind: str
    status: str
    onset_date: dt.date | None
    sampling_date: dt.date | None
    report_date: dt.date
    source: str
    severity: str
    region_code: str
    region_name: str
    notes: str
    confirmed_at: dt.datetime | None
    generations_at: dt.datetime | None
    investigation_id: int | None
    deadline: dt.datetime | None
    overdue: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CasePage(Page):
    items: list[CaseOut]
    results: list[CaseOut] = RESULTS_ALIAS


class CaseIn(Schema):
    person_id: int
    kind: str
    report_date: dt.date
    source: str
    onset_date: dt.date | None = None
    sampling_date: dt.date | None = None
    severity: str = ""
    status: str = "reported"
    notes: str = ""


class CasePatch(Schema):
    kind: str | None = None
    status: str | None = None
    onset_date: dt.date | None = None
    sampling_date: dt.date | None = None
    report_date: dt.date | None = None
    source: str | None = None
    severity: str | None = None
    notes: str | None = None


def _person_ref(person: Any) -> dict[str, Any]:
    return {"id": person.pk, "name": person.name, "id_number": person.id_number_mask}


def case_out(case: Case) -> dict[str, Any]:
    inv: Investigation | None = getattr(case, "investigation", None)
    return {
        "id": case.pk,
        "person": _person_ref(case.person),
        "kind": case.kind,
        "status": case.status,
        "onset_date": case.onset_date,
        "sampling_date": case.sampling_date,
        "report_date": case.report_date,
        "source": case.source,
        "severity": case.severity,
        "region_code": case.region.code,
        "region_name": case.region.name,
        "notes": case.notes,
        "confirmed_at": case.confirmed_at,
        "generations_at": case.generations_at,
        "investigation_id": inv.pk if inv else None,
        "deadline": inv.deadline if inv else None,
        "overdue": bool(getattr(case, "overdue", False)),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def investigation_out(inv: Investigation) -> dict[str, Any]:
    return {
        "id": inv.pk,
        "case_id": inv.case_id,
        "person": _person_ref(inv.case.person),
        "region_name": inv.case.region.name,
        "opened_at": inv.opened_at,
        "deadline": inv.deadline,
        "contacts_traced_at": inv.contacts_traced_at,
        "closed_at": inv.closed_at,
        "overdue": bool(getattr(inv, "overdue", False)),
        "notes": inv.notes,
    }


def _case(request: HttpRequest, case_id: int) -> Case:
    return get_scoped_or_404(selectors.case_get_qs(actor=actor_of(request)), pk=case_id)


@router.get("/cases", response=CasePage)
@scoped
def case_list(
    request: HttpRequest,
    status: str | None = None,
    kind: str | None = None,
    region: str | None = None,
    overdue: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    qs = selectors.case_list(
        actor=actor_of(request), status=status, kind=kind, region_code=region, overdue=overdue
    )
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [case_out(c) for c in rows],
    }


@router.post("/cases", response={201: CaseOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def case_create(request: HttpRequest, payload: CaseIn) -> Any:
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=payload.person_id)
    case = services.case_create(
        actor=actor,
        person=person,
        **payload.dict(exclude={"person_id"}),
        client_ip=client_ip(request),
    )
    return 201, case_out(_case(request, case.pk))


@router.get("/cases/{case_id}", response=CaseOut)
@scoped
def case_get(request: HttpRequest, case_id: int) -> Any:
    return case_out(_case(request, case_id))


@router.patch("/cases/{case_id}", response={200: CaseOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def case_update(request: HttpRequest, case_id: int, payload: CasePatch) -> Any:
    case = _case(request, case_id)
    changes = payload.dict(exclude_unset=True)
    if not changes:
        raise HttpError(422, "no fields to change")
    services.case_update(
        actor=actor_of(request), case=case, changes=changes, client_ip=client_ip(request)
    )
    return case_out(_case(request, case_id))


# --- investigations ------------------------------------------------------------------------


class InvestigationPage(Page):
    items: list[InvestigationOut]
    results: list[InvestigationOut] = RESULTS_ALIAS


class CloseIn(Schema):
    notes: str = ""


def _investigation(request: HttpRequest, investigation_id: int) -> Investigation:
    qs = selectors.investigation_list(actor=actor_of(request))
    return get_scoped_or_404(qs, pk=investigation_id)


@router.get("/investigations", response=InvestigationPage)
@scoped
def investigation_list(
    request: HttpRequest,
    overdue: bool | None = None,
    open: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    qs = selectors.investigation_list(actor=actor_of(request), overdue=overdue, open_only=open)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [investigation_out(i) for i in rows],
    }


@router.get("/investigations/{investigation_id}", response=InvestigationOut)
@scoped
def investigation_get(request: HttpRequest, investigation_id: int) -> Any:
    return investigation_out(_investigation(request, investigation_id))


@router.post(
    "/investigations/{investigation_id}/traced",
    response={200: InvestigationOut, 403: ErrorOut, 409: ErrorOut},
)
@scoped
def investigation_traced(request: HttpRequest, investigation_id: int) -> Any:
    inv = _investigation(request, investigation_id)
    services.investigation_mark_traced(actor=actor_of(request), investigation=inv)
    return investigation_out(_investigation(request, investigation_id))


@router.post(
    "/investigations/{investigation_id}/close",
    response={200: InvestigationOut, 403: ErrorOut, 409: ErrorOut},
)
@scoped
def investigation_close(request: HttpRequest, investigation_id: int, payload: CloseIn) -> Any:
    inv = _investigation(request, investigation_id)
    services.investigation_close(actor=actor_of(request), investigation=inv, notes=payload.notes)
    return investigation_out(_investigation(request, investigation_id))


# --- exposures -----------------------------------------------------------------------------


class PersonRefIn(Schema):
    person_id: int | None = None
    id_type: str = "resident_id"
    id_number: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    region_code: str = ""


class ExposureItemIn(Schema):
    person: PersonRefIn | None = None  # None: the case's own person
    contact: PersonRefIn
    context: str
    day: dt.date | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    place: str = ""


class ExposureBatchIn(Schema):
    # items are validated one by one, so one malformed item cannot reject the others
    items: list[dict[str, Any]]


class ItemError(Schema):
    field: str
    msg: str


class ItemResultOut(Schema):
    index: int
    status: str
    exposure_id: int | None
    errors: list[ItemError]


class ExposureBatchOut(Schema):
    created: int
    existing: int
    rejected: int
    results: list[ItemResultOut]


class EndOut(Schema):
    outside: bool
    person: PersonRef | None


class ExposureOut(Schema):
    id: int
    person_a: EndOut
    person_b: EndOut
    context: str
    day: dt.date
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    place: str


def _end(request: HttpRequest, person: Any) -> dict[str, Any]:
    inside = selectors.in_jurisdiction(actor=actor_of(request), person=person)
    return {"outside": not inside, "person": _person_ref(person) if inside else None}


def exposure_out(request: HttpRequest, e: Exposure) -> dict[str, Any]:
    return {
        "id": e.pk,
        "person_a": _end(request, e.person_a),
        "person_b": _end(request, e.person_b),
        "context": e.context,
        "day": e.day,
        "started_at": e.started_at,
        "ended_at": e.ended_at,
        "place": e.place,
    }


def _parse_items(raw: list[dict[str, Any]]) -> tuple[list[Any], dict[int, list[dict[str, str]]]]:
    parsed: list[Any] = []
    bad: dict[int, list[dict[str, str]]] = {}
    for index, item in enumerate(raw):
        try:
            parsed.append(ExposureItemIn.model_validate(item).dict())
        except ValidationError as exc:
            bad[index] = [
                {"field": ".".join(str(p) for p in err["loc"]), "msg": err["msg"]}
                for err in exc.errors()
            ]
            parsed.append(None)
    return parsed, bad


@router.post("/cases/{case_id}/exposures", response={200: ExposureBatchOut, 403: ErrorOut})
@decorate_view(body_limit(lambda: settings.BATCH_MAX_BYTES))
@scoped
def exposure_batch(request: HttpRequest, case_id: int, payload: ExposureBatchIn) -> Any:
    case = _case(request, case_id)
    if len(payload.items) > 1000:
        raise HttpError(422, "at most 1000 items per batch")
    parsed, bad = _parse_items(payload.items)
    good = [(i, item) for i, item in enumerate(parsed) if item is not None]
    recorded = services.exposures_record(
        actor=actor_of(request),
        case=case,
        items=[item for _, item in good],
        client_ip=client_ip(request),
    )
    results: list[dict[str, Any]] = [
        {"index": i, "status": "error", "exposure_id": None, "errors": errs}
        for i, errs in bad.items()
    ]
    for (index, _item), r in zip(good, recorded, strict=True):
        results.append(
            {"index": index, "status": r.status, "exposure_id": r.exposure_id, "errors": r.errors}
        )
    results.sort(key=lambda r: r["index"])
    return {
        "created": sum(r["status"] == "created" for r in results),
        "existing": sum(r["status"] == "existing" for r in results),
        "rejected": sum(r["status"] == "error" for r in results),
        "results": results,
    }


@router.get("/cases/{case_id}/exposures", response=list[ExposureOut])
@scoped
def exposure_list(request: HttpRequest, case_id: int) -> Any:
    case = _case(request, case_id)
    rows = selectors.exposure_list(actor=actor_of(request), case=case)[:2000]
    return [exposure_out(request, e) for e in rows]


# --- generations and contacts --------------------------------------------------------------


class GenerationsOut(Schema):
    case_id: int
    created: int
    updated: int
    removed: int
    proposed: int
    by_generation: dict[str, int]


class MeasureBrief(Schema):
    id: int
    plan: str
    state: str
    start_date: dt.date
    planned_end: dt.date


class ContactOut(Schema):
    id: int
    generation: int
    outside: bool
    person: PersonRef | None
    region_name: str | None
    measure: MeasureBrief | None
    under_control: bool | None
    trace_status: str
    trace_note: str
    computed_at: dt.datetime


class ContactPage(Page):
    counts: dict[str, int]
    items: list[ContactOut]
    results: list[ContactOut] = RESULTS_ALIAS


class TraceIn(Schema):
    trace_status: str
    note: str = ""


def contact_out(request: HttpRequest, c: CaseContact) -> dict[str, Any]:
    inside = selectors.in_jurisdiction(actor=actor_of(request), person=c.person)
    m = c.measure if inside else None
    return {
        "id": c.pk,
        "generation": c.generation,
        "outside": not inside,
        "person": _person_ref(c.person) if inside else None,
        "region_name": c.person.region.name if inside else None,
        "measure": (
            {
                "id": m.pk,
                "plan": m.plan.name,
                "state": m.state,
                "start_date": m.start_date,
                "planned_end": m.planned_end,
            }
            if m is not None
            else None
        ),
        "under_control": bool(getattr(c, "under_control", False)) if inside else None,
        "trace_status": c.trace_status,
        "trace_note": c.trace_note if inside else "",
        "computed_at": c.computed_at,
    }


@router.post("/cases/{case_id}/generations", response={200: GenerationsOut, 403: ErrorOut})
@scoped
def generations_compute(request: HttpRequest, case_id: int) -> Any:
    case = _case(request, case_id)
    result = case_compute_generations(actor=actor_of(request), case=case)
    return {
        **result.__dict__,
        "by_generation": {str(k): v for k, v in result.by_generation.items()},
    }


@router.get("/cases/{case_id}/contacts", response=ContactPage)
@scoped
def contact_list(
    request: HttpRequest,
    case_id: int,
    generation: int | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    actor = actor_of(request)
    case = _case(request, case_id)
    qs = selectors.contact_list(actor=actor, case=case, generation=generation)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size, max_size=500)
    counts = selectors.generation_counts(actor=actor, case=case)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "counts": {str(g): n for g, n in counts.items()},
        "results": [contact_out(request, c) for c in rows],
    }


@router.patch("/cases/{case_id}/contacts/{contact_id}", response={200: ContactOut, 403: ErrorOut})
@scoped
def contact_trace(request: HttpRequest, case_id: int, contact_id: int, payload: TraceIn) -> Any:
    actor = actor_of(request)
    case = _case(request, case_id)
    contact = get_scoped_or_404(selectors.contact_list(actor=actor, case=case), pk=contact_id)
    services.contact_set_trace(
        actor=actor, contact=contact, status=payload.trace_status, note=payload.note
    )
    return contact_out(request, contact)


@router.get("/cases/{case_id}/graph")
@scoped
def case_graph(request: HttpRequest, case_id: int) -> Any:
    case = _case(request, case_id)
    return chain_graph(actor=actor_of(request), case=case)


class ExportIn(Schema):
    reason: str


@router.post(
    "/cases/{case_id}/assistance-export",
    response={200: None, 403: ErrorOut},
    openapi_extra={"responses": {200: {"content": {XLSX_TYPE: {}}}}},
)
@scoped
def case_assistance_export(request: HttpRequest, case_id: int, payload: ExportIn) -> Any:
    """协查函 out: our contacts living elsewhere, full ID numbers (an audited reveal)."""
    case = _case(request, case_id)
    content, filename = assistance_export(
        actor=actor_of(request), case=case, reason=payload.reason, client_ip=client_ip(request)
    )
    return xlsx_response(content, f"{filename}")
