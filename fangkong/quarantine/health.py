"""When the twice-daily checks fall due and when one is missed: pure functions of the local
clock, shared by the services that record checks and the selectors that list them."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fangkong.people.models import MeasureKind
from fangkong.quarantine.models import CheckSlot

# the measures under which a person is checked twice a day
CHECKED_KINDS = (
    MeasureKind.CENTRALISED_QUARANTINE,
    MeasureKind.HOME_QUARANTINE,
    MeasureKind.HOME_MONITORING,
)
HOME_KINDS = (MeasureKind.HOME_QUARANTINE, MeasureKind.HOME_MONITORING)
EVENING_FROM = 14  # local hour: a check from then on is the evening one
MORNING_DUE, EVENING_DUE = 12, 20  # local hour by which each check is missed without a report


def slot_at(moment: dt.datetime) -> str:
    return (
        CheckSlot.EVENING if timezone.localtime(moment).hour >= EVENING_FROM else CheckSlot.MORNING
    )


def missed_slots(day: dt.date, done: set[str], now: dt.datetime | None = None) -> list[str]:
    """The slots of `day` past their hour without a check."""
    local = timezone.localtime(now or timezone.now())
    due = ((CheckSlot.MORNING, MORNING_DUE), (CheckSlot.EVENING, EVENING_DUE))
    past = [
        s for s, hour in due if day < local.date() or (day == local.date() and local.hour >= hour)
    ]
    return [s for s in past if s not in done]
