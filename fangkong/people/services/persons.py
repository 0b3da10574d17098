"""Every write to the person registry."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import (
    FieldError,
    normalize_id_number,
    normalize_phone,
    resident_id_facts,
)
from fangkong.people.models import IdType, KeyGroup, Person

ID_PURPOSE = "person.id_number"
PHONE_PURPOSE = "person.phone"
ADDRESS_PURPOSE = "person.address"
REVEALABLE = ("id_number", "phone", "address")

# Choice values, computed once: the enum properties rebuild their lists on every access.
_ID_TYPES = frozenset(IdType.values)
_KEY_GROUPS = frozenset(KeyGroup.values)


@dataclass
class PersonData:
    """Validated, normalized person fields, ready to encrypt and store."""

    name: str
    id_type: str
    id_number: str
    phone: str = ""
    address: str = ""
    occupation: str = ""
    key_group: str = ""
    tags: list[str] = field(default_factory=list)


def person_validate(
    *,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    address: str = "",
    occupation: str = "",
    key_group: str = "",
    tags: list[str] | None = None,
) -> PersonData:
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _("name is required"))
    if len(name) > 64:
        raise FieldError("name", _("name is longer than 64 characters"))
    if id_type not in _ID_TYPES:
        raise FieldError("id_type", _("unknown ID type"))
    if key_group not in _KEY_GROUPS:
        raise FieldError("key_group", _("unknown key group"))
    return PersonData(
        name=name,
        id_type=id_type,
        id_number=normalize_id_number(id_type, id_number),
        phone=normalize_phone(phone) if (phone or "").strip() else "",
        address=(address or "").strip()[:255],
        occupation=(occupation or "").strip()[:64],
        key_group=key_group,
        tags=sorted({t.strip() for t in (tags or []) if t and t.strip()}),
    )


def id_number_index(value: str) -> str:
    return vault.blind_index(value.strip().upper().replace(" ", ""), purpose=ID_PURPOSE)


def phone_index(e164: str) -> str:
    return vault.blind_index(e164, purpose=PHONE_PURPOSE)


def person_build(
    *, data: PersonData, region: Region, actor: User | None, source: str = "manual"
) -> Person:
    """An unsaved Person with encrypted fields; shared by create, import and the demo city."""
    person = Person(
        name=data.name,
        id_type=data.id_type,
        region=region,
        region_path=region.path,
        created_by=actor,
        source=source,
    )
    _apply_identity(person, data)
    _apply_contact(person, data)
    return person


def _apply_identity(person: Person, data: PersonData) -> None:
    person.id_type = data.id_type
    person.id_number_ct = vault.encrypt(data.id_number, purpose=ID_PURPOSE)
    person.id_number_bidx = id_number_index(data.id_number)
    person.id_number_mask = vault.mask_id_number(data.id_number)
    if data.id_type == IdType.RESIDENT_ID:
        person.sex, person.birth_date = resident_id_facts(data.id_number)


def _apply_contact(person: Person, data: PersonData) -> None:
    person.name = data.name
    person.phone_ct = vault.encrypt(data.phone, purpose=PHONE_PURPOSE) if data.phone else ""
    person.phone_bidx = phone_index(data.phone) if data.phone else ""
    person.phone_mask = vault.mask_phone(data.phone) if data.phone else ""
    person.address_ct = vault.encrypt(data.address, purpose=ADDRESS_PURPOSE) if data.address else ""
    person.address_mask = vault.mask_address(data.address)
    person.occupation = data.occupation
    person.key_group = data.key_group
    person.tags = data.tags


def name_key(name: str) -> str:
    """A name as compared across records: NFKC (full-width to half-width), case-folded,
    without spaces or the middle dots of transliterated names ("阿依·买买提")."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "·・•.")


def names_match(registered: str, entered: str) -> bool:
    """Whether an entered name is the registered one; an empty entry never matches."""
    key = name_key(entered)
    return bool(key) and key == name_key(registered)


def region_for_actor(*, actor: User, code: str, field_name: str = "region") -> Region:
    region = Region.objects.visible_to(actor).filter(code=(code or "").strip()).first()
    if region is None:
        raise FieldError(field_name, _("unknown region or outside your jurisdiction"))
    return region


