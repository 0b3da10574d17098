"""Recheck tasks API (mounted at /api/v1/masstesting/rechecks): the list of persons of
positive or invalid pools to resample, recording the resample, cancelling a task.

Persons are shown masked (name, masked ID number and phone), never their full data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from fangkong.core.http import ErrorOut, Page, actor_of, get_scoped_or_404, page_dict, scoped
from fangkong.masstesting.models import RecheckTask
from fangkong.masstesting.results.selectors import recheck_list
from fangkong.masstesting.results.services import rechecks

router = Router(tags=["masstesting"])


class RecheckOut(Schema):
    id: int
    campaign_id: int
    person_id: int
    name: str
    id_number: str
    phone: str
    grid_id: int
    grid_name: str
    reason: str
    at_home: bool
    status: str
    source_tube: str
    sample_tube: str | None
    sampled_at: dt.datetime | None
    result: str
    resulted_at: dt.datetime | None
    created_at: dt.datetime


class RecheckPage(Page):
    items: list[RecheckOut]


class SampleIn(Schema):
    barcode: str


class CancelIn(Schema):
    reason: str


def recheck_out(t: RecheckTask) -> dict[str, Any]:
    p = t.person
    return {
        "id": t.pk,
        "campaign_id": t.campaign_id,
        "person_id": t.person_id,
        "name": p.name,
        "id_number": p.id_number_mask,
        "phone": p.phone_mask,
        "grid_id": t.region_id,
        "grid_name": t.region.name,
        "reason": t.reason,
        "at_home": t.at_home,
        "status": t.status,
        "source_tube": t.source_tube.barcode,
        "sample_tube": t.sample_tube.barcode if t.sample_tube else None,
        "sampled_at": t.sampled_at,
        "result": t.result,
        "resulted_at": t.resulted_at,
        "created_at": t.created_at,
    }


@router.get("", response=RecheckPage)
@scoped
def recheck_list_api(
    request: HttpRequest,
    campaign_id: int | None = None,
    status: str | None = None,
    grid_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    qs = recheck_list(
        actor=actor_of(request), campaign_id=campaign_id, status=status, grid_id=grid_id
    )
    return page_dict(qs, page=page, page_size=page_size, out=recheck_out)


@router.post("/{task_id}/sample", response={200: RecheckOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def recheck_sample_api(request: HttpRequest, task_id: int, payload: SampleIn) -> Any:
    actor = actor_of(request)
    task = get_scoped_or_404(recheck_list(actor=actor), pk=task_id)
    task = rechecks.recheck_sample(actor=actor, task=task, barcode=payload.barcode)
    return recheck_out(get_scoped_or_404(recheck_list(actor=actor), pk=task.pk))


@router.post("/{task_id}/cancel", response={200: RecheckOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def recheck_cancel_api(request: HttpRequest, task_id: int, payload: CancelIn) -> Any:
    actor = actor_of(request)
    task = get_scoped_or_404(recheck_list(actor=actor), pk=task_id)
    task = rechecks.recheck_cancel(actor=actor, task=task, reason=payload.reason)
    return recheck_out(get_scoped_or_404(recheck_list(actor=actor), pk=task.pk))
