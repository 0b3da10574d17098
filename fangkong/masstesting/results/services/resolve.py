"""Turning lab results of tubes into what follows for people: recheck tasks for every person
of a positive or invalid pool, case proposals for positive single tubes, and test results
recorded on the control measures of people under control.

Called inside the transaction that stores the results (see lab.py), with the ids of the tubes
whose result was written or changed by that upload.

Speed: a campaign day ends with ~250,000 pools resulting at once, so the work is a constant
number of set-based statements whatever the number of tubes (rechecks: one INSERT … SELECT …
ON CONFLICT DO NOTHING per chunk of ids; single tubes: one UPDATE). Python touches one row at a
time only for the rare ones: persons under control (found by a join first) and positive single
tubes (case proposals).

Actor: nobody acts here by hand, and the lab user who uploaded must not create cases or touch
measures (no personal-data scope), so every follow-up is the system's: `actor=None`, which the
audit log records as "system", as measure_record_test and the generations task already do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db import models as m
from django.db.models import Exists, OuterRef, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.masstesting.models import (
    RecheckStatus,
    RecheckTask,
    Scan,
    TestResult,
    Tube,
    TubeKind,
)
from fangkong.people.measures_models import IN_FORCE_STATES, ControlMeasure
from fangkong.people.models import Person
from fangkong.people.services.measure_results import measure_record_tests_many
from fangkong.tracing.models import Case, CaseKind, CaseSource, CaseStatus
from fangkong.tracing.services.cases import case_create

# SQLite binds at most 32,766 parameters (older builds 999); PostgreSQL takes one array.
SQLITE_CHUNK = 900
PG_CHUNK = 500_000

# What a tube's result means for the test day on a person's measure. A positive *pool* says
# nothing yet about each of its members: their own result comes from the single-tube recheck,
# recorded when it results; an invalid pool means the sample is to be taken again.
POOL_TO_MEASURE = {TestResult.NEGATIVE: "negative", TestResult.INVALID: "invalid"}
SINGLE_TO_MEASURE = {
    TestResult.NEGATIVE: "negative",
    TestResult.POSITIVE: "positive",
    TestResult.INVALID: "invalid",
}


@dataclass
class ResolveSummary:
    rechecks_created: int = 0
    cases_proposed: int = 0
    measure_tests_recorded: int = 0
    recheck_tubes_resolved: int = 0
    details: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def pools_resolve(*, tube_ids: list[int]) -> ResolveSummary:
    """Resolve the given (just resulted) tubes. Idempotent: resolving twice creates nothing new.

    Pools (kind "pool") that are positive or invalid get a recheck task per member; single
    recheck tubes (kind "recheck") result their task, and a positive one proposes a case.
    People under control get the test recorded on their measure in force.
    """
    summary = ResolveSummary()
    ids = sorted({int(i) for i in tube_ids})
    if not ids:
        return summary
    now = timezone.now()
    for chunk in _chunks(ids):
        summary.rechecks_created += _insert_rechecks(chunk, now)
    summary.measure_tests_recorded += _record_pool_tests(ids)
    singles = _resulted_single_tubes(ids)
    if singles:
        resolved, positives = _result_rechecks(singles)
        summary.recheck_tubes_resolved = resolved
        summary.measure_tests_recorded += _record_single_tests(singles)
        summary.cases_proposed = _propose_cases(positives)
    summary.details = {"tubes": len(ids)}
    if summary.rechecks_created:
        # One row per resolve, not per task: the audit chain is a global lock, and the tasks
        # themselves carry their source tube and creation time.
        audit_record(
            actor=None,
            action="recheck.create",
            object_type="tube",
            object_id=ids[0],
            details={"tubes": len(ids), "rechecks": summary.rechecks_created},
        )
    return summary


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    size = PG_CHUNK if connection.vendor == "postgresql" else SQLITE_CHUNK
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _id_filter(column: str, chunk: Sequence[int]) -> tuple[str, list[Any]]:
    """`column` among the ids: one array parameter on PostgreSQL, a list on SQLite."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(chunk)]
    return f"{column} IN ({', '.join(['%s'] * len(chunk))})", list(chunk)


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "task": q(RecheckTask._meta.db_table),
        "tube": q(Tube._meta.db_table),
        "scan": q(Scan._meta.db_table),
        "person": q(Person._meta.db_table),
        "measure": q(ControlMeasure._meta.db_table),
    }


