"""Reads of the supervision ledger, scoped by where each problem was found.

A problem's state and stage are its obligation's (`ladder.with_stage`), so the supervision
lists and the ledger never disagree. Recurrence counts the problems of one kind found at one
site (by its folded name) over a span.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet

from fangkong.command.ladder import with_stage
from fangkong.command.models import IssueKind, Obligation, Problem, ProblemKind, Reinspection
from fangkong.core.models import User


def kind_list(*, active: bool | None = True) -> QuerySet[ProblemKind]:
    """The catalogue: the same for everyone, so not scoped."""
    qs = ProblemKind.objects.all()
    return qs if active is None else qs.filter(active=active)


def problem_list(
    *,
    actor: User,
    state: str | None = None,
    kind_id: int | None = None,
    severity: str | None = None,
) -> QuerySet[Problem]:
    qs = Problem.objects.visible_to(actor).select_related(
        "kind", "region", "obligation__unit", "issue__issuer"
    )
    if state:
        qs = qs.filter(obligation__state=state)
    if kind_id:
        qs = qs.filter(kind_id=kind_id)
    if severity:
        qs = qs.filter(severity=severity)
    return qs


def problem_obligations(*, actor: User, now: dt.datetime) -> QuerySet[Obligation]:
    """The problems' obligations with their derived stage, for the ladder's counts."""
    mine = Obligation.objects.visible_to(actor).filter(issue__kind=IssueKind.PROBLEM)
    return with_stage(mine, now)


@dataclass(frozen=True)
class Recurrence:
    site: str
    kind: str
    times: int
    last: dt.datetime


def recurrence(
    *, actor: User, since: dt.datetime | None = None, minimum: int = 2
) -> list[Recurrence]:
    """Sites where one kind of problem was found `minimum` times or more, most first."""
    qs = Problem.objects.visible_to(actor)
    if since is not None:
        qs = qs.filter(observed_at__gte=since)
    rows = (
        qs.values("site_key", "kind__name")
        .annotate(times=Count("pk"), last=Max("observed_at"), site=Max("site"))
        .filter(times__gte=minimum)
        .order_by("-times", "-last")
    )
    return [Recurrence(r["site"], r["kind__name"], r["times"], r["last"]) for r in rows]


def reinspection_list(*, actor: User, pending: bool | None = None) -> QuerySet[Reinspection]:
    qs = Reinspection.objects.visible_to(actor).select_related("problem__kind", "problem__region")
    return qs if pending is None else qs.filter(held__isnull=pending)
