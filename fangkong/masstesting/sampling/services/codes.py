"""Registration codes (核酸码): what the QR carries, its SVG, printable sheets, token lookups.

The QR carries `FK1:<token>` and nothing else: `FK1` names the format (version 1 of fangkong
codes, so a scanner can tell ours from a payment or venue code and a later format can be
told apart), the token is `RegistrationCode.token`, 22 random url-safe characters. No name,
ID number or link is in it: whoever photographs someone's code learns nothing, and a phone
camera does not open the holder's results page. Samplers' scanners send either the whole
payload or the bare token; `token_from_payload` accepts both.

The self-service page is reached by its own link (/hs/<secret>/), not by the token: the token
is shown at every checkpoint, and whoever saw or scanned it must not get the person's results.
The secret is random, handed out once by staff (`self_service_link_issue`), kept only as a
keyed hash on the code row, replaced by the next issue and cleared by a revocation. Lookups on
that public page are throttled per client address.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.vault import mask_name
from fangkong.masstesting.models import RegistrationCode
from fangkong.people.models import Person


def new_token() -> str:
    # 16 random bytes -> 22 urlsafe characters: unguessable and carries nothing personal.
    return secrets.token_urlsafe(16)


def registration_code_for(*, person: Person) -> RegistrationCode:
    """The person's stable code, created on first use; concurrent first uses agree."""
    code = RegistrationCode.objects.filter(person=person).first()
    if code is not None:
        return code
    try:
        with transaction.atomic():
            return RegistrationCode.objects.create(person=person, token=new_token())
    except IntegrityError:
        return RegistrationCode.objects.get(person=person)


PAYLOAD_PREFIX = "FK1:"
# Public lookups per client address per hour; a household behind one address (or a carrier
# NAT) looking at its own pages stays far below it, guessing tokens does not get anywhere.
DEFAULT_LOOKUPS_PER_HOUR = 120
LINK_PURPOSE = "masstesting.self_service_link"
LINK_SECRET_LENGTH = 32  # secrets.token_urlsafe(24)
MAX_SHEET_PERSONS = 1000


class Throttled(Exception):
    pass


def code_payload(token: str) -> str:
    return f"{PAYLOAD_PREFIX}{token}"


def token_from_payload(raw: str) -> str:
    """The token out of what a scanner typed: `FK1:<token>` or the bare token."""
    raw = (raw or "").strip()
    if raw.upper().startswith(PAYLOAD_PREFIX):
        raw = raw[len(PAYLOAD_PREFIX) :]
    return raw


def qr_svg(token: str, *, scale: int = 6, border: int = 2, dark: str = "#0c2140") -> SafeString:
    """The code as an inline SVG; built from our own url-safe random token only. Printed
    sheets use pure black, which cheap printers and old scanners handle best."""
    code = segno.make_qr(code_payload(token), error="m")
    svg = code.svg_inline(
        scale=scale,
        border=border,
        dark=dark,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,
    )
    return mark_safe(svg)  # noqa: S308  # our own token, no user input


def link_qr_svg(url: str) -> SafeString:
    """A self-service link as an inline SVG QR code, for the person to scan with a phone."""
    code = segno.make_qr(url, error="m")
    svg = code.svg_inline(scale=5, border=2, svgclass="qr-code", lineclass=None, omitsize=True)
    return mark_safe(svg)  # noqa: S308  # segno's own markup of our own URL


# ---------------------------------------------------------------- lookups by token (public)


def code_by_token(token: str) -> RegistrationCode | None:
    """The code and its person for a token, or None. Unscoped on purpose: the token is the
    credential (the self-service page and the validity check); callers show only masks."""
    token = token_from_payload(token)
    if not token or len(token) > 32:
        return None
    return (
        RegistrationCode.objects.select_related("person", "person__region")
        .filter(token=token)
        .first()
    )


def _link_hash(secret: str) -> str:
    return vault.blind_index(secret, purpose=LINK_PURPOSE)


def code_by_link(secret: str) -> RegistrationCode | None:
    """The code whose self-service link carries this secret, or None (also for a QR token,
    which is shorter). Unscoped on purpose: the secret is the credential; callers show masks."""
    if len(secret or "") != LINK_SECRET_LENGTH:
        return None
    return (
        RegistrationCode.objects.select_related("person", "person__region")
        .filter(link_hash=_link_hash(secret))
        .first()
    )