def _in_force_sql() -> str:
    return ", ".join(f"'{s}'" for s in IN_FORCE_STATES)


def _insert_rechecks(chunk: Sequence[int], now: dt.datetime) -> int:
    """One statement: a task per member of every positive or invalid pool among the ids."""
    t = _tables()
    where, params = _id_filter("t.id", chunk)
    sql = (
        f"INSERT INTO {t['task']} (campaign_id, person_id, source_tube_id, region_id, "  # noqa: S608
        "region_path, reason, at_home, status, result, created_at) "
        "SELECT t.campaign_id, s.person_id, t.id, p.region_id, p.region_path, "
        "CASE WHEN t.result = %s THEN %s ELSE %s END, "
        f"EXISTS (SELECT 1 FROM {t['measure']} m WHERE m.person_id = s.person_id "
        f"AND m.state IN ({_in_force_sql()})), %s, '', %s "
        f"FROM {t['tube']} t JOIN {t['scan']} s ON s.tube_id = t.id "
        f"JOIN {t['person']} p ON p.id = s.person_id "
        f"WHERE {where} AND t.kind = %s AND t.result IN (%s, %s) "
        "ON CONFLICT (source_tube_id, person_id) DO NOTHING"
    )
    args: list[Any] = [
        TestResult.POSITIVE,
        "positive_pool",
        "invalid_pool",
        RecheckStatus.OPEN,
        now,
    ]
    args += [*params, TubeKind.POOL, TestResult.POSITIVE, TestResult.INVALID]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return max(cursor.rowcount, 0)


def _record_pool_tests(ids: Sequence[int]) -> int:
    """Members of resulted pools who are under control: found by one join per chunk."""
    t = _tables()
    found: list[tuple[int, str, dt.date]] = []
    for chunk in _chunks(ids):
        where, params = _id_filter("t.id", chunk)
        sql = (
            f"SELECT m.id, t.result, s.scanned_at FROM {t['tube']} t "  # noqa: S608
            f"JOIN {t['scan']} s ON s.tube_id = t.id "
            f"JOIN {t['measure']} m ON m.person_id = s.person_id "
            f"AND m.state IN ({_in_force_sql()}) "
            f"WHERE {where} AND t.kind = %s AND t.result IN (%s, %s)"
        )
        args = [*params, TubeKind.POOL, TestResult.NEGATIVE, TestResult.INVALID]
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            found += [(r[0], r[1], timezone.localdate(_aware(r[2]))) for r in cursor.fetchall()]
    return _record_tests([(m, POOL_TO_MEASURE[TestResult(r)], at) for m, r, at in found])


def _aware(value: Any) -> dt.datetime:
    # Raw SQLite rows come back as naive UTC strings or datetimes.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


def _record_tests(rows: list[tuple[int, str, dt.date]]) -> int:
    # In bulk, with one audit row: thousands of people under control may be among the pools.
    if not rows:
        return 0
    return measure_record_tests_many(
        rows=[(m, on, r) for m, r, on in rows], batch_ref="masstesting"
    )


def _resulted_single_tubes(ids: Sequence[int]) -> list[int]:
    """The few resulted single (recheck) tubes among the ids, so the ORM statements that
    follow filter by a short list rather than by every pool of the upload."""
    t = _tables()
    found: list[int] = []
    for chunk in _chunks(ids):
        where, params = _id_filter("t.id", chunk)
        sql = f"SELECT t.id FROM {t['tube']} t WHERE {where} AND t.kind = %s AND t.result <> ''"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, TubeKind.RECHECK])
            found += [r[0] for r in cursor.fetchall()]
    return found


