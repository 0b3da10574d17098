"""Writes for screening records: create (staff or public self-declaration), confirm and
classify against the rule table, reject; the rule table itself; the public-page throttle.

A screening record keeps the person's identity in vault form until it is confirmed; only then
is it matched to a Person by blind index (or a new Person is registered at the destination),
so an unconfirmed self-declaration never touches the person registry.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Region, RegionLevel, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import MeasurePlan
from fangkong.people.models import Person
from fangkong.people.services import measures
from fangkong.people.services.persons import (
    ADDRESS_PURPOSE,
    ID_PURPOSE,
    PHONE_PURPOSE,
    PersonData,
    id_number_index,
    names_match,
    person_build,
    person_validate,
    region_for_actor,
)
from fangkong.screening import classify
from fangkong.screening.models import (
    ClassificationRule,
    DeclarationHit,
    RiskArea,
    ScreeningRecord,
    ScreeningSource,
    ScreeningStatus,
    TravelMode,
)

DIVISION_CODE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
MAX_ROUTE_STOPS = 30
DEFAULT_DECLARATIONS_PER_HOUR = 10
# Arrivals may be declared ahead of time, but not for next year.
MAX_DAYS_AHEAD = 30
MAX_DAYS_BACK = 60


class Throttled(Exception):
    """Too many submissions from one client address; the page answers 429."""


# ---------------------------------------------------------------- validation


@dataclass
class ScreeningData:
    """Validated, normalised screening fields (identity still in plaintext)."""

    person: PersonData
    source: str
    destination: Region
    origin_code: str = ""
    origin_place: str = ""
    route: list[dict[str, str]] = field(default_factory=list)
    arrival_at: dt.datetime | None = None
    travel_mode: str = ""
    note: str = ""


def division_code(value: str, *, field_name: str) -> str:
    value = (value or "").strip()
    if value and not DIVISION_CODE.match(value):
        raise FieldError(field_name, _("a division code has 6, 9 or 12 digits"))
    return value


def _route_date(value: Any, index: int) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        return (
            timezone.localdate(value).isoformat() if timezone.is_aware(value) else str(value.date())
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise FieldError(
            "route", _("itinerary stop %(n)s: the date is not a date") % {"n": index}
        ) from None


def clean_route(route: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """[{place, code, date}] with empty stops dropped; each stop needs a place or a code."""
    out: list[dict[str, str]] = []
    for index, stop in enumerate(route or [], start=1):
        if not isinstance(stop, dict):
            raise FieldError("route", _("itinerary stop %(n)s is not readable") % {"n": index})
        place = str(stop.get("place") or "").strip()[:100]
        code = str(stop.get("code") or "").strip()
        if code and not DIVISION_CODE.match(code):
            raise FieldError(
                "route",
                _("itinerary stop %(n)s: a division code has 6, 9 or 12 digits") % {"n": index},
            )
        day = _route_date(stop.get("date"), index)
        if place or code:
            out.append({"place": place, "code": code, "date": day})
    if len(out) > MAX_ROUTE_STOPS:
        raise FieldError("route", _("at most %(n)s itinerary stops") % {"n": MAX_ROUTE_STOPS})
    return out


def _clean_arrival(value: dt.datetime | None, *, required: bool) -> dt.datetime | None:
    if value is None:
        if required:
            raise FieldError("arrival_at", _("arrival time is required"))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    now = timezone.now()
    if value > now + timedelta(days=MAX_DAYS_AHEAD):
        raise FieldError(
            "arrival_at", _("arrival is more than %(n)s days ahead") % {"n": MAX_DAYS_AHEAD}
        )
    if value < now - timedelta(days=MAX_DAYS_BACK):
        raise FieldError(
            "arrival_at", _("arrival is more than %(n)s days ago") % {"n": MAX_DAYS_BACK}
        )
    return value


def screening_validate(
    *,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    address: str = "",
    source: str,
    destination: Region,
    origin_code: str = "",
    origin_place: str = "",
    route: list[dict[str, Any]] | None = None,
    arrival_at: dt.datetime | None = None,
    travel_mode: str = "",
    note: str = "",
    arrival_required: bool = True,
) -> ScreeningData:
    if source not in ScreeningSource.values:
        raise FieldError("source", _("unknown screening source"))
    if travel_mode and travel_mode not in TravelMode.values:
        raise FieldError("travel_mode", _("unknown travel mode"))
    if destination.level < RegionLevel.TOWN:
        raise FieldError("destination", _("the destination must be a town, community or grid"))
    origin_code = division_code(origin_code, field_name="origin_code")
    origin_place = (origin_place or "").strip()[:200]
    if arrival_required and not (origin_code or origin_place):
        raise FieldError("origin_place", _("give where the person came from"))
    return ScreeningData(
        person=person_validate(
            name=name, id_type=id_type, id_number=id_number, phone=phone, address=address
        ),
        source=source,
        destination=destination,
        origin_code=origin_code,
        origin_place=origin_place,
        route=clean_route(route),
        arrival_at=_clean_arrival(arrival_at, required=arrival_required),
        travel_mode=travel_mode,
        note=(note or "").strip()[:255],
    )


# ---------------------------------------------------------------- permissions


# ---------------------------------------------------------------- create


def _record_from(data: ScreeningData, *, actor: User | None) -> ScreeningRecord:
    p = data.person
    return ScreeningRecord(
        source=data.source,
        status=ScreeningStatus.PENDING,
        name=p.name,
        id_type=p.id_type,
        id_number_ct=vault.encrypt(p.id_number, purpose=ID_PURPOSE),
        id_number_bidx=id_number_index(p.id_number),
        id_number_mask=vault.mask_id_number(p.id_number),
        phone_ct=vault.encrypt(p.phone, purpose=PHONE_PURPOSE) if p.phone else "",
        phone_mask=vault.mask_phone(p.phone) if p.phone else "",
        address_ct=vault.encrypt(p.address, purpose=ADDRESS_PURPOSE) if p.address else "",
        address_mask=vault.mask_address(p.address),
        origin_code=data.origin_code,
        origin_place=data.origin_place,
        route=data.route,
        arrival_at=data.arrival_at,
        travel_mode=data.travel_mode,
        destination=data.destination,
        destination_path=data.destination.path,
        note=data.note,
        created_by=actor,
    )


@transaction.atomic
def screening_create(
    *, actor: User, data: ScreeningData, confirm: bool = False, client_ip: str = ""
) -> ScreeningRecord:
    """A record entered by staff (checkpoint, door-to-door, big-data push...), pending unless
    `confirm`, in which case it is confirmed and classified at once."""
    authorize(actor, "screening.create")
    if data.source == ScreeningSource.SELF_DECLARATION:
        raise FieldError("source", _("self-declarations come only from the public page"))
    # the destination must lie inside the creator's jurisdiction
    region_for_actor(actor=actor, code=data.destination.code, field_name="destination")
    authorize(actor, "screening.create", region=data.destination)
    record = _record_from(data, actor=actor)
    record.save(force_insert=True)
    audit_record(
        actor=actor,
        action="screening.create",
        object_type="screening",
        object_id=record.pk,
        client_ip=client_ip,
        details={"source": record.source, "destination": data.destination.code},
    )
    if confirm:
        record = screening_confirm(actor=actor, record=record, client_ip=client_ip)
    return record


def declaration_destinations() -> Any:
    """Communities a member of the public may declare as their destination."""
    return Region.objects.filter(level=RegionLevel.COMMUNITY)


def declaration_destination(code: str) -> Region:
    found = declaration_destinations().filter(code=(code or "").strip()).first()
    if found is None:
        raise FieldError("destination", _("choose the community you are going to"))
    return found


def declaration_throttle(*, client_ip: str) -> None:
    """Count one submission from this address; raise Throttled past the hourly limit.

    Counts live in the database, so every web worker shares them; the address is stored only
    as a keyed hash.
    """
    limit = int(getattr(settings, "SELF_DECLARATIONS_PER_HOUR", DEFAULT_DECLARATIONS_PER_HOUR))
    key = vault.blind_index(client_ip or "-", purpose="screening.declaration_client")
    now = timezone.now()
    since = now - timedelta(hours=1)
    with transaction.atomic():
        # counts older than the window are useless: drop everyone's, so the table stays small
        DeclarationHit.objects.filter(at__lt=since).delete()
        if DeclarationHit.objects.filter(client_key=key, at__gte=since).count() >= limit:
            raise Throttled()
        DeclarationHit.objects.create(client_key=key, at=now)


@transaction.atomic
def self_declaration_submit(*, data: ScreeningData) -> ScreeningRecord:
    """A member of the public declares an arrival: a pending record for the destination
    community to confirm. Nothing is matched or classified until staff confirm it."""
    if data.source != ScreeningSource.SELF_DECLARATION:
        raise FieldError("source", _("unknown screening source"))
    record = _record_from(data, actor=None)
    record.save(force_insert=True)
    audit_record(
        actor=None,
        action="screening.self_declare",
        object_type="screening",
        object_id=record.pk,
        details={"destination": data.destination.code},
    )
    return record


# ---------------------------------------------------------------- confirm and classify


def _decrypt(token: str, purpose: str) -> str:
    return vault.decrypt(token, purpose=purpose) if token else ""


def _person_for(record: ScreeningRecord, *, actor: User | None, source: str) -> Person:
    """Match by blind index across every jurisdiction (a document is registered once), or
    register the person at the record's destination."""
    existing = Person.objects.filter(
        id_type=record.id_type, id_number_bidx=record.id_number_bidx
    ).first()
    if existing is not None:
        return existing
    data = person_validate(
        name=record.name,
        id_type=record.id_type,
        id_number=_decrypt(record.id_number_ct, ID_PURPOSE),
        phone=_decrypt(record.phone_ct, PHONE_PURPOSE),
        address=_decrypt(record.address_ct, ADDRESS_PURPOSE),
    )
    person = person_build(data=data, region=record.destination, actor=actor, source=source)
    try:
        with transaction.atomic():
            person.save(force_insert=True)
    except IntegrityError:
        # registered concurrently by someone else: use theirs
        return Person.objects.get(id_type=record.id_type, id_number_bidx=record.id_number_bidx)
    audit_record(
        actor=actor,
        action="person.create",
        object_type="person",
        object_id=person.pk,
        details={"via": "screening", "screening": record.pk},
    )
    return person


