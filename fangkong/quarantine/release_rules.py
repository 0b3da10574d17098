"""When a person may leave a site: the measure's days at the site served and every test due
by then negative. Pure: the measure, its tests and today in, the verdict and its reasons out,
so the site's list, the proposal and the confirmation all judge alike.

The days at the site are the measure's leading centralised phases ("14" → 14 days; "7+3" →
the first 7, after which the measure goes on as home monitoring). The last day counts: a
person whose final test of day 7 is negative may leave on day 7.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import formats
from django.utils.translation import gettext as _

from fangkong.people.measures_models import ControlMeasure, MeasureKind, MeasureTest
from fangkong.people.measures_phases import measure_phases

BLOCKING_RESULTS = ("positive", "invalid")


@dataclass(frozen=True)
class ReleaseCheck:
    start: dt.date
    site_until: dt.date  # the last day at the site
    then_until: dt.date | None  # the end of the home phase that follows, if one does
    days_served: int
    days_required: int
    negative: int
    pending: list[dt.date] = field(default_factory=list)  # due by site_until, no result yet
    failed: list[tuple[dt.date, str]] = field(default_factory=list)  # positive or invalid
    reasons: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.reasons

    @property
    def ends_measure(self) -> bool:
        return self.then_until is None


def site_until(measure: ControlMeasure) -> tuple[dt.date, dt.date | None]:
    """The last day of the leading centralised phases, and the measure's end when a later
    (home) phase follows them."""
    last = None
    for phase in measure_phases(measure):
        if phase.kind != MeasureKind.CENTRALISED_QUARANTINE:
            break
        last = phase.end
    if last is None or last >= measure.planned_end:
        return measure.planned_end, None
    return last, measure.planned_end


def release_check(
    measure: ControlMeasure, tests: Iterable[MeasureTest], today: dt.date
) -> ReleaseCheck:
    until, then = site_until(measure)
    required = (until - measure.start_date).days + 1
    served = max(0, min((today - measure.start_date).days + 1, required))
    due = [t for t in tests if t.day <= until]
    pending = sorted(t.day for t in due if not t.result)
    failed = sorted((t.day, t.result) for t in due if t.result in BLOCKING_RESULTS)
    negative = sum(1 for t in due if t.result == "negative")
    reasons = []
    if today < until:
        reasons.append(
            _("%(served)s of %(required)s days served (at the site until %(until)s)")
            % {"served": served, "required": required, "until": _day(until)}
        )
    if pending:
        reasons.append(
            _("no result yet for the test of %(days)s")
            % {"days": ", ".join(_day(d) for d in pending)}
        )
    for day, result in failed:
        if result == "positive":
            reasons.append(_("the test of %(day)s was positive") % {"day": _day(day)})
        else:
            reasons.append(
                _("the sample of %(day)s was invalid: sample again") % {"day": _day(day)}
            )
    return ReleaseCheck(
        start=measure.start_date, site_until=until, then_until=then, days_served=served,
        days_required=required, negative=negative, pending=pending, failed=failed,
        reasons=reasons,
    )  # fmt: skip


def _day(day: dt.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")
