"""ID and phone search: permitted roles only, every search audited, a per-user throttle.

An exact lookup by ID number or phone is an oracle — "does this number belong to someone
here?" — so it is treated like a reveal:

- only roles the permission table grants `person.search` may ask (a grid worker may not);
- every search, hit or miss, writes an audit row with the actor, the kind of term, a keyed
  HMAC of the term (the blind-index key, its own purpose, so the row can be matched against
  a later complaint but never read back) and the number of hits — never the term itself;
- each user may search `PERSON_SEARCHES_PER_WINDOW` times per `PERSON_SEARCH_WINDOW_SECONDS`,
  counted in the Django cache (shared across server processes when a shared cache is
  configured), past which the answer is 429 with Retry-After.

What the answer shows is bounded in `core.vault.mask_id_number`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.people.models import Person
from fangkong.people.selectors import persons as selectors

DEFAULT_SEARCHES_PER_WINDOW = 60
DEFAULT_WINDOW_SECONDS = 600
MAX_RESULTS = 50


class SearchThrottled(Exception):
    """Too many searches by this user in the window; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many searches")
        self.retry_after = retry_after


def _window() -> int:
    return int(getattr(settings, "PERSON_SEARCH_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS))


def search_throttle(*, actor: User) -> None:
    """Count one search by this user; raise SearchThrottled past the window's limit."""
    limit = int(getattr(settings, "PERSON_SEARCHES_PER_WINDOW", DEFAULT_SEARCHES_PER_WINDOW))
    window = _window()
    key = f"person-search:{actor.pk}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit:
        raise SearchThrottled(window)


def person_search(
    *, actor: User, id_number: str = "", phone: str = "", client_ip: str = ""
) -> list[Person]:
    """Authorize, throttle, look up (at most MAX_RESULTS) and audit one search."""
    authorize(actor, "person.search")
    search_throttle(actor=actor)
    kind = "id_number" if id_number.strip() else "phone"
    term = (id_number if kind == "id_number" else phone).strip().upper().replace(" ", "")
    qs = selectors.person_search(actor=actor, id_number=id_number, phone=phone)
    persons = list(qs.defer("id_number_ct", "phone_ct", "address_ct")[:MAX_RESULTS])
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="person.search",
            object_type="person",
            object_id="-",
            client_ip=client_ip,
            details={
                "kind": kind,
                "term_hash": vault.blind_index(term, purpose="audit.person_search"),
                "hits": len(persons),
            },
        )
    return persons
