"""The escalation ladder, derived from the deadline when read, never stored or scheduled.

An obligation still being worked is on track until `COMMAND_REMINDER_HOURS` before its
deadline, then due soon (the reminder), overdue from the deadline, and escalated to the owner
unit's superior `COMMAND_ESCALATE_AFTER_HOURS` after it. A completed one awaits the issuer's
verification; verified or cancelled ones are closed. One set of conditions (`stage_q`) serves
both the filters and the annotation, so a count and the list behind it never disagree.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, QuerySet, Value, When

from fangkong.command.models import CLOSED_STATES, WORKING_STATES, ObligationState, Stage

LATE_STAGES = (Stage.OVERDUE, Stage.ESCALATED)


def _hours(name: str) -> dt.timedelta:
    return dt.timedelta(hours=int(getattr(settings, name)))


def stage_q(stage: str, now: dt.datetime) -> Q:
    """The rows of one stage at `now`."""
    working = Q(state__in=WORKING_STATES)
    remind_from = now + _hours("COMMAND_REMINDER_HOURS")
    escalate_before = now - _hours("COMMAND_ESCALATE_AFTER_HOURS")
    conditions = {
        Stage.ON_TRACK: working & Q(deadline__gt=remind_from),
        Stage.DUE_SOON: working & Q(deadline__gt=now, deadline__lte=remind_from),
        Stage.OVERDUE: working & Q(deadline__lte=now, deadline__gt=escalate_before),
        Stage.ESCALATED: working & Q(deadline__lte=escalate_before),
        Stage.AWAITING: Q(state=ObligationState.COMPLETED),
        Stage.CLOSED: Q(state__in=CLOSED_STATES),
    }
    if stage not in conditions:
        raise ValueError(f"unknown stage {stage!r}")
    return conditions[Stage(stage)]


def late_q(now: dt.datetime) -> Q:
    return stage_q(Stage.OVERDUE, now) | stage_q(Stage.ESCALATED, now)


def with_stage(qs: QuerySet, now: dt.datetime) -> QuerySet:
    """Annotate `stage`, and `late` (finished, or still open, after the deadline)."""
    whens = [When(stage_q(s, now), then=Value(s.value)) for s in Stage]
    finished_late = Q(completed_at__isnull=False, completed_at__gt=models.F("deadline"))
    return qs.annotate(
        stage=Case(*whens, default=Value(Stage.CLOSED.value), output_field=models.CharField()),
        late=Case(
            When(late_q(now) | finished_late, then=Value(True)),
            default=Value(False),
            output_field=models.BooleanField(),
        ),
    )