def _recheck_tasks(ids: Sequence[int]) -> Any:
    return RecheckTask.objects.filter(
        sample_tube_id__in=ids, sample_tube__kind=TubeKind.RECHECK
    ).exclude(sample_tube__result="")


def _result_rechecks(ids: Sequence[int]) -> tuple[int, list[RecheckTask]]:
    """Copy each single tube's result onto its task in one UPDATE per chunk; an invalid one
    reopens the task for another resample. Returns the count and the positive tasks."""
    tube = Tube.objects.filter(pk=OuterRef("sample_tube_id"))
    invalid = Exists(tube.filter(result=TestResult.INVALID))
    resolved = 0
    for chunk in _chunks(ids):
        resolved += (
            _recheck_tasks(chunk)
            .exclude(status=RecheckStatus.CANCELLED)
            .update(
                result=Subquery(tube.values("result")[:1]),
                resulted_at=Subquery(tube.values("resulted_at")[:1]),
                status=m.Case(
                    When(invalid, then=Value(RecheckStatus.OPEN)),
                    default=Value(RecheckStatus.RESULTED),
                ),
            )
        )
    positives: list[RecheckTask] = []
    for chunk in _chunks(ids):
        qs = _recheck_tasks(chunk).filter(result=TestResult.POSITIVE)
        positives += qs.exclude(status=RecheckStatus.CANCELLED).select_related(
            "person", "sample_tube"
        )
    return resolved, positives


def _sampled_on(task: RecheckTask) -> dt.date:
    tube = task.sample_tube
    at = task.sampled_at or (tube.closed_at or tube.opened_at if tube else None)
    return timezone.localdate(at) if at else timezone.localdate()


def _record_single_tests(ids: Sequence[int]) -> int:
    rows: list[tuple[int, str, dt.date]] = []
    for chunk in _chunks(ids):
        tasks = _recheck_tasks(chunk).exclude(status=RecheckStatus.CANCELLED)
        in_force = ControlMeasure.objects.filter(state__in=IN_FORCE_STATES)
        by_person = dict(
            in_force.filter(person_id__in=tasks.values("person_id")).values_list("person_id", "id")
        )
        if not by_person:
            continue
        for task in tasks.filter(person_id__in=list(by_person)).select_related("sample_tube"):
            result = SINGLE_TO_MEASURE[TestResult(task.result)]
            rows.append((by_person[task.person_id], result, _sampled_on(task)))
    return _record_tests(rows)


def _propose_cases(tasks: list[RecheckTask]) -> int:
    """A positive single tube proposes a case (reported, awaiting confirmation) once."""
    if not tasks:
        return 0
    live = set(
        Case.objects.filter(person_id__in=[t.person_id for t in tasks])
        .exclude(status=CaseStatus.RULED_OUT)
        .values_list("person_id", flat=True)
    )
    proposed = 0
    for task in tasks:
        if task.person_id in live:
            continue
        try:
            with transaction.atomic():
                case_create(
                    actor=None,  # the system, see the module doc
                    person=task.person,
                    kind=CaseKind.ASYMPTOMATIC,  # to be classified on confirmation
                    status=CaseStatus.REPORTED,
                    source=CaseSource.MASS_TESTING,
                    sampling_date=_sampled_on(task),
                    report_date=timezone.localdate(),
                    notes=_("Positive single-tube recheck #%(id)s, tube %(tube)s")
                    % {"id": task.pk, "tube": task.sample_tube},
                )
        except Conflict:
            continue  # a case registered meanwhile by hand: nothing to propose
        live.add(task.person_id)
        proposed += 1
    return proposed
