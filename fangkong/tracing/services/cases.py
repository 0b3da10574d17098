"""Every write of the tracing domain: cases, investigations, exposures, contact tracing marks.

Generations are computed in fangkong.tracing.services.generations; confirming a case (or recording
exposures for a confirmed one) queues that computation after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core import queue, vault
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden, authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.people.models import Person
from fangkong.people.services.measures import active_profile, measure_convert, person_under_control
from fangkong.people.services.persons import (
    Referred,
    id_number_index,
    names_match,
    person_create,
    person_validate,
)
from fangkong.tracing.models import (
    CASE_STATUSES,
    Case,
    CaseContact,
    CaseKind,
    CaseSource,
    CaseStatus,
    Exposure,
    ExposureContext,
    Investigation,
    Severity,
    TraceStatus,
)
from fangkong.tracing.selectors import untraced_contact_count
from fangkong.tracing.services.generations import GenerationsResult, case_compute_generations

__all__ = ["GenerationsResult", "case_compute_generations"]

CASE_FIELDS = (
    "kind",
    "status",
    "onset_date",
    "sampling_date",
    "report_date",
    "source",
    "severity",
    "notes",
)
STATUS_FLOW: dict[str, frozenset[str]] = {
    CaseStatus.REPORTED: frozenset({CaseStatus.CONFIRMED, CaseStatus.RULED_OUT}),
    CaseStatus.CONFIRMED: frozenset(
        {CaseStatus.RECOVERED, CaseStatus.DECEASED, CaseStatus.RULED_OUT}
    ),
    CaseStatus.RECOVERED: frozenset(),
    CaseStatus.DECEASED: frozenset(),
    CaseStatus.RULED_OUT: frozenset(),
}


def _enqueue_generations(case_id: int) -> None:
    queue.enqueue("tracing.generations", case_id)


def _clean_case(values: dict[str, Any]) -> dict[str, Any]:
    """Check choices and the order of the dates; returns the values unchanged."""
    for name, choices in (
        ("kind", CaseKind.values),
        ("source", CaseSource.values),
        ("severity", Severity.values),
        ("status", CaseStatus.values),
    ):
        if values.get(name) not in choices:
            raise FieldError(name, _("unknown value"))
    today = timezone.localdate()
    report = values["report_date"]
    if report is None:
        raise FieldError("report_date", _("report date is required"))
    for name in ("onset_date", "sampling_date", "report_date"):
        day = values.get(name)
        if day is not None and day > today:
            raise FieldError(name, _("the date cannot be in the future"))
        if day is not None and name != "report_date" and day > report:
            raise FieldError(name, _("the date cannot be after the report date"))
    if values["kind"] == CaseKind.ASYMPTOMATIC and values.get("onset_date"):
        raise FieldError("onset_date", _("an asymptomatic infection has no onset date"))
    return values


def _became_a_case(*, actor: User, case: Case) -> None:
    """A confirmed case is no contact of anyone: drop those rows and compute its own."""
    CaseContact.objects.filter(person_id=case.person_id).exclude(case=case).delete()
    case_id = case.pk
    transaction.on_commit(lambda: _enqueue_generations(case_id))


def _open_case(*, actor: User | None, case: Case, now: dt.datetime) -> None:
    """A new case's investigation starts now; a measure the person is under ends as 'case'."""
    profile = active_profile()
    Investigation.objects.create(
        case=case,
        region_path=case.region_path,
        opened_at=now,
        deadline=now + dt.timedelta(hours=profile.investigation_hours),
    )
    measure = person_under_control(person=case.person)
    if measure is not None:
        measure_convert(
            actor=actor,
            measure=measure,
            to="case",
            reason=_("became case #%(id)s") % {"id": case.pk},
        )


@transaction.atomic
def _insert_case(
    *, actor: User | None, person: Person, values: dict[str, Any], notes: str, now: dt.datetime
) -> Case:
    case = Case(
        person=person,
        region_id=person.region_id,
        region_path=person.region_path,
        notes=(notes or "").strip(),
        created_by=actor,
        confirmed_at=now if values["status"] == CaseStatus.CONFIRMED else None,
        **values,
    )
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError:
        # one_case_per_person: a second case is refused unless the first was ruled out
        raise Conflict(_("this person is already registered as a case")) from None
    return case


