"""The releases API, under /api/v1/quarantine: who is due at a site and what is missing,
proposals, confirmation or sending back, revoking a notice, and the notice as PDF. The
pages use the same services; names are masked, the PDF is an audited print."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from fangkong.core.http import ErrorOut, actor_of, get_scoped_or_404, page_dict, scoped
from fangkong.core.middleware import client_ip
from fangkong.core.vault import mask_name
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.api_transfers import DbId, ReasonIn, site_named
from fangkong.quarantine.models import Release
from fangkong.quarantine.notice import notice_response
from fangkong.quarantine.services import releases

router = Router(tags=["quarantine"])


class DueOut(Schema):
    stay_id: int
    room: str
    person_name: str
    site_until: dt.date
    home_until: dt.date | None
    days_served: int
    days_required: int
    negative_tests: int
    met: bool
    reasons: list[str]
    release_id: int | None
    release_state: str | None


class ReleaseIn(Schema):
    stay_id: DbId
    note: str = Field("", max_length=255)


class ReleaseOut(Schema):
    id: int
    stay_id: int
    site_id: int
    person_id: int
    person_name: str
    state: str
    quarantine_from: dt.date
    quarantine_until: dt.date
    days_served: int
    tests_negative: int
    ends_measure: bool
    monitor_until: dt.date | None
    proposed_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str
    released_on: dt.date | None
    notice_no: str | None


class ReleasePage(Schema):
    items: list[ReleaseOut]
    count: int
    page: int
    page_size: int


FIELDS = (
    "id", "stay_id", "site_id", "person_id", "state", "quarantine_from", "quarantine_until",
    "days_served", "tests_negative", "ends_measure", "monitor_until", "proposed_at",
    "decided_at", "decision_note", "released_on", "notice_no",
)  # fmt: skip


def release_out(r: Release) -> dict[str, Any]:
    return {**{f: getattr(r, f) for f in FIELDS}, "person_name": mask_name(r.person.name)}


def _release(request: HttpRequest, release_id: int) -> Release:
    found: Release = get_scoped_or_404(sel.release_get_qs(actor=actor_of(request)), pk=release_id)
    return found


@router.get("/sites/{int:site_id}/release-due", response=list[DueOut])
@scoped
def release_due(request: HttpRequest, site_id: int) -> Any:
    rows = sel.release_due(actor=actor_of(request), site=site_named(request, site_id))
    return [
        {
            "stay_id": r.stay.pk, "room": r.stay.room.number, "person_name": r.name,
            "site_until": r.check.site_until, "home_until": r.check.then_until,
            "days_served": r.check.days_served, "days_required": r.check.days_required,
            "negative_tests": r.check.negative, "met": r.check.met, "reasons": r.check.reasons,
            "release_id": r.release.pk if r.release else None,
            "release_state": r.release.state if r.release else None,
        }
        for r in rows
    ]  # fmt: skip


@router.get("/releases", response=ReleasePage)
@scoped
def release_list(
    request: HttpRequest, state: str | None = None, site_id: DbId | None = None,
    page: int = 1, page_size: int = 50,
) -> Any:  # fmt: skip
    site = site_named(request, site_id) if site_id else None
    qs = sel.release_list(actor=actor_of(request), state=state, site=site)
    return page_dict(qs, page=page, page_size=page_size, out=release_out)


@router.post("/releases", response={201: ReleaseOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def release_propose(request: HttpRequest, payload: ReleaseIn) -> Any:
    actor = actor_of(request)
    stay = get_scoped_or_404(sel.stay_get_qs(actor=actor), pk=payload.stay_id)
    made = releases.release_propose(actor=actor, stay=stay, note=payload.note)
    return 201, release_out(_release(request, made.pk))


@router.get("/releases/{int:release_id}", response=ReleaseOut)
@scoped
def release_get(request: HttpRequest, release_id: int) -> Any:
    return release_out(_release(request, release_id))


@router.post(
    "/releases/{int:release_id}/confirm", response={200: ReleaseOut, 403: ErrorOut, 409: ErrorOut}
)
@scoped
def release_confirm(request: HttpRequest, release_id: int) -> Any:
    releases.release_confirm(actor=actor_of(request), release=_release(request, release_id))
    return release_out(_release(request, release_id))


@router.post(
    "/releases/{int:release_id}/return",
    response={200: ReleaseOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
@scoped
def release_return(request: HttpRequest, release_id: int, payload: ReasonIn) -> Any:
    releases.release_return(
        actor=actor_of(request), release=_release(request, release_id), reason=payload.reason
    )
    return release_out(_release(request, release_id))


@router.post(
    "/releases/{int:release_id}/revoke",
    response={200: ReleaseOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
@scoped
def release_revoke(request: HttpRequest, release_id: int, payload: ReasonIn) -> Any:
    releases.release_revoke(
        actor=actor_of(request), release=_release(request, release_id), reason=payload.reason
    )
    return release_out(_release(request, release_id))


@router.get(
    "/releases/{int:release_id}/notice.pdf",
    response={200: None, 403: ErrorOut, 409: ErrorOut},
    openapi_extra={
        "responses": {"200": {"description": "PDF", "content": {"application/pdf": {}}}}
    },
)
@scoped
def release_notice(request: HttpRequest, release_id: int) -> Any:
    release = _release(request, release_id)
    releases.release_notice_opened(
        actor=actor_of(request), release=release, client_ip=client_ip(request)
    )
    return notice_response(request, release, download=True)
