"""Writes of the obligation ledger: issuing to many units at once, and each obligation's way
from acknowledgement through progress notes and completion to the issuer's verification,
sending back, reopening or cancelling.

The table (`command.*` in permissions.py) says which roles may act over the unit's region;
acting for a unit also needs membership of it: the owner unit works its obligation, the
issuing unit verifies. Every step writes an `ObligationEvent` (the obligation's timeline) and
the consequential ones an audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.command.models import (
    EventKind,
    Issue,
    IssueKind,
    Meeting,
    Obligation,
    ObligationEvent,
    ObligationRole,
    ObligationState,
    Unit,
)
from fangkong.command.services.evidence import Upload, store_evidence
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden, authorize
from fangkong.core.validators import FieldError

MAX_TITLE = 200
MAX_TEXT = 4000
MAX_UNITS = 500
NUMBER_PREFIX = {IssueKind.ORDER: "LING", IssueKind.DIRECTIVE: "YI", IssueKind.PROBLEM: "DC"}
# who issues and who verifies, by kind: an inspector records and closes out a problem
ISSUE_ACTION = {IssueKind.PROBLEM: "command.problem.record"}
VERIFY_ACTION = {IssueKind.PROBLEM: "command.problem.record"}


def issue_action(kind: str) -> str:
    return ISSUE_ACTION.get(IssueKind(kind), "command.issue")


def verify_action(kind: str) -> str:
    return VERIFY_ACTION.get(IssueKind(kind), "command.obligation.verify")


@dataclass(frozen=True)
class Part:
    """One unit's part of an issue: lead or supporting, its duty, its own deadline if any."""

    unit: Unit
    role: str = ObligationRole.LEAD
    duty: str = ""
    deadline: dt.datetime | None = None


def acting_for(actor: User, unit: Unit) -> None:
    """Refuse unless the actor is a member of the unit (acts in its name)."""
    if not unit.memberships.filter(user=actor).exists():
        raise Forbidden(_("you do not act for %(unit)s") % {"unit": unit.name})