def lookup_throttle(*, client_ip: str) -> None:
    """Count one public lookup from this address; raise Throttled past the hourly limit.

    Kept in the cache (shared across workers when the deployment configures a shared cache),
    keyed by a keyed hash of the address, so neither the address nor the token is stored.
    """
    limit = int(getattr(settings, "MASSTESTING_LOOKUPS_PER_HOUR", DEFAULT_LOOKUPS_PER_HOUR))
    key = "mt-lookup:" + vault.blind_index(client_ip or "-", purpose="masstesting.lookup_client")
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > limit:
        raise Throttled()


# ---------------------------------------------------------------- codes in bulk, sheets


@transaction.atomic
def code_read(*, actor: User, person: Person) -> RegistrationCode:
    """A person's code for a staff member (created on first use); audited, since the token
    opens the person's results page."""
    authorize(actor, "code.read", region=person.region_path)
    code = registration_code_for(person=person)
    audit_record(
        actor=actor, action="masstesting.code_read", object_type="person", object_id=person.pk
    )
    return code


@transaction.atomic
def self_service_link_issue(*, actor: User, person: Person) -> str:
    """A new self-service link (path) for the person, shown once; the previous one stops
    working. Only the hash is stored, so a lost link is replaced, never shown again."""
    authorize(actor, "code.link", region=person.region_path)
    code = registration_code_for(person=person)
    secret = secrets.token_urlsafe(24)
    RegistrationCode.objects.filter(pk=code.pk).update(
        link_hash=_link_hash(secret), link_issued_at=timezone.now()
    )
    audit_record(
        actor=actor, action="masstesting.link_issue", object_type="person", object_id=person.pk
    )
    return reverse("masstesting_public:self_service", args=[secret])


@transaction.atomic
def self_service_link_revoke(*, actor: User, person: Person) -> None:
    """Withdraw the person's self-service link (lost phone, card handed on); audited."""
    authorize(actor, "code.link", region=person.region_path)
    RegistrationCode.objects.filter(person=person).update(link_hash=None, link_issued_at=None)
    audit_record(
        actor=actor, action="masstesting.link_revoke", object_type="person", object_id=person.pk
    )


def codes_ensure(*, person_ids: list[int]) -> dict[int, str]:
    """Every given person's token, creating missing codes in bulk. At most three queries.

    A concurrent first use may create a code between the read and the insert; the insert
    ignores that conflict and the re-read returns the winner's token, so everyone agrees.
    """
    ids = list(dict.fromkeys(person_ids))
    tokens = dict(
        RegistrationCode.objects.filter(person_id__in=ids).values_list("person_id", "token")
    )
    missing = [pid for pid in ids if pid not in tokens]
    if missing:
        RegistrationCode.objects.bulk_create(
            [RegistrationCode(person_id=pid, token=new_token()) for pid in missing],
            ignore_conflicts=True,
        )
        tokens.update(
            RegistrationCode.objects.filter(person_id__in=missing).values_list("person_id", "token")
        )
    return tokens


@dataclass(frozen=True)
class Card:
    person_id: int
    masked_name: str
    id_mask: str
    grid_name: str
    token: str
    qr: SafeString


@transaction.atomic
def code_sheet_generate(
    *, actor: User, grid: Region, persons: Iterable[Person], client_ip: str = ""
) -> list[Card]:
    """Cards of printable codes for persons of one grid; one audit row for the whole sheet.

    `grid` and `persons` come from scoped selectors; the persons' codes are created on the
    way if they have none yet.
    """
    authorize(actor, "code.read", region=grid)
    persons = list(persons)[:MAX_SHEET_PERSONS]
    tokens = codes_ensure(person_ids=[p.pk for p in persons])
    audit_record(
        actor=actor,
        action="masstesting.code_sheet",
        object_type="region",
        object_id=grid.pk,
        client_ip=client_ip,
        details={"grid": grid.code, "persons": len(persons)},
    )
    return [
        Card(
            person_id=p.pk,
            masked_name=mask_name(p.name),
            id_mask=p.id_number_mask,
            grid_name=grid.name,
            token=tokens[p.pk],
            qr=qr_svg(tokens[p.pk], scale=4, border=2, dark="#000"),
        )
        for p in persons
    ]
