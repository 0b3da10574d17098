"""The supervision API (mounted at /api/v1/command/problems): the catalogue of problem kinds,
problems recorded with photos and place (multipart), the problems in scope, recurrence by site
and kind, and the random re-inspection sample. A problem's rectification, verification,
sending back and reopening are its obligation's calls under /api/v1/command/obligations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, UploadedFile
from ninja.decorators import decorate_view

from fangkong.command import selectors as sel
from fangkong.command import selectors_supervision as ssel
from fangkong.command.models import WORKING_STATES, Problem, Reinspection
from fangkong.command.services import supervision
from fangkong.command.services.evidence import Upload
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
MAX_PHOTOS = 9


class KindIn(Schema):
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    days: int = Field(ge=0, le=1000)
    active: bool = True


class KindOut(Schema):
    id: int
    code: str
    name: str
    days: int
    active: bool


class ProblemOut(Schema):
    id: int
    number: str
    kind: str
    severity: str
    site: str
    region_code: str
    latitude: float | None
    longitude: float | None
    observed_at: dt.datetime
    unit_id: int
    unit: str
    obligation_id: int
    state: str
    overdue: bool
    deadline: dt.datetime


class ProblemPage(Schema):
    items: list[ProblemOut]
    count: int
    page: int
    page_size: int


class RecurrenceOut(Schema):
    site: str
    kind: str
    times: int
    last: dt.datetime


class DrawIn(Schema):
    region_code: str = Field(max_length=32)
    share: float = Field(0.1, gt=0, le=1)
    minimum: int = Field(1, ge=0, le=500)


class ReinspectionOut(Schema):
    id: int
    problem_id: int
    site: str
    kind: str
    drawn_at: dt.datetime
    held: bool | None
    note: str


class FindingIn(Schema):
    held: bool
    note: str = Field("", max_length=4000)


def kind_out(k: Any) -> dict[str, Any]:
    return {"id": k.pk, "code": k.code, "name": k.name, "days": k.days, "active": k.active}


def problem_out(p: Problem, now: dt.datetime) -> dict[str, Any]:
    ob = p.obligation
    return {
        "id": p.pk, "number": p.issue.number, "kind": p.kind.name, "severity": p.severity,
        "site": p.site, "region_code": p.region.code,
        "latitude": None if p.latitude is None else float(p.latitude),
        "longitude": None if p.longitude is None else float(p.longitude),
        "observed_at": p.observed_at, "unit_id": ob.unit_id, "unit": ob.unit.name,
        "obligation_id": ob.pk, "state": ob.state,
        "overdue": ob.state in WORKING_STATES and ob.deadline < now, "deadline": ob.deadline,
    }  # fmt: skip


def reinspection_out(r: Reinspection) -> dict[str, Any]:
    return {
        "id": r.pk, "problem_id": r.problem_id, "site": r.problem.site,
        "kind": r.problem.kind.name, "drawn_at": r.drawn_at, "held": r.held, "note": r.note,
    }  # fmt: skip


@router.get("/kinds", response=list[KindOut])
@scoped
def kind_list(request: HttpRequest) -> Any:
    return [kind_out(k) for k in ssel.kind_list(active=None)]


@router.post("/kinds", response={200: KindOut, **REFUSALS})
@scoped
def kind_save(request: HttpRequest, payload: KindIn) -> Any:
    kind = supervision.problem_kind_save(
        actor=actor_of(request), code=payload.code, name=payload.name, days=payload.days,
        active=payload.active,
    )  # fmt: skip
    return kind_out(kind)


@router.get("/", response=ProblemPage)
@scoped
def problem_list(
    request: HttpRequest, state: str = "", kind_id: DbId | None = None, severity: str = "",
    page: int = 1, page_size: int = 50,
) -> Any:  # fmt: skip
    """The problems found in the caller's jurisdiction, newest first (two queries)."""
    qs = ssel.problem_list(
        actor=actor_of(request), state=state or None, kind_id=kind_id, severity=severity or None
    )
    now = timezone.now()
    return page_dict(qs, page=page, page_size=page_size, out=lambda p: problem_out(p, now))


