"""Test results onto control measures: the days a measure schedules a test get their result
from mass testing (which resolves tubes to persons), one at a time or in bulk, and go back to
pending when the result they came from is corrected. No actor: these are system writes whose
audit rows name the batch."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import ControlMeasure, MeasureTest, MeasureTestResult
from fangkong.people.services.measures import BULK_CHUNK


@transaction.atomic
def measure_record_test(*, measure: ControlMeasure, on: dt.date, result: str) -> MeasureTest:
    """Store a test result for a day of a measure; recording the same result again is a no-op.

    The integration point for mass testing: it resolves tubes to persons and calls this.
    A day that was not scheduled gets an unplanned row.
    """
    if result not in MeasureTestResult.values or not result:
        raise FieldError("result", _("unknown test result"))
    test, created = MeasureTest.objects.get_or_create(
        measure=measure, day=on, defaults={"planned": False}
    )
    if not created and test.result == result:
        return test
    previous = test.result
    test.result, test.recorded_at = result, timezone.now()
    test.save(update_fields=["result", "recorded_at"])
    audit_record(
        actor=None,
        action="measure.test_result",
        object_type="measure",
        object_id=measure.pk,
        details={"day": on.isoformat(), "result": result, "previous": previous},
    )
    return test


@transaction.atomic
def measure_record_tests_many(*, rows: list[tuple[int, dt.date, str]], batch_ref: str = "") -> int:
    """`measure_record_test` for many (measure id, day, result) at once, e.g. the people
    under control among 250,000 resulted pools: a fixed number of statements whatever the
    size, and one audit row with the counts (as `measure_propose_many`). Recording the same
    result again changes nothing. Returns how many tests were written or changed."""
    for _m, _d, result in rows:
        if result not in MeasureTestResult.values or not result:
            raise FieldError("result", _("unknown test result"))
    wanted = {(m, d): r for m, d, r in rows}
    if not wanted:
        return 0
    stored: dict[tuple[int, dt.date], MeasureTest] = {}
    measure_ids = sorted({m for m, _d in wanted})
    for start in range(0, len(measure_ids), BULK_CHUNK):
        chunk = measure_ids[start : start + BULK_CHUNK]
        for test in MeasureTest.objects.filter(measure_id__in=chunk):
            stored[(test.measure_id, test.day)] = test
    now = timezone.now()
    new = [
        MeasureTest(measure_id=m, day=d, planned=False, result=r, recorded_at=now)
        for (m, d), r in wanted.items()
        if (m, d) not in stored
    ]
    changed = [stored[k] for k, r in wanted.items() if k in stored and stored[k].result != r]
    for test in changed:
        test.result, test.recorded_at = wanted[(test.measure_id, test.day)], now
    # A concurrent upload may insert the same (measure, day) first: skip it here and set the
    # result below instead of failing the whole batch on the unique key.
    MeasureTest.objects.bulk_create(new, batch_size=BULK_CHUNK, ignore_conflicts=True)
    missing = {(t.measure_id, t.day) for t in new}
    for start in range(0, len(measure_ids), BULK_CHUNK) if new else ():
        chunk = measure_ids[start : start + BULK_CHUNK]
        for test in MeasureTest.objects.filter(measure_id__in=chunk).exclude(recorded_at=now):
            key = (test.measure_id, test.day)
            if key in missing and test.result != wanted[key]:
                test.result, test.recorded_at = wanted[key], now
                changed.append(test)
    MeasureTest.objects.bulk_update(changed, ["result", "recorded_at"], batch_size=BULK_CHUNK)
    if new or changed:
        audit_record(
            actor=None,
            action="measure.test_results",
            object_type="measure_batch",
            object_id=batch_ref or "tests",
            details={"new": len(new), "changed": len(changed), "measures": len(measure_ids)},
        )
    return len(new) + len(changed)


@transaction.atomic
def measure_tests_reset_many(*, rows: list[tuple[int, dt.date, str]], batch_ref: str = "") -> int:
    """Set tests back to pending whose result came from data since corrected (a lab's
    corrected pool result): (measure id, day, the result recorded then). A test that holds
    another result by now is left alone. One audit row for the batch."""
    reset = 0
    now = timezone.now()
    for measure_id, day, was in rows:
        reset += MeasureTest.objects.filter(measure_id=measure_id, day=day, result=was).update(
            result=MeasureTestResult.PENDING, recorded_at=now
        )
    if reset:
        audit_record(
            actor=None,
            action="measure.test_results_reset",
            object_type="measure_batch",
            object_id=batch_ref or "tests",
            details={"reset": reset},
        )
    return reset