def case_create(
    *,
    actor: User | None,
    person: Person,
    kind: str,
    report_date: dt.date,
    source: str,
    onset_date: dt.date | None = None,
    sampling_date: dt.date | None = None,
    severity: str = "",
    status: str = CaseStatus.REPORTED,
    notes: str = "",
    client_ip: str = "",
) -> Case:
    """Register a case of a person the caller can see, and open its investigation.

    `actor=None` is the system proposing a case from data (a positive single-tube recheck):
    it may only report, never confirm."""
    if actor is not None:
        authorize(actor, "case.register", region=person.region_path)
    elif status != CaseStatus.REPORTED:
        raise Forbidden(_("only a person may confirm a case"))
    values = _clean_case(
        {
            "kind": kind,
            "status": status,
            "onset_date": onset_date,
            "sampling_date": sampling_date,
            "report_date": report_date,
            "source": source,
            "severity": severity,
        }
    )
    if status not in (CaseStatus.REPORTED, CaseStatus.CONFIRMED):
        raise FieldError("status", _("a new case is reported or confirmed"))
    now = timezone.now()
    case = _insert_case(actor=actor, person=person, values=values, notes=notes, now=now)
    _open_case(actor=actor, case=case, now=now)
    audit_record(
        actor=actor,
        action="case.create",
        object_type="case",
        object_id=case.pk,
        client_ip=client_ip,
        details={"person": person.pk, "kind": kind, "status": status},
    )
    if status == CaseStatus.CONFIRMED and actor is not None:
        _became_a_case(actor=actor, case=case)
    return case


@transaction.atomic
def case_update(*, actor: User, case: Case, changes: dict[str, Any], client_ip: str = "") -> Case:
    authorize(actor, "case.register", region=case.region_path)
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], _("this field cannot be changed"))
    case = Case.objects.select_for_update().get(pk=case.pk)
    old_status = case.status
    new_status = changes.get("status", old_status)
    if new_status not in CaseStatus.values:
        raise FieldError("status", _("not a case status"))
    if new_status != old_status and new_status not in STATUS_FLOW.get(old_status, frozenset()):
        raise Conflict(
            _("a case that is %(old)s cannot become %(new)s")
            % {"old": CaseStatus(old_status).label, "new": CaseStatus(new_status).label}
        )
    merged = {name: getattr(case, name) for name in CASE_FIELDS} | changes
    _clean_case(merged)
    window_moved = any(
        merged[n] != getattr(case, n) for n in ("onset_date", "sampling_date", "report_date")
    )
    for name, value in changes.items():
        setattr(case, name, value.strip() if isinstance(value, str) and name == "notes" else value)
    confirming = old_status != CaseStatus.CONFIRMED and new_status == CaseStatus.CONFIRMED
    if confirming:
        case.confirmed_at = timezone.now()
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise Conflict(_("this person is already registered as a case")) from None
    audit_record(
        actor=actor,
        action="case.update",
        object_type="case",
        object_id=case.pk,
        client_ip=client_ip,
        details={"fields": sorted(changes), "status": [old_status, new_status]},
    )
    if confirming:
        _became_a_case(actor=actor, case=case)
    elif window_moved and case.status == CaseStatus.CONFIRMED:
        case_id = case.pk
        transaction.on_commit(lambda: _enqueue_generations(case_id))
    return case


# --- investigations ------------------------------------------------------------------------


@transaction.atomic
def investigation_mark_traced(*, actor: User, investigation: Investigation) -> Investigation:
    authorize(actor, "investigation.run", region=investigation.region_path)
    investigation = Investigation.objects.select_for_update().get(pk=investigation.pk)
    if investigation.closed_at is not None:
        raise Conflict(_("the investigation is closed"))
    missing = untraced_contact_count(case=investigation.case)
    if missing:
        raise Conflict(
            _("%(n)s close or secondary contacts are not traced yet") % {"n": missing},
            untraced=missing,
        )
    investigation.contacts_traced_at = timezone.now()
    investigation.save(update_fields=["contacts_traced_at", "updated_at"])
    audit_record(
        actor=actor,
        action="investigation.traced",
        object_type="investigation",
        object_id=investigation.pk,
    )
    return investigation