@router.post("/", response={201: ProblemOut, **REFUSALS})
@decorate_view(upload_limit(MAX_PHOTOS * 10 * 1024 * 1024))
@scoped
def problem_record(
    request: HttpRequest, inspector_unit_id: Form[DbId], unit_id: Form[DbId], kind_id: Form[DbId],
    severity: Form[str], site: Form[str], region_code: Form[str], description: Form[str] = "",
    latitude: Form[str] = "", longitude: Form[str] = "", ref: Form[str] = "",
    observed_at: Form[dt.datetime | None] = None, days: Form[int | None] = None,
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Any:  # fmt: skip
    """Record a problem (multipart form; `photos`: images of the site) and issue it to the
    responsible unit; a retry with the same `ref` answers the problem already recorded."""
    actor = actor_of(request)
    uploads = [Upload(f.name or "", f) for f in photos or []]
    if len(uploads) > MAX_PHOTOS:
        raise FieldError("photos", _("at most %(n)d files at once") % {"n": MAX_PHOTOS})
    inspector = sel.my_units(actor=actor).filter(pk=inspector_unit_id).first()
    if inspector is None:
        raise FieldError("inspector_unit_id", _("choose one of your units"))
    unit = sel.unit_list(actor=actor).filter(pk=unit_id, active=True).first()
    if unit is None:
        raise FieldError("unit_id", _("no such unit: %(id)s") % {"id": unit_id})
    kind = ssel.kind_list(active=None).filter(pk=kind_id).first()
    if kind is None:
        raise FieldError("kind_id", _("no such kind: %(id)s") % {"id": kind_id})
    region = region_named(actor, region_code)
    problem = supervision.problem_record(
        actor=actor, inspector_unit=inspector, unit=unit, kind=kind, severity=severity,
        site=site, region=region, description=description, observed_at=observed_at,
        latitude=latitude, longitude=longitude, photos=uploads, days=days, ref=ref,
    )  # fmt: skip
    return 201, problem_out(_problem(request, problem.pk), timezone.now())


def _problem(request: HttpRequest, problem_id: int) -> Problem:
    qs = ssel.problem_list(actor=actor_of(request))
    found: Problem = get_scoped_or_404(qs, pk=problem_id)
    return found


@router.get("/recurrence", response=list[RecurrenceOut])
@scoped
def recurrence(request: HttpRequest, days: int = 90, minimum: int = 2) -> Any:
    """Sites where one kind of problem was found `minimum` times or more in the last `days`."""
    since = timezone.now() - dt.timedelta(days=max(1, min(days, 366)))
    rows = ssel.recurrence(actor=actor_of(request), since=since, minimum=max(2, minimum))
    return [r.__dict__ for r in rows]


@router.get("/reinspections", response=list[ReinspectionOut])
@scoped
def reinspection_list(request: HttpRequest, pending: bool | None = None) -> Any:
    rows = ssel.reinspection_list(actor=actor_of(request), pending=pending)[:500]
    return [reinspection_out(r) for r in rows]


@router.post("/reinspections", response={201: list[ReinspectionOut], **REFUSALS})
@scoped
def reinspection_draw(request: HttpRequest, payload: DrawIn) -> Any:
    """Draw a random share of the closed problems found in the region for re-inspection."""
    actor = actor_of(request)
    region = region_named(actor, payload.region_code)
    drawn = supervision.reinspection_draw(
        actor=actor, region=region, share=payload.share, minimum=payload.minimum
    )
    return 201, [reinspection_out(r) for r in drawn]


@router.post("/reinspections/{int:reinspection_id}", response={200: ReinspectionOut, **REFUSALS})
@scoped
def reinspection_record(request: HttpRequest, reinspection_id: int, payload: FindingIn) -> Any:
    """What the re-inspection found; `held=false` reopens the problem with the note."""
    qs = ssel.reinspection_list(actor=actor_of(request))
    found: Reinspection = get_scoped_or_404(qs, pk=reinspection_id)
    done = supervision.reinspection_record(
        actor=actor_of(request), reinspection=found, held=payload.held, note=payload.note
    )
    return reinspection_out(get_scoped_or_404(qs, pk=done.pk))


@router.get("/{int:problem_id}", response=ProblemOut)
@scoped
def problem_get(request: HttpRequest, problem_id: int) -> Any:
    return problem_out(_problem(request, problem_id), timezone.now())
