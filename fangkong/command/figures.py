"""The figures a daily report's fields can be pre-filled with: what the system already knows
about a unit's jurisdiction, so that nobody types it again (减少不必要的表格).

Each figure is an aggregate count over the rows whose region lies in the unit's region —
never a person — so a department or town filling its report sees numbers, not names. Flow
figures count the report's period (the day before the report day, local time); stock figures
are as of the moment the report is filled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fangkong.command.models import ReportTemplate, Unit
from fangkong.core.scoping import unscoped
from fangkong.masstesting.models import Tube
from fangkong.people.measures_models import IN_FORCE_STATES, ControlMeasure
from fangkong.quarantine.models import Room, RoomState, Stay, StayState
from fangkong.screening.models import ScreeningRecord
from fangkong.tracing.models import Case, Investigation
from fangkong.tracing.selectors import overdue_condition


@dataclass(frozen=True)
class Period:
    """What one report covers: a local calendar day [start, end)."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime


def period_of(report_day: dt.date) -> Period:
    covered = report_day - dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(covered, dt.time.min))
    return Period(covered, start, start + dt.timedelta(days=1))


def _arrivals(path: str, p: Period) -> QuerySet:
    return ScreeningRecord.objects.filter(
        destination_path__startswith=path, created_at__gte=p.start, created_at__lt=p.end
    )


def _new_cases(path: str, p: Period) -> QuerySet:
    return Case.objects.filter(region_path__startswith=path, report_date=p.day)


def _under_control(path: str, p: Period) -> QuerySet:
    return ControlMeasure.objects.filter(region_path__startswith=path, state__in=IN_FORCE_STATES)


def _housed(path: str, p: Period) -> QuerySet:
    return Stay.objects.filter(region_path__startswith=path, state=StayState.CHECKED_IN)


def _rooms_occupied(path: str, p: Period) -> QuerySet:
    return Room.objects.filter(region_path__startswith=path, state=RoomState.OCCUPIED)


def _tubes(path: str, p: Period) -> QuerySet:
    return Tube.objects.filter(
        point__region__path__startswith=path, opened_at__gte=p.start, opened_at__lt=p.end
    )


def _overdue_investigations(path: str, p: Period) -> QuerySet:
    return (
        Investigation.objects.filter(region_path__startswith=path)
        .annotate(overdue=overdue_condition())
        .filter(overdue=True)
    )


@dataclass(frozen=True)
class Figure:
    key: str
    label: Promise
    rows: Callable[[str, Period], QuerySet]
    flow: bool  # counts the report's period (True) or stands as of now (False)


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure("arrivals_screened", _("Arrivals screened"), _arrivals, True),
        Figure("new_cases", _("New cases reported"), _new_cases, True),
        Figure("tubes_sampled", _("Tubes sampled"), _tubes, True),
        Figure("under_control", _("Persons under control measures"), _under_control, False),
        Figure("persons_housed", _("Residents in quarantine rooms"), _housed, False),
        Figure("rooms_occupied", _("Quarantine rooms occupied"), _rooms_occupied, False),
        Figure(
            "overdue_investigations",
            _("Investigations past their deadline"),
            _overdue_investigations,
            False,
        ),
    )
}


# Counts only, over the rows under the reporting unit's region, which lies in the actor's
# jurisdiction (the unit's membership is checked by whoever asks): no row leaves this module.
_AGGREGATES = "aggregate counts of a reporting unit's own region for its daily report"


def count(key: str, *, region_path: str, report_day: dt.date) -> int:
    with unscoped(_AGGREGATES):
        return int(FIGURES[key].rows(region_path, period_of(report_day)).count())


def prefill(keys: list[str], *, region_path: str, report_day: dt.date) -> dict[str, int]:
    """The known figures of a report's fields, one count query each."""
    return {k: count(k, region_path=region_path, report_day=report_day) for k in keys}


def known_figures(template: ReportTemplate, unit: Unit, day: dt.date) -> dict[str, int]:
    """The template's pre-filled fields for one unit and day, keyed by field."""
    wanted = {f["key"]: f["figure"] for f in template.fields if f.get("figure")}
    counted = prefill(sorted(set(wanted.values())), region_path=unit.region.path, report_day=day)
    return {key: counted[figure] for key, figure in wanted.items()}