def _rule_fact(rule: ClassificationRule) -> classify.RuleFact:
    return classify.RuleFact(
        id=rule.pk,
        version=rule.version,
        priority=rule.priority,
        name=rule.name,
        origin_level=rule.origin_level,
        within_days=rule.within_days,
        itinerary_hits_risk=rule.itinerary_hits_risk,
        sources=tuple(rule.sources or ()),
        plan_key=rule.plan.key if rule.plan_id and rule.plan else None,
    )


def _stops(record: ScreeningRecord, arrival_day: dt.date) -> tuple[Any, list[Any]]:
    origin = None
    if record.origin_code or record.origin_place:
        origin = classify.Stop(
            place=record.origin_place,
            code=record.origin_code,
            day=arrival_day,
            is_origin=True,
            at=record.arrival_at,
        )
    itinerary = [
        classify.Stop(
            place=s.get("place", ""),
            code=s.get("code", ""),
            day=dt.date.fromisoformat(s["date"]) if s.get("date") else arrival_day,
        )
        for s in record.route or []
    ]
    return origin, itinerary


def _areas(days: list[dt.date]) -> list[classify.AreaFact]:
    """Risk areas in force on any of the days (one query)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(min(days), dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(max(days), dt.time.min, tzinfo=tz) + timedelta(days=1)
    rows = RiskArea.objects.filter(valid_from__lt=end).exclude(valid_to__lte=start)
    return [
        classify.AreaFact(
            id=a.pk,
            name=a.name,
            code=a.division_code,
            level=a.level,
            kind=a.kind,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
        )
        for a in rows
    ]


def measure_start_day(record: ScreeningRecord) -> dt.date:
    """The arrival day, or today when the arrival is already past."""
    today = timezone.localdate()
    if record.arrival_at is None:
        return today
    return max(timezone.localdate(record.arrival_at), today)


def classification_evaluate(record: ScreeningRecord) -> tuple[ClassificationRule | None, Any]:
    """Which rule classifies the record now, against the areas in force on each stop's day."""
    now = timezone.now()
    rules = list(
        ClassificationRule.objects.filter(active=True, valid_from__lte=now).select_related("plan")
    )
    arrival_day = timezone.localdate(record.arrival_at) if record.arrival_at else None
    reference = measure_start_day(record)
    origin, itinerary = _stops(record, arrival_day or reference)
    days = [s.day for s in ([origin] if origin else []) + itinerary] or [reference]
    outcome = classify.evaluate(
        [_rule_fact(r) for r in rules],
        source=record.source,
        origin=origin,
        # the origin is part of the journey: a case place there counts as an itinerary hit
        itinerary=([origin] if origin else []) + itinerary,
        reference=reference,
        areas=_areas(days),
        tz=timezone.get_current_timezone(),
    )
    chosen = next((r for r in rules if outcome.rule and r.pk == outcome.rule.id), None)
    return chosen, outcome


