"""The command API (mounted at /api/v1/command): units and duties, each unit's queue, orders
issued to many units, the obligations with their timeline and evidence, and meeting minutes
turned into directives. Every read goes through the command selectors; a unit or obligation
outside the caller's jurisdiction answers 404, a unit named in a body 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from fangkong.command import selectors as sel
from fangkong.command.minutes import propose
from fangkong.command.models import Evidence, Issue, Obligation, Unit
from fangkong.command.services import directives as dirs
from fangkong.command.services import ledger
from fangkong.command.services import units as unit_services
from fangkong.command.services.evidence import Upload, evidence_path
from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    DbId,
    ErrorOut,
    actor_of,
    get_scoped_or_404,
    page_dict,
    region_named,
    scoped,
)
from fangkong.core.validators import FieldError

router = Router(tags=["command"])
REFUSALS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_FILES = 10


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    region_name: str
    superior_id: int | None
    duties: dict[str, str]
    aliases: list[str]
    active: bool


class UnitPage(Schema):
    items: list[UnitOut]
    count: int
    page: int
    page_size: int


class UnitIn(Schema):
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    kind: str
    region_code: str = Field(max_length=32)
    superior_id: DbId | None = None
    duties: dict[str, str] = {}
    aliases: list[str] = Field(default=[], max_length=50)


class UnitPatch(Schema):
    name: str | None = Field(None, max_length=100)
    superior_id: DbId | None = None
    duties: dict[str, str] | None = None
    aliases: list[str] | None = Field(None, max_length=50)
    active: bool | None = None


class MemberIn(Schema):
    user_id: DbId
    member: bool = True


def unit_out(u: Unit) -> dict[str, Any]:
    return {
        "id": u.pk, "code": u.code, "name": u.name, "kind": u.kind,
        "region_code": u.region.code, "region_name": u.region.name,
        "superior_id": u.superior_id, "duties": u.duties, "aliases": u.aliases,
        "active": u.active,
    }  # fmt: skip


def _unit(request: HttpRequest, unit_id: int) -> Unit:
    found: Unit = get_scoped_or_404(sel.unit_list(actor=actor_of(request)), pk=unit_id)
    return found


def _named_unit(request: HttpRequest, unit_id: int, field: str) -> Unit:
    """A unit named in a body: one the caller cannot see is refused on its field."""
    found = sel.unit_list(actor=actor_of(request)).filter(pk=unit_id).first()
    if found is None:
        raise FieldError(field, _("no such unit: %(id)s") % {"id": unit_id})
    return found


def _superior(request: HttpRequest, unit_id: int | None) -> Unit | None:
    return _named_unit(request, unit_id, "superior_id") if unit_id else None


@router.get("/units", response=UnitPage)
@scoped
def unit_list(
    request: HttpRequest, kind: str | None = None, page: int = 1, page_size: int = 100
) -> Any:
    qs = sel.unit_list(actor=actor_of(request), kind=kind)
    return page_dict(qs, page=page, page_size=page_size, out=unit_out)


@router.get("/units/mine", response=list[UnitOut])
@scoped
def my_units(request: HttpRequest) -> Any:
    return [unit_out(u) for u in sel.my_units(actor=actor_of(request))]


@router.post("/units", response={201: UnitOut, **REFUSALS})
@scoped
def unit_create(request: HttpRequest, payload: UnitIn) -> Any:
    actor = actor_of(request)
    region = region_named(actor, payload.region_code)
    unit = unit_services.unit_create(
        actor=actor, code=payload.code, name=payload.name, kind=payload.kind, region=region,
        superior=_superior(request, payload.superior_id), duties=payload.duties,
        aliases=payload.aliases,
    )  # fmt: skip
    return 201, unit_out(_unit(request, unit.pk))


@router.get("/units/{int:unit_id}", response=UnitOut)
@scoped
def unit_get(request: HttpRequest, unit_id: int) -> Any:
    return unit_out(_unit(request, unit_id))


@router.patch("/units/{int:unit_id}", response={200: UnitOut, **REFUSALS})
@scoped
def unit_update(request: HttpRequest, unit_id: int, payload: UnitPatch) -> Any:
    unit = unit_services.unit_update(
        actor=actor_of(request), unit=_unit(request, unit_id), name=payload.name,
        superior=_superior(request, payload.superior_id), duties=payload.duties,
        aliases=payload.aliases, active=payload.active,
    )  # fmt: skip
    return unit_out(unit)


@router.post("/units/{int:unit_id}/members", response={204: None, **REFUSALS})
@scoped
def unit_member(request: HttpRequest, unit_id: int, payload: MemberIn) -> Any:
    actor = actor_of(request)
    unit = _unit(request, unit_id)
    user = sel.member_candidates(actor=actor).filter(pk=payload.user_id).first()
    if user is None:
        raise FieldError("user_id", _("no such user"))
    unit_services.unit_member_set(actor=actor, unit=unit, user=user, member=payload.member)
    return 204, None


# -- obligations ------------------------------------------------------------------------------


class ObligationOut(Schema):
    id: int
    issue_id: int
    issue_number: str
    issue_kind: str
    title: str
    issuer: str
    unit_id: int
    unit: str
    role: str
    duty: str
    deadline: dt.datetime
    state: str
    stage: str
    late: bool
    issued_at: dt.datetime
    acknowledged_at: dt.datetime | None
    completed_at: dt.datetime | None
    verified_at: dt.datetime | None
    minutes_to_acknowledge: int | None
    times_returned: int
    times_reopened: int


class ObligationPage(Schema):
    items: list[ObligationOut]
    count: int
    page: int
    page_size: int


class EvidenceOut(Schema):
    id: int
    filename: str
    size: int
    content_type: str
    sha256: str


class EventOut(Schema):
    kind: str
    at: dt.datetime
    unit: str
    actor: str
    text: str
    link: str
    files: list[EvidenceOut]


class ObligationDetail(ObligationOut):
    evidence_expected: str
    events: list[EventOut]


def obligation_out(o: Obligation) -> dict[str, Any]:
    ack = o.acknowledged_at
    return {
        "id": o.pk, "issue_id": o.issue_id, "issue_number": o.issue.number,
        "issue_kind": o.issue.kind, "title": o.issue.title, "issuer": o.issue.issuer.name,
        "unit_id": o.unit_id, "unit": o.unit.name, "role": o.role, "duty": o.duty,
        "deadline": o.deadline, "state": o.state, "stage": o.stage, "late": o.late,
        "issued_at": o.issued_at, "acknowledged_at": ack, "completed_at": o.completed_at,
        "verified_at": o.verified_at,
        "minutes_to_acknowledge": int((ack - o.issued_at).total_seconds() // 60) if ack else None,
        "times_returned": o.times_returned, "times_reopened": o.times_reopened,
    }  # fmt: skip


def obligation_detail(o: Obligation) -> dict[str, Any]:
    events = [
        {
            "kind": e.kind, "at": e.at, "unit": e.unit.name, "actor": e.actor.get_username(),
            "text": e.text, "link": e.link,
            "files": [{"id": f.pk, "filename": f.filename, "size": f.size,
                       "content_type": f.content_type, "sha256": f.sha256} for f in e.files.all()],
        }
        for e in o.events.all()
    ]  # fmt: skip
    return {**obligation_out(o), "evidence_expected": o.issue.evidence_expected, "events": events}


def _obligation(request: HttpRequest, obligation_id: int) -> Obligation:
    qs = sel.obligation_get_qs(actor=actor_of(request), now=timezone.now())
    found: Obligation = get_scoped_or_404(qs, pk=obligation_id)
    return found


@router.get("/queue", response=ObligationPage)
@scoped
def queue(
    request: HttpRequest, stage: str | None = None, page: int = 1, page_size: int = 50
) -> Any:
    """What the caller's units must do: their open obligations, completions awaiting their
    verification, and obligations escalated to them from the units below."""
    qs = sel.my_queue(actor=actor_of(request), now=timezone.now(), stage=_stage(stage))
    return page_dict(qs, page=page, page_size=page_size, out=obligation_out)


def _stage(stage: str | None) -> str | None:
    if stage and stage not in sel.STAGE_FILTERS:
        raise FieldError("stage", _("unknown stage: %(s)s") % {"s": stage})
    return stage or None


@router.get("/obligations", response=ObligationPage)
@scoped
def obligation_list(
    request: HttpRequest, stage: str | None = None, unit_id: DbId | None = None,
    issue_id: DbId | None = None, kind: str | None = None, page: int = 1, page_size: int = 50,
) -> Any:  # fmt: skip
    actor = actor_of(request)
    unit = _unit(request, unit_id) if unit_id else None
    issue = get_scoped_or_404(_issues(request), pk=issue_id) if issue_id else None
    qs = sel.obligation_list(
        actor=actor, now=timezone.now(), stage=_stage(stage), unit=unit, issue=issue, kind=kind
    )
    return page_dict(qs, page=page, page_size=page_size, out=obligation_out)


@router.get("/obligations/counts", response=dict[str, int])
@scoped
def obligation_counts(request: HttpRequest, unit_id: DbId | None = None) -> Any:
    """How many obligations are at each stage (and late): the same conditions as the list."""
    now = timezone.now()
    unit = _unit(request, unit_id) if unit_id else None
    return sel.stage_counts(sel.obligation_list(actor=actor_of(request), now=now, unit=unit), now)


@router.get("/obligations/{int:obligation_id}", response=ObligationDetail)
@scoped
def obligation_get(request: HttpRequest, obligation_id: int) -> Any:
    return obligation_detail(_obligation(request, obligation_id))


@router.post("/obligations/{int:obligation_id}/acknowledge", response={200: ObligationOut,
             **REFUSALS})  # fmt: skip
@scoped
def obligation_acknowledge(request: HttpRequest, obligation_id: int) -> Any:
    ob = _obligation(request, obligation_id)
    ledger.obligation_acknowledge(actor=actor_of(request), obligation=ob)
    return obligation_out(_obligation(request, obligation_id))


@router.post("/obligations/{int:obligation_id}/notes", response={201: ObligationDetail,
             **REFUSALS})  # fmt: skip
@decorate_view(upload_limit(MAX_FILES * 10 * 1024 * 1024))
@scoped
def obligation_note(
    request: HttpRequest, obligation_id: int, text: Form[str] = "", link: Form[str] = "",
    complete: Form[bool] = False, files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Any:  # fmt: skip
    """A progress note (multipart form: `text`, `link` to a page of this system, `files`:
    photos, PDF, xlsx or docx); with `complete=true`, the report that the work is done."""
    uploads = [Upload(f.name or "", f) for f in files or []]
    if len(uploads) > MAX_FILES:
        raise FieldError("files", _("at most %(n)d files at once") % {"n": MAX_FILES})
    ledger.obligation_note(
        actor=actor_of(request), obligation=_obligation(request, obligation_id), text=text,
        link=link, files=uploads, complete=complete,
    )  # fmt: skip
    return 201, obligation_detail(_obligation(request, obligation_id))


class NoteIn(Schema):
    note: str = Field("", max_length=4000)


class ReasonIn(Schema):
    reason: str = Field(max_length=4000)


@router.post("/obligations/{int:obligation_id}/verify", response={200: ObligationOut,
             **REFUSALS})  # fmt: skip
@scoped
def obligation_verify(request: HttpRequest, obligation_id: int, payload: NoteIn) -> Any:
    ledger.obligation_verify(
        actor=actor_of(request), obligation=_obligation(request, obligation_id), note=payload.note
    )
    return obligation_out(_obligation(request, obligation_id))


DECISIONS = {
    "return": ledger.obligation_return,
    "reopen": ledger.obligation_reopen,
    "cancel": ledger.obligation_cancel,
}


def _decide(request: HttpRequest, obligation_id: int, decision: str, reason: str) -> Any:
    ob = _obligation(request, obligation_id)
    DECISIONS[decision](actor=actor_of(request), obligation=ob, reason=reason)
    return obligation_out(_obligation(request, obligation_id))


@router.post("/obligations/{int:obligation_id}/return", response={200: ObligationOut,
             **REFUSALS})  # fmt: skip
@scoped
def obligation_return(request: HttpRequest, obligation_id: int, payload: ReasonIn) -> Any:
    """Send a completion back to the unit: the evidence does not show the work done."""
    return _decide(request, obligation_id, "return", payload.reason)


@router.post("/obligations/{int:obligation_id}/reopen", response={200: ObligationOut,
             **REFUSALS})  # fmt: skip
@scoped
def obligation_reopen(request: HttpRequest, obligation_id: int, payload: ReasonIn) -> Any:
    return _decide(request, obligation_id, "reopen", payload.reason)


@router.post("/obligations/{int:obligation_id}/cancel", response={200: ObligationOut,
             **REFUSALS})  # fmt: skip
@scoped
def obligation_cancel(request: HttpRequest, obligation_id: int, payload: ReasonIn) -> Any:
    return _decide(request, obligation_id, "cancel", payload.reason)


@router.get(
    "/evidence/{int:evidence_id}",
    response={200: None, 404: ErrorOut},
    openapi_extra={"responses": {"200": {"description": "the file", "content": {"*/*": {}}}}},
)
@scoped
def evidence_get(request: HttpRequest, evidence_id: int) -> Any:
    qs = sel.evidence_get_qs(actor=actor_of(request))
    found: Evidence = get_scoped_or_404(qs, pk=evidence_id)
    return evidence_file(found)


def evidence_file(found: Evidence) -> FileResponse:
    return FileResponse(
        evidence_path(found).open("rb"), as_attachment=True, filename=found.filename,
        content_type=found.content_type,
    )  # fmt: skip


# -- issues -----------------------------------------------------------------------------------


class PartIn(Schema):
    unit_id: DbId
    role: str = "lead"
    duty: str = Field("", max_length=4000)
    deadline: dt.datetime | None = None


class IssueIn(Schema):
    issuer_id: DbId
    title: str = Field(max_length=200)
    body: str = Field("", max_length=4000)
    evidence_expected: str = Field("", max_length=500)
    deadline: dt.datetime
    units: list[PartIn] = Field(max_length=ledger.MAX_UNITS)


class IssueOut(Schema):
    id: int
    kind: str
    number: str
    title: str
    body: str
    evidence_expected: str
    issuer_id: int
    issuer: str
    meeting_id: int | None
    deadline: dt.datetime
    issued_at: dt.datetime
    units: int
    closed: int
    awaiting: int
    late: int
    unacknowledged: int


class IssuePage(Schema):
    items: list[IssueOut]
    count: int
    page: int
    page_size: int


ISSUE_FIELDS = (
    "id", "kind", "number", "title", "body", "evidence_expected", "issuer_id", "meeting_id",
    "deadline", "issued_at", "units", "closed", "awaiting", "late", "unacknowledged",
)  # fmt: skip


def issue_out(i: Issue) -> dict[str, Any]:
    return {**{f: getattr(i, f) for f in ISSUE_FIELDS}, "issuer": i.issuer.name}


def _issues(request: HttpRequest) -> Any:
    return sel.issue_list(actor=actor_of(request), now=timezone.now())


def _parts(request: HttpRequest, parts: list[PartIn]) -> list[ledger.Part]:
    return [
        ledger.Part(
            unit=_named_unit(request, p.unit_id, f"units.{n}.unit_id"),
            role=p.role, duty=p.duty, deadline=p.deadline,
        )
        for n, p in enumerate(parts, start=1)
    ]  # fmt: skip


@router.get("/issues", response=IssuePage)
@scoped
def issue_list(
    request: HttpRequest, kind: str | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = sel.issue_list(actor=actor_of(request), now=timezone.now(), kind=kind)
    return page_dict(qs, page=page, page_size=page_size, out=issue_out)


@router.post("/issues", response={201: IssueOut, **REFUSALS})
@scoped
def issue_create(request: HttpRequest, payload: IssueIn) -> Any:
    """Issue an order to many units at once: one obligation each, lead or supporting, each with
    its own duty and deadline when given (else the order's)."""
    made = ledger.issue_create(
        actor=actor_of(request), issuer=_named_unit(request, payload.issuer_id, "issuer_id"),
        kind="order", title=payload.title, body=payload.body,
        evidence_expected=payload.evidence_expected, deadline=payload.deadline,
        parts=_parts(request, payload.units),
    )  # fmt: skip
    return 201, issue_out(get_scoped_or_404(_issues(request), pk=made.pk))


@router.get("/issues/{int:issue_id}", response=IssueOut)
@scoped
def issue_get(request: HttpRequest, issue_id: int) -> Any:
    return issue_out(get_scoped_or_404(_issues(request), pk=issue_id))


# -- meetings ---------------------------------------------------------------------------------


class MinutesIn(Schema):
    minutes: str = Field(max_length=dirs.MAX_MINUTES)


class ProposalOut(Schema):
    text: str
    duty: str
    lead: list[int]
    support: list[int]
    lead_names: list[str]
    support_names: list[str]
    deadline: dt.datetime | None
    deadline_text: str
    needs_deadline: bool


class DirectiveIn(Schema):
    duty: str = Field(max_length=4000)
    lead: list[DbId] = Field(max_length=ledger.MAX_UNITS)
    support: list[DbId] = Field(default=[], max_length=ledger.MAX_UNITS)
    deadline: dt.datetime | None = None


class MeetingIn(Schema):
    issuer_id: DbId
    title: str = Field(max_length=200)
    held_on: dt.date
    minutes: str = Field(max_length=dirs.MAX_MINUTES)
    items: list[DirectiveIn] = Field(max_length=dirs.MAX_ITEMS)


class MeetingOut(Schema):
    id: int
    title: str
    held_on: dt.date
    issuer: str
    directives: list[IssueOut]


@router.post("/minutes/proposals", response=list[ProposalOut])
@scoped
def minutes_proposals(request: HttpRequest, payload: MinutesIn) -> Any:
    """Read pasted minutes: the directives they give, with the units (from the caller's unit
    dictionary), lead and supporting, and a deadline where the text says one. Nothing is
    stored; confirm the edited items with `POST /meetings`."""
    names = sel.unit_names(actor=actor_of(request))
    label = {n.pk: n.names[0] for n in names}
    return [
        {**p.__dict__, "lead_names": [label[pk] for pk in p.lead],
         "support_names": [label[pk] for pk in p.support]}
        for p in propose(payload.minutes, names, timezone.now())
    ]  # fmt: skip


def _directive_units(request: HttpRequest, ids: list[int], n: int, part: str) -> list[Unit]:
    return [_named_unit(request, pk, f"items.{n}.{part}") for pk in ids]


@router.post("/meetings", response={201: MeetingOut, **REFUSALS})
@scoped
def meeting_create(request: HttpRequest, payload: MeetingIn) -> Any:
    """Confirm a meeting's directives into obligations in one step: all items or none."""
    items = [
        dirs.Directive(
            duty=item.duty, lead=_directive_units(request, item.lead, n, "lead"),
            support=_directive_units(request, item.support, n, "support"), deadline=item.deadline,
        )
        for n, item in enumerate(payload.items, start=1)
    ]  # fmt: skip
    issued = dirs.directives_confirm(
        actor=actor_of(request), issuer=_named_unit(request, payload.issuer_id, "issuer_id"),
        title=payload.title, held_on=payload.held_on, minutes=payload.minutes, directives=items,
    )  # fmt: skip
    meeting = issued[0].meeting
    assert meeting is not None
    rows = _issues(request).filter(meeting=meeting).order_by("pk")
    return 201, {
        "id": meeting.pk, "title": meeting.title, "held_on": meeting.held_on,
        "issuer": meeting.issuer.name, "directives": [issue_out(i) for i in rows],
    }  # fmt: skip
