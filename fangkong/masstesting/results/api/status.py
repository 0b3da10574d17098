"""Mass-testing API: results to people (mounted at /masstesting/status by config/api.py).

- POST /validity — for venues and checkpoints: "negative within N hours?" for the holder of a
  registration code. It answers `valid` and `at` (the sampling time of that negative) and
  nothing else: no name, no result, no campaign. An unknown token answers exactly like a
  person without a recent negative (`valid: false, at: null`), so the endpoint cannot be used
  to learn whether a token exists. Any signed-in account with a region or an institution may
  ask; a checkpoint checks travellers from anywhere, so the lookup is not jurisdiction-scoped.
- GET /persons/{id}/latest — the latest result of a person in the caller's jurisdiction.
- GET /persons/{id}/code — the person's token (created on first use), for roles that work
  with personal data; each read is audited, since the token opens the person's results page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from fangkong.core.http import ErrorOut, Forbidden, actor_of, get_scoped_or_404, public, scoped
from fangkong.core.scoping import scope_of
from fangkong.masstesting.results.status import (
    DEFAULT_HOURS,
    MAX_HOURS,
    Validity,
    latest_results,
    person_samples,
    validity_of,
)
from fangkong.masstesting.sampling.services import codes
from fangkong.people.selectors.persons import person_get_qs

router = Router(tags=["masstesting"])


class ValidityIn(Schema):
    token: str = Field(max_length=64)
    hours: int = Field(DEFAULT_HOURS, ge=1, le=MAX_HOURS)


class ValidityOut(Schema):
    valid: bool
    at: dt.datetime | None


class LatestOut(Schema):
    person_id: int
    state: str  # "none" when never sampled, else a status.SampleState value
    state_label: str
    sampled_at: dt.datetime | None
    resulted_at: dt.datetime | None
    campaign_id: int | None
    campaign_name: str


class CodeOut(Schema):
    person_id: int
    token: str
    payload: str


class LinkOut(Schema):
    person_id: int
    url: str  # shown once: only its keyed hash is stored


@router.post("/validity", response={200: ValidityOut, 403: ErrorOut})
@public(
    "venues and checkpoints check codes of people from any jurisdiction; the token is the "
    "credential and the answer is only yes/no and a sampling time"
)
def validity_check(request: HttpRequest, payload: ValidityIn) -> Any:
    if scope_of(actor_of(request)).empty:
        raise Forbidden("An account of a unit or a region is needed to check codes")
    code = codes.code_by_token(payload.token)
    if code is None:
        answer = Validity(False, None)
    else:
        samples = person_samples(person_ids=[code.person_id]).get(code.person_id, [])
        answer = validity_of(samples, hours=payload.hours)
    return {"valid": answer.valid, "at": answer.at}


@router.get("/persons/{person_id}/latest", response=LatestOut)
@scoped
def person_latest(request: HttpRequest, person_id: int) -> Any:
    person = get_scoped_or_404(person_get_qs(actor=actor_of(request)), pk=person_id)
    latest = latest_results(person_ids=[person.pk]).get(person.pk)
    if latest is None:
        return LatestOut(
            person_id=person.pk,
            state="none",
            state_label="",
            sampled_at=None,
            resulted_at=None,
            campaign_id=None,
            campaign_name="",
        )
    return LatestOut(
        person_id=person.pk,
        state=str(latest.state),
        state_label=latest.state_label,
        sampled_at=latest.sampled_at,
        resulted_at=latest.resulted_at,
        campaign_id=latest.campaign_id,
        campaign_name=latest.campaign_name,
    )


@router.get("/persons/{person_id}/code", response=CodeOut)
@scoped
def person_code(request: HttpRequest, person_id: int) -> Any:
    # Person rows are visible only to roles that work with personal data: others get 404.
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=person_id)
    code = codes.code_read(actor=actor, person=person)
    return {"person_id": person.pk, "token": code.token, "payload": codes.code_payload(code.token)}


@router.post("/persons/{person_id}/code/link", response=LinkOut)
@scoped
def person_code_link_issue(request: HttpRequest, person_id: int) -> Any:
    # A new self-service link replaces the old one; the QR token does not open the page.
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=person_id)
    path = codes.self_service_link_issue(actor=actor, person=person)
    return {"person_id": person.pk, "url": request.build_absolute_uri(path)}


@router.post("/persons/{person_id}/code/link/revoke", response={204: None})
@scoped
def person_code_link_revoke(request: HttpRequest, person_id: int) -> Any:
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=person_id)
    codes.self_service_link_revoke(actor=actor, person=person)
    return 204, None
