"""Reads of the command structure and the ledger, every one scoped to the actor.

Obligations are scoped by their owner unit's region, issues and meetings by the issuer's, so a
town sees its own units' obligations (whoever issued them) and the orders it issued itself.
Every list of obligations carries the derived `stage` (`ladder.with_stage`), and the counts
are taken with the same conditions as the lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from fangkong.command.ladder import Stage, late_q, stage_q, with_stage
from fangkong.command.minutes import UnitName
from fangkong.command.models import (
    CLOSED_STATES,
    Evidence,
    Issue,
    Meeting,
    Obligation,
    ObligationEvent,
    ObligationState,
    Unit,
)
from fangkong.core.models import User
from fangkong.core.scoping import scope_of

STAGE_FILTERS = (*Stage.values, "late")


def unit_list(*, actor: User, kind: str | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.visible_to(actor).select_related("region", "superior")
    return qs.filter(kind=kind) if kind else qs


def unit_get_qs(*, actor: User) -> QuerySet[Unit]:
    return unit_list(actor=actor).prefetch_related("memberships__user")


def my_units(*, actor: User) -> QuerySet[Unit]:
    """The units the actor acts for."""
    return unit_list(actor=actor).filter(memberships__user=actor, active=True)


def member_candidates(*, actor: User) -> QuerySet[User]:
    """The active users who work inside the actor's jurisdiction (who may join its units)."""
    path = scope_of(actor).region_path
    if path is None:
        return User.objects.none()
    return User.objects.filter(is_active=True, region__path__startswith=path)


def unit_names(*, actor: User) -> list[UnitName]:
    """The dictionary the minutes are read with: the active units the actor may issue to."""
    rows = unit_list(actor=actor).filter(active=True).values_list("pk", "name", "aliases", "kind")
    return [UnitName(pk=pk, names=(name, *aliases), kind=kind) for pk, name, aliases, kind in rows]


def _obligations(actor: User, now: dt.datetime) -> QuerySet[Obligation]:
    qs = Obligation.objects.visible_to(actor).select_related(
        "unit", "issue", "issue__issuer", "issue__meeting"
    )
    return with_stage(qs, now)


def obligation_list(
    *,
    actor: User,
    now: dt.datetime,
    stage: str | None = None,
    unit: Unit | None = None,
    issue: Issue | None = None,
    kind: str | None = None,
) -> QuerySet[Obligation]:
    qs = _obligations(actor, now)
    if stage == "late":
        qs = qs.filter(late_q(now))
    elif stage:
        qs = qs.filter(stage_q(stage, now))
    if unit is not None:
        qs = qs.filter(unit=unit)
    if issue is not None:
        qs = qs.filter(issue=issue)
    if kind:
        qs = qs.filter(issue__kind=kind)
    return qs


def obligation_get_qs(*, actor: User, now: dt.datetime) -> QuerySet[Obligation]:
    files = Prefetch("files", queryset=Evidence.objects.visible_to(actor).order_by("pk"))
    events = ObligationEvent.objects.select_related("actor", "unit").prefetch_related(files)
    return _obligations(actor, now).prefetch_related(Prefetch("events", queryset=events))


def my_queue(*, actor: User, now: dt.datetime, stage: str | None = None) -> QuerySet[Obligation]:
    """What the actor's units must do: their own open obligations, completions awaiting their
    verification as issuer, and obligations escalated to them from the units below."""
    units = list(my_units(actor=actor).values_list("pk", flat=True))
    own = Q(unit__in=units) & ~Q(state__in=CLOSED_STATES) & ~Q(state=ObligationState.COMPLETED)
    to_verify = Q(issue__issuer__in=units, state=ObligationState.COMPLETED)
    escalated = Q(unit__superior__in=units) & stage_q(Stage.ESCALATED, now)
    qs = _obligations(actor, now).filter(own | to_verify | escalated)
    return qs.filter(stage_q(stage, now)) if stage else qs


def stage_counts(qs: QuerySet[Obligation], now: dt.datetime) -> dict[str, int]:
    """One query: how many of `qs` are at each stage, and how many are late."""
    figures: dict[str, Any] = {s.value: Count("pk", filter=stage_q(s, now)) for s in Stage}
    figures["late"] = Count("pk", filter=late_q(now))
    figures["total"] = Count("pk")
    return dict(qs.order_by().aggregate(**figures))


def issue_list(*, actor: User, now: dt.datetime, kind: str | None = None) -> QuerySet[Issue]:
    qs = Issue.objects.visible_to(actor).select_related("issuer", "meeting")
    if kind:
        qs = qs.filter(kind=kind)
    return qs.annotate(
        units=Count("obligations"),
        closed=Count("obligations", filter=Q(obligations__state=ObligationState.VERIFIED)),
        awaiting=Count("obligations", filter=Q(obligations__state=ObligationState.COMPLETED)),
        late=Count("obligations", filter=_prefixed(late_q(now))),
        unacknowledged=Count("obligations", filter=Q(obligations__state=ObligationState.OPEN)),
    )


def _prefixed(q: Q) -> Q:
    """`q` over obligations, as seen from their issue (`obligations__…`)."""
    children: list[Any] = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_prefixed(child))
        else:
            name, value = child  # type: ignore[misc]
            children.append((f"obligations__{name}", value))
    out = Q(*children, _connector=q.connector, _negated=q.negated)
    return out


def issue_get_qs(*, actor: User, now: dt.datetime) -> QuerySet[Issue]:
    return issue_list(actor=actor, now=now)


def meeting_list(*, actor: User) -> QuerySet[Meeting]:
    return Meeting.objects.visible_to(actor).select_related("issuer")


def evidence_get_qs(*, actor: User) -> QuerySet[Evidence]:
    return Evidence.objects.visible_to(actor).select_related("event")
