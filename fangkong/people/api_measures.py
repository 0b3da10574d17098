"""Control measures API: list, counts, get with history, propose, and every transition.

Plans and the active disease profile are readable by every signed-in user and changed by the
command office only. A measure outside the caller's jurisdiction answers 404; a transition the
state table refuses answers 409; a bad value answers 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_slice,
    scoped,
)
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import ControlMeasure, DiseaseProfile, MeasurePlan
from fangkong.people.selectors import measures as selectors
from fangkong.people.selectors.persons import person_get_qs
from fangkong.people.services import measure_plans, measures

router = Router(tags=["measures"])

# Lists and pages show masks only; not loading the ciphertext keeps it out of memory.
PERSON_CIPHERTEXT = ("person__id_number_ct", "person__phone_ct", "person__address_ct")


class PersonRef(Schema):
    id: int
    name: str
    id_number: str


class PhaseOut(Schema):
    kind: str
    days: int
    start: dt.date
    end: dt.date


class MeasureOut(Schema):
    id: int
    person: PersonRef
    region_code: str
    region_name: str
    plan_key: str
    plan_name: str
    kind: str
    current_kind: str | None
    state: str
    start_date: dt.date
    planned_end: dt.date
    actual_end: dt.date | None
    test_days: list[dt.date]
    source_type: str
    generation: int | None
    converted_to: str
    site_id: int | None
    release_overdue: bool
    test_overdue: bool


class EventOut(Schema):
    at: dt.datetime
    actor: str
    from_state: str
    to_state: str
    note: str


class TestOut(Schema):
    day: dt.date
    planned: bool
    result: str
    overdue: bool


class MeasureDetailOut(MeasureOut):
    source_id: str
    reason: str
    phases: list[PhaseOut]
    superseded_by: int | None
    tests: list[TestOut]
    events: list[EventOut]


class MeasurePage(Page):
    items: list[MeasureOut]
    results: list[MeasureOut] = RESULTS_ALIAS


def measure_out(m: ControlMeasure, today: dt.date) -> dict[str, Any]:
    phase = measures.measure_current_phase(m, today)
    return {
        "id": m.pk,
        "person": {"id": m.person_id, "name": m.person.name, "id_number": m.person.id_number_mask},
        "region_code": m.region.code,
        "region_name": m.region.name,
        "plan_key": m.plan.key,
        "plan_name": m.plan.name,
        "kind": m.kind,
        "current_kind": phase.kind if phase and m.state in ("in_force", "extended") else None,
        "state": m.state,
        "start_date": m.start_date,
        "planned_end": m.planned_end,
        "actual_end": m.actual_end,
        "test_days": m.test_days,
        "source_type": m.source_type,
        "generation": m.generation,
        "converted_to": m.converted_to,
        "site_id": m.site_id,
        "release_overdue": bool(getattr(m, "release_overdue", False)),
        "test_overdue": bool(getattr(m, "test_overdue", False)),
    }


def measure_detail_out(m: ControlMeasure) -> dict[str, Any]:
    today = timezone.localdate()
    in_force = m.state in ("in_force", "extended")
    return {
        **measure_out(m, today),
        "source_id": m.source_id,
        "reason": m.reason,
        "phases": [
            {"kind": p.kind, "days": (p.end - p.start).days + 1, "start": p.start, "end": p.end}
            for p in measures.measure_phases(m)
        ],
        "superseded_by": m.superseded_by_id,
        "tests": [
            {
                "day": t.day,
                "planned": t.planned,
                "result": t.result,
                "overdue": in_force and not t.result and t.day < today,
            }
            for t in selectors.measure_tests(measure=m)
        ],
        "events": [
            {
                "at": e.at,
                "actor": e.actor.username if e.actor else "system",
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
            }
            for e in selectors.measure_events(measure=m)
        ],
    }


# --- plans and profile (literal paths first, before /{measure_id}) -------------------------


class PlanOut(Schema):
    key: str
    name: str
    phases: list[dict[str, Any]]
    test_offsets: list[int]
    total_days: int
    active: bool


class PlanIn(Schema):
    name: str
    phases: list[dict[str, Any]]
    test_offsets: list[int] = []
    active: bool = True


def plan_out(p: MeasurePlan) -> dict[str, Any]:
    return {
        "key": p.key,
        "name": p.name,
        "phases": p.phases,
        "test_offsets": p.test_offsets,
        "total_days": p.total_days,
        "active": p.active,
    }


@router.get("/plans", response=list[PlanOut])
@scoped
def plan_list(request: HttpRequest) -> Any:
    return [plan_out(p) for p in selectors.plan_list(actor=actor_of(request))]


@router.put("/plans/{key}", response={200: PlanOut, 403: ErrorOut})
@scoped
def plan_save(request: HttpRequest, key: str, payload: PlanIn) -> Any:
    plan = measure_plans.measure_plan_save(
        actor=actor_of(request),
        key=key,
        name=payload.name,
        phases=payload.phases,
        test_offsets=payload.test_offsets,
        active=payload.active,
    )
    return plan_out(plan)


class ProfileOut(Schema):
    key: str
    name: str
    incubation_days: int
    lookback_days: int
    max_generation: int
    investigation_hours: int
    generation_plans: dict[str, str]


class ProfilePatch(Schema):
    name: str | None = None
    incubation_days: int | None = None
    lookback_days: int | None = None
    max_generation: int | None = None
    investigation_hours: int | None = None
    generation_plans: dict[str, str] | None = None


def _profile(request: HttpRequest) -> DiseaseProfile:
    profile = selectors.profile_active(actor=actor_of(request))
    if profile is None:
        raise Http404()
    return profile


@router.get("/profile", response=ProfileOut)
@scoped
def profile_get(request: HttpRequest) -> Any:
    return _profile(request)


@router.patch("/profile", response={200: ProfileOut, 403: ErrorOut})
@scoped
def profile_update(request: HttpRequest, payload: ProfilePatch) -> Any:
    return measure_plans.disease_profile_update(
        actor=actor_of(request),
        profile=_profile(request),
        changes=payload.dict(exclude_none=True),
    )


class CountsOut(Schema):
    by_kind_state: dict[str, dict[str, int]]
    by_region: list[dict[str, Any]]
    totals: dict[str, int]


@router.get("/counts", response=CountsOut)
@scoped
def measure_counts(request: HttpRequest) -> Any:
    return selectors.measure_counts(actor=actor_of(request))


# --- measures -------------------------------------------------------------------------------


@router.get("", response=MeasurePage)
@scoped
def measure_list(
    request: HttpRequest,
    state: str | None = None,
    kind: str | None = None,
    region: str | None = None,
    overdue: str | None = None,
    # a database key is a signed 64-bit integer: larger ids are a 422, not an overflow (500)
    person_id: int | None = Query(None, ge=1, le=2**63 - 1),
    page: int = 1,
    page_size: int = 50,
) -> Any:
    """`state=active` lists measures in force or extended; `overdue` is any, release or test."""
    today = timezone.localdate()
    qs = selectors.measure_list(
        actor=actor_of(request),
        state=state,
        kind=kind,
        region_code=region,
        overdue="any" if overdue in ("true", "1") else overdue,
        person_id=person_id,
        today=today,
    ).defer(*PERSON_CIPHERTEXT)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [measure_out(m, today) for m in rows],
    }


class ProposeIn(Schema):
    person_id: int
    plan_key: str
    start: dt.date | None = None
    reason: str = ""
    # a client's idempotency key: retrying the same POST returns the same measure
    request_id: str | None = None


def _get(request: HttpRequest, measure_id: int) -> ControlMeasure:
    return get_scoped_or_404(selectors.measure_get_qs(actor=actor_of(request)), pk=measure_id)


def _detail(request: HttpRequest, measure_id: int) -> dict[str, Any]:
    return measure_detail_out(_get(request, measure_id))


@router.post("", response={201: MeasureDetailOut, 403: ErrorOut})
@scoped
def measure_propose(request: HttpRequest, payload: ProposeIn) -> Any:
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=payload.person_id)
    plan = selectors.plan_list(actor=actor).filter(key=payload.plan_key, active=True).first()
    if plan is None:
        raise FieldError("plan_key", _("unknown or inactive plan"))
    request_id = (payload.request_id or "").strip()[:40] or uuid.uuid4().hex
    measure = measures.measure_propose(
        actor=actor,
        person=person,
        plan=plan,
        start=payload.start or timezone.localdate(),
        source_type="manual",
        source_id=f"{actor.pk}:{request_id}",
        reason=payload.reason,
    )
    return 201, _detail(request, measure.pk)


class StartIn(Schema):
    start: dt.date | None = None


class ExtendIn(Schema):
    days: int
    reason: str


class ReleaseIn(Schema):
    on: dt.date | None = None
    reason: str = ""


class ConvertIn(Schema):
    to: str
    reason: str


class ReasonIn(Schema):
    reason: str


class SiteIn(Schema):
    site_id: int | None


TRANSITION_RESPONSES = {200: MeasureDetailOut, 403: ErrorOut, 409: ErrorOut}


@router.get("/{measure_id}", response=MeasureDetailOut)
@scoped
def measure_get(request: HttpRequest, measure_id: int) -> Any:
    return _detail(request, measure_id)


@router.post("/{measure_id}/start", response=TRANSITION_RESPONSES)
@scoped
def measure_start(request: HttpRequest, measure_id: int, payload: StartIn) -> Any:
    m = _get(request, measure_id)
    measures.measure_start(actor=actor_of(request), measure=m, start=payload.start)
    return _detail(request, measure_id)


@router.post("/{measure_id}/extend", response=TRANSITION_RESPONSES)
@scoped
def measure_extend(request: HttpRequest, measure_id: int, payload: ExtendIn) -> Any:
    m = _get(request, measure_id)
    measures.measure_extend(
        actor=actor_of(request), measure=m, days=payload.days, reason=payload.reason
    )
    return _detail(request, measure_id)


@router.post("/{measure_id}/release", response=TRANSITION_RESPONSES)
@scoped
def measure_release(request: HttpRequest, measure_id: int, payload: ReleaseIn) -> Any:
    m = _get(request, measure_id)
    measures.measure_release(
        actor=actor_of(request), measure=m, on=payload.on, reason=payload.reason
    )
    return _detail(request, measure_id)


@router.post("/{measure_id}/convert", response=TRANSITION_RESPONSES)
@scoped
def measure_convert(request: HttpRequest, measure_id: int, payload: ConvertIn) -> Any:
    m = _get(request, measure_id)
    measures.measure_convert(
        actor=actor_of(request), measure=m, to=payload.to, reason=payload.reason
    )
    return _detail(request, measure_id)


@router.post("/{measure_id}/cancel", response=TRANSITION_RESPONSES)
@scoped
def measure_cancel(request: HttpRequest, measure_id: int, payload: ReasonIn) -> Any:
    m = _get(request, measure_id)
    measures.measure_cancel(actor=actor_of(request), measure=m, reason=payload.reason)
    return _detail(request, measure_id)


@router.post("/{measure_id}/site", response=TRANSITION_RESPONSES)
@scoped
def measure_assign_site(request: HttpRequest, measure_id: int, payload: SiteIn) -> Any:
    actor = actor_of(request)
    m = _get(request, measure_id)
    measures.measure_assign_site(actor=actor, measure=m, site_id=payload.site_id)
    return _detail(request, measure_id)
