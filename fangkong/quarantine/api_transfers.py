"""The transfers API, under /api/v1/quarantine/transfers: dispatch, the chain of custody
scanned at each handover, cancel; the crew's phone page uses the same services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from fangkong.core.http import DbId, ErrorOut, actor_of, get_scoped_or_404, page_dict, scoped
from fangkong.core.validators import FieldError
from fangkong.people.models import ControlMeasure
from fangkong.people.selectors.measures import measure_get_qs
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import Site, Transfer
from fangkong.quarantine.services import transfers

router = Router(tags=["quarantine"])

# ids a database key can hold (a bigger number would reach the database as an overflow)


def measures_named(request: HttpRequest, ids: list[int]) -> list[ControlMeasure]:
    """The measures a body names, in its order, once each; any out of scope is 404."""
    wanted = list(dict.fromkeys(ids))
    found = measure_get_qs(actor=actor_of(request)).in_bulk(wanted)
    if len(found) != len(wanted):
        raise Http404
    return [found[pk] for pk in wanted]


def site_named(request: HttpRequest, site_id: int) -> Site:
    """A site the path or body names, in the caller's scope (else 404)."""
    found: Site = get_scoped_or_404(sel.site_get_qs(actor=actor_of(request)), pk=site_id)
    return found


# -- transfers ----------------------------------------------------------------------------------


class TransferIn(Schema):
    measure_ids: list[DbId] = Field(max_length=transfers.MAX_PERSONS)
    pickup_kind: str
    pickup_place: str
    destination_kind: str
    destination_site_id: DbId | None = None
    destination_place: str = ""
    vehicle: str
    driver_id: DbId
    escort: str
    deadline: dt.datetime
    note: str = ""


class HandoverOut(Schema):
    kind: str
    at: dt.datetime
    place: str
    by: str


class LegOut(Schema):
    id: int
    person_id: int
    person_name: str
    state: str
    handovers: list[HandoverOut]


class TransferOut(Schema):
    id: int
    code: str
    state: str
    overdue: bool
    pickup_kind: str
    pickup_place: str
    destination_kind: str
    destination_site_id: int | None
    destination_place: str
    vehicle: str
    driver: str
    escort: str
    deadline: dt.datetime
    persons: int
    delivered: int


class TransferDetailOut(TransferOut):
    legs: list[LegOut]


class TransferPage(Schema):
    items: list[TransferOut]
    count: int
    page: int
    page_size: int


class ScanIn(Schema):
    code: str = Field(max_length=64)
    place: str = Field(max_length=128)


class ScanOut(Schema):
    leg_id: int
    kind: str
    checked_in: bool
    transfer: TransferDetailOut


class ReasonIn(Schema):
    reason: str = Field(max_length=255)


def transfer_out(t: Transfer) -> dict[str, Any]:
    return {
        **{f: getattr(t, f) for f in ("id", "code", "state", "pickup_kind", "pickup_place")},
        **{f: getattr(t, f) for f in ("destination_kind", "destination_site_id", "vehicle")},
        "destination_place": t.destination_place,
        "driver": t.driver.get_username(),
        "escort": t.escort,
        "deadline": t.deadline,
        **{f: getattr(t, f, 0) for f in ("overdue", "persons", "delivered")},
    }


def _transfer(request: HttpRequest, transfer_id: int) -> Transfer:
    qs = sel.transfer_list(actor=actor_of(request))
    found: Transfer = get_scoped_or_404(qs, pk=transfer_id)
    return found


def _detail(request: HttpRequest, transfer_id: int) -> dict[str, Any]:
    actor = actor_of(request)
    transfer = _transfer(request, transfer_id)
    legs = [
        {
            "id": leg.pk, "person_id": leg.person_id, "person_name": name, "state": leg.state,
            "handovers": [
                {"kind": h.kind, "at": h.at, "place": h.place, "by": h.by.get_username()}
                for h in leg.handovers.all()
            ],
        }
        for leg, name in sel.transfer_legs(actor=actor, transfer=transfer)
    ]  # fmt: skip
    return {**transfer_out(transfer), "legs": legs}


@router.get("", response=TransferPage)
@scoped
def transfer_list(
    request: HttpRequest, state: str | None = None, overdue: bool = False, mine: bool = False,
    page: int = 1, page_size: int = 50,
) -> Any:  # fmt: skip
    qs = sel.transfer_list(actor=actor_of(request), state=state, overdue=overdue, mine=mine)
    return page_dict(qs, page=page, page_size=page_size, out=transfer_out)


@router.post("", response={201: TransferDetailOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def transfer_create(request: HttpRequest, payload: TransferIn) -> Any:
    actor = actor_of(request)
    wanted = measures_named(request, payload.measure_ids)
    site = site_named(request, payload.destination_site_id) if payload.destination_site_id else None
    driver = sel.drivers(actor=actor).filter(pk=payload.driver_id).first()
    if driver is None:
        raise FieldError("driver_id", _("unknown driver or outside your jurisdiction"))
    made = transfers.transfer_create(
        actor=actor,
        measures=wanted,
        route=transfers.Route(
            payload.pickup_kind,
            payload.pickup_place,
            payload.destination_kind,
            site,
            payload.destination_place,
        ),
        crew=transfers.Crew(payload.vehicle, driver, payload.escort),
        deadline=payload.deadline,
        note=payload.note,
    )
    return 201, _detail(request, made.pk)


@router.get("/{int:transfer_id}", response=TransferDetailOut)
@scoped
def transfer_get(request: HttpRequest, transfer_id: int) -> Any:
    return _detail(request, transfer_id)


@router.post(
    "/{int:transfer_id}/scan",
    response={200: ScanOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
@scoped
def transfer_scan(request: HttpRequest, transfer_id: int, payload: ScanIn) -> Any:
    done = transfers.transfer_scan(
        actor=actor_of(request), transfer=_transfer(request, transfer_id), code=payload.code,
        place=payload.place,
    )  # fmt: skip
    return {
        "leg_id": done.leg.pk, "kind": done.kind, "checked_in": done.checked_in,
        "transfer": _detail(request, transfer_id),
    }  # fmt: skip


@router.post("/{int:transfer_id}/cancel", response={200: TransferOut, 403: ErrorOut, 409: ErrorOut})
@scoped
def transfer_cancel(request: HttpRequest, transfer_id: int, payload: ReasonIn) -> Any:
    transfers.transfer_cancel(
        actor=actor_of(request), transfer=_transfer(request, transfer_id), reason=payload.reason
    )
    return transfer_out(_transfer(request, transfer_id))
