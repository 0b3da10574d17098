"""Meeting decisions → tracked directives: the office confirms the edited proposals of a
meeting's minutes (`command/minutes.py`) into obligations in one step — every item or none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.command.models import Issue, IssueKind, Meeting, ObligationRole, Unit
from fangkong.command.services.ledger import MAX_TITLE, Part, acting_for, issue_create
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError

MAX_MINUTES = 100_000
MAX_ITEMS = 200


@dataclass(frozen=True)
class Directive:
    duty: str
    lead: Sequence[Unit]
    support: Sequence[Unit] = ()
    deadline: dt.datetime | None = None


def _title(duty: str) -> str:
    one_line = " ".join(duty.split())
    return one_line if len(one_line) <= 60 else one_line[:59] + "…"


@transaction.atomic
def directives_confirm(
    *,
    actor: User,
    issuer: Unit,
    title: str,
    held_on: dt.date,
    minutes: str,
    directives: Sequence[Directive],
) -> list[Issue]:
    """Store the meeting and issue each directive to its lead and supporting units. A refusal
    names the item (`items.3.deadline`) and nothing is written."""
    authorize(actor, "command.issue", region=issuer.region)
    acting_for(actor, issuer)
    if not title.strip() or len(title.strip()) > MAX_TITLE:
        raise FieldError("title", _("give the meeting's name (at most 200 characters)"))
    if not minutes.strip() or len(minutes) > MAX_MINUTES:
        raise FieldError("minutes", _("paste the minutes (at most 100,000 characters)"))
    if not directives:
        raise FieldError("items", _("confirm at least one directive"))
    if len(directives) > MAX_ITEMS:
        raise FieldError("items", _("at most %(n)d directives at once") % {"n": MAX_ITEMS})
    meeting = Meeting.objects.create(
        title=title.strip(), held_on=held_on, minutes=minutes, issuer=issuer,
        region_path=issuer.region.path, created_by=actor,
    )  # fmt: skip
    issued = []
    for number, item in enumerate(directives, start=1):
        parts = [Part(unit=u, role=ObligationRole.LEAD, duty=item.duty) for u in item.lead]
        parts += [Part(unit=u, role=ObligationRole.SUPPORT, duty=item.duty) for u in item.support]
        if not item.lead:
            raise FieldError(f"items.{number}.lead", _("item %(n)d: name the lead unit") % {
                "n": number})  # fmt: skip
        try:
            issued.append(
                issue_create(
                    actor=actor,
                    issuer=issuer,
                    kind=IssueKind.DIRECTIVE,
                    title=_title(item.duty),
                    body=item.duty,
                    deadline=item.deadline,
                    parts=parts,
                    meeting=meeting,
                )
            )
        except FieldError as exc:
            raise FieldError(
                f"items.{number}.{exc.field}",
                _("item %(n)d: %(reason)s") % {"n": number, "reason": exc.message},
            ) from exc
    return issued