def text_field(value: str, field: str, *, limit: int, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise FieldError(field, _("this field is required"))
    if len(cleaned) > limit:
        raise FieldError(field, _("at most %(n)d characters") % {"n": limit})
    return cleaned


def _future(deadline: dt.datetime | None, field: str, now: dt.datetime) -> dt.datetime:
    if deadline is None:
        raise FieldError(field, _("give a deadline"))
    if timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    if deadline <= now:
        raise FieldError(field, _("the deadline must be in the future"))
    return deadline


def _check_parts(
    actor: User, issuer: Unit, parts: Sequence[Part], now: dt.datetime, action: str
) -> None:
    if not parts:
        raise FieldError("units", _("choose at least one unit"))
    if len(parts) > MAX_UNITS:
        raise FieldError("units", _("at most %(n)d units at once") % {"n": MAX_UNITS})
    seen: set[int] = set()
    for part in parts:
        if part.unit.pk in seen:
            raise FieldError("units", _("%(unit)s is named twice") % {"unit": part.unit.name})
        seen.add(part.unit.pk)
        if part.unit.pk == issuer.pk:
            raise FieldError("units", _("a unit does not issue to itself"))
        if not part.unit.active:
            raise FieldError("units", _("%(unit)s is not active") % {"unit": part.unit.name})
        if part.role not in ObligationRole.values:
            raise FieldError("role", _("unknown part: %(r)s") % {"r": part.role})
        authorize(actor, action, region=part.unit.region)
        if part.deadline is not None:
            _future(part.deadline, "deadline", now)


@transaction.atomic
def issue_create(
    *,
    actor: User,
    issuer: Unit,
    kind: str,
    title: str,
    deadline: dt.datetime | None,
    parts: Sequence[Part],
    body: str = "",
    evidence_expected: str = "",
    meeting: Meeting | None = None,
) -> Issue:
    """Issue to every unit of `parts` at once: one obligation each, told apart as lead or
    supporting, each with its duty (the issue's text when none is given)."""
    if kind not in IssueKind.values:
        raise FieldError("kind", _("unknown kind: %(k)s") % {"k": kind})
    authorize(actor, issue_action(kind), region=issuer.region)
    acting_for(actor, issuer)
    now = timezone.now()
    issue = Issue(
        kind=kind,
        number=f"pending-{now.timestamp()}-{actor.pk}",
        title=text_field(title, "title", limit=MAX_TITLE),
        body=text_field(body, "body", limit=MAX_TEXT, required=False),
        evidence_expected=text_field(
            evidence_expected, "evidence_expected", limit=500, required=False
        ),
        issuer=issuer,
        region_path=issuer.region.path,
        meeting=meeting,
        deadline=_future(deadline, "deadline", now),
        issued_by=actor,
        issued_at=now,
    )
    _check_parts(actor, issuer, parts, now, issue_action(kind))
    issue.save()
    issue.number = f"{NUMBER_PREFIX[IssueKind(kind)]}-{now.year}-{issue.pk:05d}"
    issue.save(update_fields=["number"])
    obligations = Obligation.objects.bulk_create(
        [
            Obligation(
                issue=issue,
                unit=part.unit,
                region_path=part.unit.region.path,
                role=part.role,
                duty=text_field(part.duty or issue.body or issue.title, "duty", limit=MAX_TEXT),
                deadline=part.deadline or issue.deadline,
                issued_at=now,
            )
            for part in parts
        ]
    )
    ObligationEvent.objects.bulk_create(
        ObligationEvent(obligation=o, kind=EventKind.ISSUED, actor=actor, unit=issuer, at=now)
        for o in obligations
    )
    audit_record(
        actor=actor,
        action=f"command.{kind}.issue",
        object_type="command.issue",
        object_id=issue.pk,
        details={"units": [p.unit.pk for p in parts], "number": issue.number},
    )
    return issue


def _locked(obligation: Obligation) -> Obligation:
    locked: Obligation = (
        Obligation.objects.select_for_update(of=("self",))
        .select_related("unit", "unit__region", "issue", "issue__issuer", "issue__issuer__region")
        .get(pk=obligation.pk)
    )
    return locked


def _event(
    obligation: Obligation, kind: str, actor: User, unit: Unit, *, text: str = "", link: str = ""
) -> ObligationEvent:
    return ObligationEvent.objects.create(
        obligation=obligation,
        kind=kind,
        actor=actor,
        unit=unit,
        at=timezone.now(),
        text=text,
        link=link,
    )


def _as_owner(actor: User, obligation: Obligation) -> Obligation:
    authorize(actor, "command.obligation.work", region=obligation.unit.region)
    acting_for(actor, obligation.unit)
    return _locked(obligation)


def _as_issuer(actor: User, obligation: Obligation) -> Obligation:
    authorize(actor, verify_action(obligation.issue.kind), region=obligation.unit.region)
    acting_for(actor, obligation.issue.issuer)
    return _locked(obligation)


def _refuse_unless(obligation: Obligation, *states: str) -> None:
    if obligation.state not in states:
        raise Conflict(
            _("this obligation is %(state)s") % {"state": obligation.get_state_display()}
        )


@transaction.atomic
def obligation_acknowledge(*, actor: User, obligation: Obligation) -> Obligation:
    ob = _as_owner(actor, obligation)
    _refuse_unless(
        ob, ObligationState.OPEN, ObligationState.ACKNOWLEDGED, ObligationState.COMPLETED
    )
    if ob.state != ObligationState.OPEN:
        return ob  # a second click (or a retry) acknowledges nothing more
    ob.state, ob.acknowledged_at = ObligationState.ACKNOWLEDGED, timezone.now()
    ob.save(update_fields=["state", "acknowledged_at"])
    _event(ob, EventKind.ACKNOWLEDGED, actor, ob.unit)
    return ob


def _link(value: str) -> str:
    link = (value or "").strip()
    if link and (not link.startswith("/") or link.startswith("//") or len(link) > 300):
        raise FieldError("link", _("a link is a page of this system, starting with /"))
    return link


@transaction.atomic
def obligation_note(
    *,
    actor: User,
    obligation: Obligation,
    text: str,
    link: str = "",
    files: Sequence[Upload] = (),
    complete: bool = False,
) -> Obligation:
    """A progress note with evidence; with `complete`, the report that the work is done (a
    note not yet acknowledged acknowledges it)."""
    ob = _as_owner(actor, obligation)
    _refuse_unless(ob, ObligationState.OPEN, ObligationState.ACKNOWLEDGED)
    cleaned = text_field(text, "text", limit=MAX_TEXT, required=complete or not (files or link))
    now = timezone.now()
    if ob.state == ObligationState.OPEN:
        ob.state, ob.acknowledged_at = ObligationState.ACKNOWLEDGED, now
        _event(ob, EventKind.ACKNOWLEDGED, actor, ob.unit)
    kind = EventKind.COMPLETED if complete else EventKind.NOTE
    event = _event(ob, kind, actor, ob.unit, text=cleaned, link=_link(link))
    for upload in files:
        store_evidence(event=event, upload=upload)
    if complete:
        ob.state, ob.completed_at = ObligationState.COMPLETED, now
    ob.save(update_fields=["state", "acknowledged_at", "completed_at"])
    return ob


@transaction.atomic
def obligation_verify(*, actor: User, obligation: Obligation, note: str = "") -> Obligation:
    ob = _as_issuer(actor, obligation)
    _refuse_unless(ob, ObligationState.COMPLETED)
    ob.state, ob.verified_at = ObligationState.VERIFIED, timezone.now()
    ob.save(update_fields=["state", "verified_at"])
    _event(ob, EventKind.VERIFIED, actor, ob.issue.issuer, text=note.strip()[:MAX_TEXT])
    audit_record(
        actor=actor, action="command.obligation.verify", object_type="command.obligation",
        object_id=ob.pk,
    )  # fmt: skip
    return ob


def _with_reason(
    actor: User, ob: Obligation, kind: str, reason: str, counter: str, action: str
) -> Obligation:
    why = text_field(reason, "reason", limit=MAX_TEXT)
    ob.state, ob.completed_at, ob.verified_at = ObligationState.ACKNOWLEDGED, None, None
    setattr(ob, counter, getattr(ob, counter) + 1)
    ob.save(update_fields=["state", "completed_at", "verified_at", counter])
    _event(ob, kind, actor, ob.issue.issuer, text=why)
    audit_record(
        actor=actor, action=action, object_type="command.obligation", object_id=ob.pk, reason=why
    )
    return ob


@transaction.atomic
def obligation_return(*, actor: User, obligation: Obligation, reason: str) -> Obligation:
    """Send a completion back: the evidence does not show the work done."""
    ob = _as_issuer(actor, obligation)
    _refuse_unless(ob, ObligationState.COMPLETED)
    return _with_reason(
        actor, ob, EventKind.RETURNED, reason, "times_returned", "command.obligation.return"
    )


@transaction.atomic
def obligation_reopen(*, actor: User, obligation: Obligation, reason: str) -> Obligation:
    """Reopen a verified obligation (the problem came back, the check was wrong)."""
    ob = _as_issuer(actor, obligation)
    _refuse_unless(ob, ObligationState.VERIFIED)
    return _with_reason(
        actor, ob, EventKind.REOPENED, reason, "times_reopened", "command.obligation.reopen"
    )


@transaction.atomic
def obligation_cancel(*, actor: User, obligation: Obligation, reason: str) -> Obligation:
    authorize(actor, issue_action(obligation.issue.kind), region=obligation.unit.region)
    acting_for(actor, obligation.issue.issuer)
    ob = _locked(obligation)
    _refuse_unless(ob, ObligationState.OPEN, ObligationState.ACKNOWLEDGED)
    why = text_field(reason, "reason", limit=MAX_TEXT)
    ob.state = ObligationState.CANCELLED
    ob.save(update_fields=["state"])
    _event(ob, EventKind.CANCELLED, actor, ob.issue.issuer, text=why)
    audit_record(
        actor=actor, action="command.obligation.cancel", object_type="command.obligation",
        object_id=ob.pk, reason=why,
    )  # fmt: skip
    return ob