def _plan_snapshot(plan: MeasurePlan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "key": plan.key,
        "name": plan.name,
        "phases": plan.phases,
        "test_offsets": plan.test_offsets,
    }


def _classify(record: ScreeningRecord, *, actor: User | None) -> None:
    rule, outcome = classification_evaluate(record)
    snapshot = classify.outcome_snapshot(outcome)
    plan = rule.plan if rule is not None else None
    snapshot["plan"] = _plan_snapshot(plan)
    snapshot["classified_at"] = timezone.now().isoformat()
    measure = None
    if plan is not None and record.person is not None and rule is not None:
        measure = measures.measure_propose(
            actor=actor,
            person=record.person,
            plan=plan,
            start=measure_start_day(record),
            source_type="screening",
            source_id=str(record.pk),
            reason=rule.name,
        )
        snapshot["measure"] = {
            "id": measure.pk,
            "plan": plan.name,
            "start": measure.start_date.isoformat(),
            "planned_end": measure.planned_end.isoformat(),
            "state": measure.state,
        }
    record.rule, record.measure, record.classification = rule, measure, snapshot
    record.status = ScreeningStatus.CLASSIFIED


def _locked(record: ScreeningRecord) -> ScreeningRecord:
    return (
        ScreeningRecord.objects.select_for_update().select_related("destination").get(pk=record.pk)
    )


