"""What a lab's corrected pool result set in motion and no longer holds.

A pool first reported positive or invalid has recheck tasks for its people: corrected to
negative, the ones nobody has resampled yet are cancelled (resampled ones keep their tube,
whose result will still land). A pool first reported negative or invalid has that result on
the control measures of its people under control: corrected to positive, those tests go back
to pending, since a positive pool says nothing yet about each person. Everything else a new
result causes (new recheck tasks, new measure tests) is `pools_resolve`'s work, run after.
"""

from __future__ import annotations

from django.utils import timezone

from fangkong.masstesting.models import (
    NEEDS_RECHECK,
    RecheckStatus,
    RecheckTask,
    Scan,
    TestResult,
    Tube,
    TubeKind,
)
from fangkong.masstesting.results.services.resolve import POOL_TO_MEASURE
from fangkong.people.measures_models import IN_FORCE_STATES, ControlMeasure
from fangkong.people.services.measure_results import measure_tests_reset_many


def correction_follow_up(*, tube: Tube, old: str) -> dict[str, int]:
    """Undo what `old` caused and `tube.result` (already saved) no longer supports."""
    out = {"rechecks_cancelled": 0, "measure_tests_reset": 0}
    if tube.kind != TubeKind.POOL or old == tube.result:
        return out
    if old in NEEDS_RECHECK and tube.result == TestResult.NEGATIVE:
        out["rechecks_cancelled"] = RecheckTask.objects.filter(
            source_tube=tube, status=RecheckStatus.OPEN
        ).update(status=RecheckStatus.CANCELLED)
    if old in POOL_TO_MEASURE and tube.result == TestResult.POSITIVE:
        scans = dict(Scan.objects.filter(tube=tube).values_list("person_id", "scanned_at"))
        measures = ControlMeasure.objects.filter(person_id__in=scans, state__in=IN_FORCE_STATES)
        rows = [
            (m_id, timezone.localdate(scans[pid]), POOL_TO_MEASURE[TestResult(old)])
            for m_id, pid in measures.values_list("pk", "person_id")
        ]
        out["measure_tests_reset"] = measure_tests_reset_many(
            rows=rows, batch_ref=f"tube:{tube.pk}"
        )
    return out
