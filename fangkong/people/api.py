"""Person registry API: list, search (POST body), get, create, update, reveal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    actor_of,
    get_scoped_or_404,
    page_slice,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.people import search
from fangkong.people.models import Person
from fangkong.people.selectors import persons as selectors
from fangkong.people.services import persons as services

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    name: str
    id_type: str
    id_number: str
    phone: str
    address: str
    sex: str
    birth_year: int | None
    region_code: str
    region_name: str
    occupation: str
    key_group: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


def person_out(p: Person) -> dict[str, Any]:
    """Masked view; the only unmasked values ever sent come from the reveal endpoint.

    Only the birth *year* is sent: a resident ID is region + birth date + sequence + check
    digit, so the full birth date beside the `3702**********123X` mask and the person's region
    leaves about one candidate for the hidden district digits, i.e. it reveals the whole ID.
    """
    return {
        "id": p.pk,
        "name": p.name,
        "id_type": p.id_type,
        "id_number": p.id_number_mask,
        "phone": p.phone_mask,
        "address": p.address_mask,
        "sex": p.sex,
        "birth_year": p.birth_date.year if p.birth_date else None,
        "region_code": p.region.code,
        "region_name": p.region.name,
        "occupation": p.occupation,
        "key_group": p.key_group,
        "tags": p.tags,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


class PersonPage(Page):
    items: list[PersonOut]
    results: list[PersonOut] = RESULTS_ALIAS


class PersonIn(Schema):
    name: str
    id_type: str = "resident_id"
    id_number: str
    phone: str = ""
    address: str = ""
    region_code: str
    occupation: str = ""
    key_group: str = ""
    tags: list[str] = []


class PersonPatch(Schema):
    name: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    region_code: str | None = None
    occupation: str | None = None
    key_group: str | None = None
    tags: list[str] | None = None


class SearchIn(Schema):
    id_number: str = ""
    phone: str = ""


class RevealIn(Schema):
    reason: str
    fields: list[str] = []


class RevealOut(Schema):
    id: int
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class ConflictOut(Schema):
    detail: str
    existing: dict[str, Any] | None


@router.get("", response=PersonPage)
@scoped
def person_list(
    request: HttpRequest,
    region: str | None = None,
    key_group: str | None = None,
    tag: str | None = None,
    name: str | None = None,
    sex: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    qs = selectors.person_list(
        actor=actor_of(request),
        region_code=region,
        key_group=key_group,
        tag=tag,
        name=name,
        sex=sex,
    )
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [person_out(p) for p in rows],
    }


@router.post("/search", response={200: PersonPage, 403: ErrorOut, 429: ErrorOut})
@scoped
def person_search(request: HttpRequest, payload: SearchIn) -> Any:
    """Exact lookup; permitted roles only, audited and throttled (see people.search)."""
    rows = search.person_search(
        actor=actor_of(request),
        id_number=payload.id_number,
        phone=payload.phone,
        client_ip=client_ip(request),
    )
    return {
        "count": len(rows),
        "page": 1,
        "page_size": search.MAX_RESULTS,
        "results": [person_out(p) for p in rows],
    }


@router.post("", response={201: PersonOut, 202: ConflictOut, 409: ConflictOut})
@scoped
def person_create(request: HttpRequest, payload: PersonIn) -> Any:
    """201 with the person; 409 naming a duplicate in the caller's jurisdiction; 202 when the
    document is held elsewhere: referred to the command office (issue 8, no oracle)."""
    data = services.person_validate(
        name=payload.name,
        id_type=payload.id_type,
        id_number=payload.id_number,
        phone=payload.phone,
        address=payload.address,
        occupation=payload.occupation,
        key_group=payload.key_group,
        tags=payload.tags,
    )
    try:
        person = services.person_create(
            actor=actor_of(request),
            data=data,
            region_code=payload.region_code,
            client_ip=client_ip(request),
        )
    except services.Referred as referred:
        return 202, {"detail": referred.message, "existing": None}
    return 201, person_out(person)


@router.get("/{person_id}", response=PersonOut)
@scoped
def person_get(request: HttpRequest, person_id: int) -> Any:
    return person_out(
        get_scoped_or_404(selectors.person_get_qs(actor=actor_of(request)), pk=person_id)
    )


@router.patch("/{person_id}", response={200: PersonOut, 409: ConflictOut})
@scoped
def person_update(request: HttpRequest, person_id: int, payload: PersonPatch) -> Any:
    actor = actor_of(request)
    person = get_scoped_or_404(selectors.person_get_qs(actor=actor), pk=person_id)
    changes = payload.dict(exclude_none=True)
    if not changes:
        raise HttpError(422, "no fields to change")
    person = services.person_update(
        actor=actor, person=person, changes=changes, client_ip=client_ip(request)
    )
    return person_out(person)


@router.post("/{person_id}/reveal", response={200: RevealOut, 403: ErrorOut})
@scoped
def person_reveal(request: HttpRequest, person_id: int, payload: RevealIn) -> Any:
    actor = actor_of(request)
    person = get_scoped_or_404(selectors.person_get_qs(actor=actor), pk=person_id)
    values = services.person_reveal(
        actor=actor,
        person=person,
        fields=payload.fields,
        reason=payload.reason,
        client_ip=client_ip(request),
    )
    return {"id": person.pk, **values}