class _NameMismatch(Exception):
    def __init__(self, person: Person) -> None:
        super().__init__(person.pk)
        self.person = person


NAME_MISMATCH_MESSAGE = gettext_lazy(
    "the name on this record does not match the registration of its ID number: the record "
    "was flagged for the command office to review; correct it or reject it"
)


def screening_confirm(
    *, actor: User, record: ScreeningRecord, client_ip: str = ""
) -> ScreeningRecord:
    """Confirm a pending record: match or register the person, classify, propose the measure.

    A document registered under another name is not bound (issue 8: a typo or a borrowed ID
    would put a stranger, maybe in another jurisdiction, under a measure): the record stays
    pending, is flagged for review in the audit log (read by the command office) and the
    answer is one fixed 409 that never names the registered person.
    """
    try:
        return _confirm(actor=actor, record=record, client_ip=client_ip)
    except _NameMismatch as exc:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="screening.needs_review",
                object_type="screening",
                object_id=record.pk,
                client_ip=client_ip,
                details={"person": exc.person.pk, "reason": "name_mismatch"},
            )
        raise Conflict(str(NAME_MISMATCH_MESSAGE), status=ScreeningStatus.PENDING) from None


@transaction.atomic
def _confirm(*, actor: User, record: ScreeningRecord, client_ip: str) -> ScreeningRecord:
    authorize(actor, "screening.decide", region=record.destination_path)
    record = _locked(record)
    if record.status != ScreeningStatus.PENDING:
        raise Conflict(
            _("only a pending record can be confirmed; this one is %(status)s")
            % {"status": ScreeningStatus(record.status).label},
            status=record.status,
        )
    source = "assistance" if record.source == ScreeningSource.ASSISTANCE_REQUEST else "screening"
    # an assistance row comes bound (by document) to the registered person: check it too
    person = record.person or _person_for(record, actor=actor, source=source)
    if not names_match(person.name, record.name):
        raise _NameMismatch(person)
    record.person = person
    record.status = ScreeningStatus.CONFIRMED
    record.decided_by, record.decided_at = actor, timezone.now()
    _classify(record, actor=actor)
    record.save()
    audit_record(
        actor=actor,
        action="screening.confirm",
        object_type="screening",
        object_id=record.pk,
        client_ip=client_ip,
        details={
            "person": record.person_id,
            "rule": record.rule_id,
            "rule_version": (record.classification.get("rule") or {}).get("version"),
            "measure": record.measure_id,
        },
    )
    return record


@transaction.atomic
def screening_reject(
    *, actor: User, record: ScreeningRecord, reason: str, client_ip: str = ""
) -> ScreeningRecord:
    """Reject a pending record (a duplicate, a false declaration, not our jurisdiction...)."""
    authorize(actor, "screening.decide", region=record.destination_path)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise FieldError("reason", _("give the reason for rejecting"))
    record = _locked(record)
    if record.status != ScreeningStatus.PENDING:
        raise Conflict(
            _("only a pending record can be rejected; this one is %(status)s")
            % {"status": ScreeningStatus(record.status).label},
            status=record.status,
        )
    record.status, record.reject_reason = ScreeningStatus.REJECTED, reason[:255]
    record.decided_by, record.decided_at = actor, timezone.now()
    record.save()
    audit_record(
        actor=actor,
        action="screening.reject",
        object_type="screening",
        object_id=record.pk,
        reason=record.reject_reason,
        client_ip=client_ip,
    )
    return record