@transaction.atomic
def investigation_close(
    *, actor: User, investigation: Investigation, notes: str = ""
) -> Investigation:
    """Close once every close and secondary contact is traced (the marker is set on the way)."""
    authorize(actor, "investigation.run", region=investigation.region_path)
    investigation = Investigation.objects.select_for_update().get(pk=investigation.pk)
    if investigation.closed_at is not None:
        raise Conflict(_("the investigation is already closed"))
    missing = untraced_contact_count(case=investigation.case)
    if missing:
        raise Conflict(
            _("%(n)s close or secondary contacts are not traced yet") % {"n": missing},
            untraced=missing,
        )
    now = timezone.now()
    investigation.contacts_traced_at = investigation.contacts_traced_at or now
    investigation.closed_at = now
    if (notes or "").strip():
        investigation.notes = notes.strip()
    investigation.save(update_fields=["contacts_traced_at", "closed_at", "notes", "updated_at"])
    audit_record(
        actor=actor,
        action="investigation.close",
        object_type="investigation",
        object_id=investigation.pk,
    )
    return investigation


@transaction.atomic
def contact_set_trace(
    *, actor: User, contact: CaseContact, status: str, note: str = ""
) -> CaseContact:
    """Mark a contact unreachable or handed to another jurisdiction (or back to pending)."""
    authorize(actor, "contact.trace", region=contact.region_path)
    if status not in TraceStatus.values:
        raise FieldError("status", _("unknown value"))
    note = (note or "").strip()
    if status != TraceStatus.PENDING and len(note) < 2:
        raise FieldError("note", _("give a reason"))
    contact.trace_status, contact.trace_note = status, note[:255]
    contact.updated_at = timezone.now()
    contact.save(update_fields=["trace_status", "trace_note", "updated_at"])
    audit_record(
        actor=actor,
        action="case_contact.trace",
        object_type="case_contact",
        object_id=contact.pk,
        reason=note,
        details={"case": contact.case_id, "status": status},
    )
    return contact


# --- exposures -----------------------------------------------------------------------------


@dataclass
class ItemResult:
    index: int
    status: str  # created / existing / error
    exposure_id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


class UnmatchedContact(FieldError):
    """A document held outside the caller's jurisdiction under another name (issue 8)."""

    def __init__(self, field_name: str, *, holder_id: int) -> None:
        super().__init__(field_name, str(UNMATCHED_MESSAGE))
        self.holder_id = holder_id


UNMATCHED_MESSAGE = gettext_lazy(
    "this contact could not be matched: check the name and ID number, or send the contact to "
    "the jurisdiction they live in as an assistance request"
)


def _person_ref(*, actor: User, ref: dict[str, Any] | None, case: Case, name: str) -> Person:
    """A person by `person_id` (visible to the caller) or by document (matched anywhere).

    Matching by document crosses jurisdictions on purpose: a contact may live anywhere and
    must become one person, not a duplicate. But a document alone must not bind a contact to
    someone the caller cannot see (a typo would make a stranger a contact, and the answer an
    existence oracle): outside the caller's jurisdiction the entered name must match the
    registered one (normalised), else the item is refused with one fixed message that names
    nobody and the holder is referred to the command office (`exposures_record`). A new
    person is registered in a region the caller can see; the answer never carries anything
    about a person outside it.
    """
    if ref is None:
        return case.person
    if ref.get("person_id"):
        person = Person.objects.visible_to(actor).filter(pk=ref["person_id"]).first()
        if person is None:
            raise FieldError(f"{name}.person_id", _("unknown person"))
        return person
    id_type = ref.get("id_type") or "resident_id"
    if not ref.get("id_number"):
        raise FieldError(name, _("give person_id or an ID number"))
    found = Person.objects.filter(
        id_type=id_type, id_number_bidx=id_number_index(str(ref["id_number"]))
    ).first()
    if found is not None:
        inside = scope_of(actor).covers(found.region_path)
        if inside or names_match(found.name, str(ref.get("name") or "")):
            return found
        raise UnmatchedContact(name, holder_id=found.pk)
    data = person_validate(
        name=ref.get("name", ""),
        id_type=id_type,
        id_number=str(ref["id_number"]),
        phone=ref.get("phone", ""),
        address=ref.get("address", ""),
    )
    try:
        return person_create(actor=actor, data=data, region_code=ref.get("region_code", ""))
    except Referred:  # registered elsewhere meanwhile: the same answer as a mismatch
        raise FieldError(name, str(UNMATCHED_MESSAGE)) from None


