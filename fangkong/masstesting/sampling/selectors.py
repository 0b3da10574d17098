"""Reads of sampling and codes for the request layer."""

from __future__ import annotations

from typing import Any

from fangkong.core.models import User
from fangkong.core.permissions import allowed
from fangkong.masstesting.planning import selectors


def link_state(*, actor: User, person: Any) -> dict[str, Any]:
    """What the person page shows of the self-service link: when it was issued, and whether
    the actor may hand out or withdraw one (the link itself is shown only when issued)."""
    codes = selectors.registration_code_list(actor=actor).filter(person=person)
    issued = codes.values_list("link_issued_at", flat=True).first()
    return {"issued_at": issued, "may_link": allowed(actor, "code.link", region=person.region_path)}