class Referred(Exception):
    """The document is registered outside the caller's jurisdiction: the registration was
    referred to the command office instead of being refused (see `_refer`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _existing(data: PersonData) -> Person | None:
    return (
        Person.objects.filter(id_type=data.id_type, id_number_bidx=id_number_index(data.id_number))
        .only("id", "name", "region_path")
        .first()
    )


def _duplicate_conflict(*, actor: User, data: PersonData) -> Conflict:
    existing = _existing(data)
    visible = (
        existing is not None and Person.objects.visible_to(actor).filter(pk=existing.pk).exists()
    )
    if visible and existing is not None:
        return Conflict(
            _("a person with this ID number already exists"),
            existing={"id": existing.pk, "name": existing.name},
        )
    # An update onto a document held elsewhere: nothing about the holder, not even that the
    # holder is in another jurisdiction; the same words as any unusable document number.
    return Conflict(_("this ID number cannot be used for this person here"), existing=None)


REFERRED_MESSAGE = gettext_lazy(
    "the registration was received and passed to the command office, which confirms it "
    "before the person appears in your list"
)


def _refer(*, actor: User, data: PersonData, region: Region, client_ip: str) -> Referred:
    """Issue 8 decision: a document is registered once city-wide, so registering a person the
    caller cannot see is not refused with "registered elsewhere" (an existence oracle) but
    accepted as a referral: 202 with one fixed message, no name, id or region of the holder.
    The audit row (read by the command office over both sides) carries the request so the
    office can transfer the person or correct the document. A caller can still tell 202 from
    201 — unavoidable while the registrant does not get the person — but learns nothing
    about who holds the number or where, and every probe is an attributable audit row."""
    existing = _existing(data)
    if existing is None:  # vanished between the insert and here: let the caller retry
        return Referred(str(REFERRED_MESSAGE))
    audit_record(
        actor=actor,
        action="person.registration_referred",
        object_type="person",
        object_id=existing.pk,
        client_ip=client_ip,
        details={"to_region": region.code, "from_path": existing.region_path},
    )
    return Referred(str(REFERRED_MESSAGE))


def person_create(
    *, actor: User, data: PersonData, region_code: str, client_ip: str = ""
) -> Person:
    """Register a person; raises Conflict for a document held in the caller's jurisdiction
    and Referred for one held outside it."""
    authorize(actor, "person.create")
    region = region_for_actor(actor=actor, code=region_code)
    authorize(actor, "person.create", region=region)
    person = person_build(data=data, region=region, actor=actor)
    try:
        with transaction.atomic():
            person.save(force_insert=True)
            audit_record(
                actor=actor,
                action="person.create",
                object_type="person",
                object_id=person.pk,
                client_ip=client_ip,
            )
    except IntegrityError:
        conflict = _duplicate_conflict(actor=actor, data=data)
        if conflict.extra.get("existing") is not None:
            raise conflict from None
        raise _refer(actor=actor, data=data, region=region, client_ip=client_ip) from None
    return person


def person_update(
    *, actor: User, person: Person, changes: dict[str, Any], client_ip: str = ""
) -> Person:
    """Apply a partial update; the ID document is replaced only when both fields validate."""
    authorize(actor, "person.update", region=person.region_path)
    current = {
        "name": person.name,
        "id_type": person.id_type,
        "occupation": person.occupation,
        "key_group": person.key_group,
        "tags": person.tags,
        "id_number": "",
        "phone": "",
        "address": "",
    }
    revealed = _decrypt_fields(person, REVEALABLE)
    current.update(revealed)
    merged = {**current, **{k: v for k, v in changes.items() if k != "region_code"}}
    data = person_validate(**merged)
    if changes.get("region_code"):
        region = region_for_actor(actor=actor, code=changes["region_code"])
        authorize(actor, "person.update", region=region)
        person.region, person.region_path = region, region.path
    _apply_identity(person, data)
    _apply_contact(person, data)
    try:
        with transaction.atomic():
            person.save()
            audit_record(
                actor=actor,
                action="person.update",
                object_type="person",
                object_id=person.pk,
                client_ip=client_ip,
                details={"fields": sorted(changes)},
            )
    except IntegrityError:
        raise _duplicate_conflict(actor=actor, data=data) from None
    return person


def _decrypt_fields(person: Person, fields: tuple[str, ...] | list[str]) -> dict[str, str]:
    purposes = {"id_number": ID_PURPOSE, "phone": PHONE_PURPOSE, "address": ADDRESS_PURPOSE}
    out: dict[str, str] = {}
    for name in fields:
        token = getattr(person, f"{name}_ct")
        out[name] = vault.decrypt(token, purpose=purposes[name]) if token else ""
    return out


def person_reveal(
    *, actor: User, person: Person, fields: list[str], reason: str, client_ip: str = ""
) -> dict[str, str]:
    """Unmask personal fields for a role allowed to, writing the audit row first."""
    authorize(actor, "person.reveal", region=person.region_path)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise FieldError("reason", _("give the reason for revealing (at least 4 characters)"))
    wanted = [f for f in (fields or list(REVEALABLE)) if f in REVEALABLE]
    if not wanted:
        raise FieldError("fields", _("choose at least one of: id_number, phone, address"))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="person.reveal",
            object_type="person",
            object_id=person.pk,
            reason=reason,
            client_ip=client_ip,
            details={"fields": wanted},
        )
    return _decrypt_fields(person, wanted)