def _exposure_times(item: dict[str, Any]) -> tuple[dt.date, dt.datetime | None, dt.datetime | None]:
    start, end, day = item.get("started_at"), item.get("ended_at"), item.get("day")
    if start is not None and end is not None and end < start:
        raise FieldError("ended_at", _("the end is before the start"))
    if day is None and start is None:
        raise FieldError("day", _("give the day or the start time"))
    day = day or timezone.localtime(start).date()
    if day > timezone.localdate():
        raise FieldError("day", _("the date cannot be in the future"))
    return day, start, end


def _record_one(*, actor: User, case: Case, item: dict[str, Any]) -> tuple[str, int]:
    if item.get("context") not in ExposureContext.values:
        raise FieldError("context", _("unknown value"))
    day, start, end = _exposure_times(item)
    one = _person_ref(actor=actor, ref=item.get("person"), case=case, name="person")
    other = _person_ref(actor=actor, ref=item.get("contact"), case=case, name="contact")
    entered = {
        str(person.pk): _as_entered(ref)
        for person, ref in ((one, item.get("person")), (other, item.get("contact")))
        if ref and not ref.get("person_id") and not scope_of(actor).covers(person.region_path)
    }
    if one.pk == other.pk:
        raise FieldError("contact", _("a person cannot be their own contact"))
    a, b = sorted((one.pk, other.pk))
    existing = Exposure.objects.filter(
        person_a_id=a, person_b_id=b, context=item["context"], day=day
    ).first()
    if existing is not None:
        return "existing", existing.pk
    exposure = Exposure.objects.create(
        person_a_id=a,
        person_b_id=b,
        context=item["context"],
        day=day,
        started_at=start,
        ended_at=end,
        place=(item.get("place") or "").strip()[:200],
        case=case,
        region_path=case.region_path,
        created_by=actor,
        entered_ct=vault.encrypt(json.dumps(entered), purpose=ENTERED_PURPOSE) if entered else "",
    )
    return "created", exposure.pk


ENTERED_PURPOSE = "tracing.exposure_entered"


def _as_entered(ref: dict[str, Any]) -> dict[str, str]:
    return {k: str(ref.get(k) or "").strip() for k in ("name", "id_number", "phone", "address")}


def exposures_record(
    *, actor: User, case: Case, items: list[dict[str, Any]], client_ip: str = ""
) -> list[ItemResult]:
    """Record a batch; each item stands alone (a bad one is reported, the rest are kept).

    An item is {"person": ref or None (the case's person), "contact": ref, "context",
    "day" or "started_at" [, "ended_at"], "place"}; see `_person_ref` for a ref.
    """
    authorize(actor, "exposure.record", region=case.region_path)
    results: list[ItemResult] = []
    referred: list[int] = []
    for index, item in enumerate(items):
        try:
            with transaction.atomic():
                status, exposure_id = _record_one(actor=actor, case=case, item=item)
        except UnmatchedContact as exc:
            referred.append(exc.holder_id)
            results.append(
                ItemResult(index, "error", errors=[{"field": exc.field, "msg": exc.message}])
            )
        except FieldError as exc:
            results.append(
                ItemResult(index, "error", errors=[{"field": exc.field, "msg": exc.message}])
            )
        except Conflict as exc:
            results.append(
                ItemResult(index, "error", errors=[{"field": "contact", "msg": exc.message}])
            )
        else:
            results.append(ItemResult(index, status, exposure_id))
    created = sum(r.status == "created" for r in results)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="exposure.record",
            object_type="case",
            object_id=case.pk,
            client_ip=client_ip,
            details={"items": len(items), "created": created},
        )
        if referred:  # the owner's command office decides whether these are their person
            audit_record(
                actor=actor,
                action="exposure.contact_referred",
                object_type="case",
                object_id=case.pk,
                client_ip=client_ip,
                details={"persons": sorted(referred)},
            )
        if created and case.status in CASE_STATUSES:
            case_id = case.pk
            transaction.on_commit(lambda: _enqueue_generations(case_id))
    return results
