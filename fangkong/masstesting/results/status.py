"""A person's test results, derived at query time from scans, tubes and recheck tasks.

There is no status table: a person's state is worked out each time from the rows that record
what happened, so it can never disagree with them (the same rule as "overdue" elsewhere).

Samples. A person's samples are
- every `Scan` of them (into a pooled tube, or into a single tube when the campaign or their
  key group tests 1-in-1), sampled at `Scan.scanned_at`, resulted when the tube is;
- every `RecheckTask` of them that was resampled (`sampled_at` set, not cancelled): the
  single-tube resample of a positive or invalid pool. Its result is the task's own, or the
  result of its sample tube when the task has not been updated yet. A scan into that same
  sample tube is the same sample and is counted once.

States of one sample:
- `awaiting`: sampled, the tube has no result yet (待出结果);
- `negative`;
- `pool_positive`: the pool tested positive and the person awaits a single-tube recheck. This
  is NOT a positive result for the person (nine in ten of a positive 10-in-1 pool are usually
  negative), so it is shown as 混管阳性/待复核, never as 阳性;
- `pool_invalid`: the pool could not be tested; the person awaits resampling;
- `positive`: an individual (single-tube) positive result;
- `invalid`: an individual tube could not be tested; awaiting resampling.

The latest sample is the most recently SAMPLED one (a recheck resample after its pool, a
scan of a later campaign after both); on the same instant a recheck counts as the later one.

Validity ("negative within 48 h?"), for venues and checkpoints: yes iff the person has a
negative sample that was sampled within the last `hours` (the boundary included) and no
sample taken after it is positive or pool-positive. Samples taken after it that are still
awaiting a result or invalid do not take the yes away: they say nothing about the person. The
answer's time is the sampling time of that negative sample.

Nothing here applies jurisdiction scoping, and the reads say so (`unscoped`): callers pass the
ids of persons they have already read through a scoped selector (or, for the public pages and
the validity check, the person behind a registration-code token), and a person's samples
count wherever they were taken.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.scoping import unscoped
from fangkong.masstesting.models import RecheckStatus, RecheckTask, Scan, TestResult, TubeKind

DEFAULT_HOURS = 48
_CALLER_SCOPED = "the samples of persons the caller read in scope (or by their own token)"
MAX_HOURS = 168


class SampleState(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting result")
    NEGATIVE = "negative", _("Negative")
    POOL_POSITIVE = "pool_positive", _("Pool positive, awaiting recheck")
    POOL_INVALID = "pool_invalid", _("Pool invalid, awaiting resampling")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid, awaiting resampling")


# States that take a "negative within N hours" answer away when they come after the negative.
BLOCKING = frozenset({SampleState.POSITIVE, SampleState.POOL_POSITIVE})


@dataclass(frozen=True)
class Sample:
    person_id: int
    sampled_at: dt.datetime
    state: SampleState
    resulted_at: dt.datetime | None
    campaign_id: int
    campaign_name: str
    recheck: bool  # a single-tube resample of a recheck task

    @property
    def state_label(self) -> str:
        return str(self.state.label)


# The latest sample of a person is the answer of latest_results().
LatestResult = Sample


class Validity(NamedTuple):
    valid: bool
    at: dt.datetime | None


def _state(result: str, single: bool) -> SampleState:
    if result == TestResult.NEGATIVE:
        return SampleState.NEGATIVE
    if result == TestResult.POSITIVE:
        return SampleState.POSITIVE if single else SampleState.POOL_POSITIVE
    if result == TestResult.INVALID:
        return SampleState.INVALID if single else SampleState.POOL_INVALID
    return SampleState.AWAITING


def _recheck_samples(person_ids: list[int]) -> tuple[list[Sample], set[tuple[int, int]]]:
    rows = (
        RecheckTask.objects.filter(person_id__in=person_ids, sampled_at__isnull=False)
        .exclude(status=RecheckStatus.CANCELLED)
        .values_list(
            "person_id",
            "sampled_at",
            "result",
            "resulted_at",
            "sample_tube_id",
            "sample_tube__result",
            "sample_tube__resulted_at",
            "campaign_id",
            "campaign__name",
        )
    )
    samples, tubes = [], set()
    for pid, sampled, result, resulted, tube_id, t_result, t_resulted, cid, cname in rows:
        if sampled is None:  # excluded by the query; narrows the type
            continue
        if tube_id is not None:
            tubes.add((pid, tube_id))
        if not result and t_result:
            result, resulted = t_result, t_resulted
        samples.append(Sample(pid, sampled, _state(result, True), resulted, cid, cname, True))
    return samples, tubes


def _scan_samples(person_ids: list[int], recheck_tubes: set[tuple[int, int]]) -> list[Sample]:
    rows = Scan.objects.filter(person_id__in=person_ids).values_list(
        "person_id",
        "tube_id",
        "scanned_at",
        "tube__kind",
        "tube__capacity",
        "tube__result",
        "tube__resulted_at",
        "campaign_id",
        "campaign__name",
    )
    samples = []
    for pid, tube_id, scanned, kind, capacity, result, resulted, cid, cname in rows:
        if (pid, tube_id) in recheck_tubes:
            continue
        single = kind == TubeKind.RECHECK or capacity == 1
        state = _state(result, single)
        samples.append(Sample(pid, scanned, state, resulted, cid, cname, kind == TubeKind.RECHECK))
    return samples


def person_samples(*, person_ids: list[int]) -> dict[int, list[Sample]]:
    """Every sample of each person, newest first. Two queries, whatever the number of ids."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return {}
    with unscoped(_CALLER_SCOPED):
        rechecks, recheck_tubes = _recheck_samples(ids)
        scans = _scan_samples(ids, recheck_tubes)
    by_person: dict[int, list[Sample]] = defaultdict(list)
    for sample in [*scans, *rechecks]:
        by_person[sample.person_id].append(sample)
    for samples in by_person.values():
        samples.sort(key=lambda s: (s.sampled_at, s.recheck), reverse=True)
    return dict(by_person)


def latest_results(*, person_ids: list[int]) -> dict[int, LatestResult]:
    """The latest sample of each person who has one; persons never sampled are absent."""
    return {pid: samples[0] for pid, samples in person_samples(person_ids=person_ids).items()}


def validity_of(
    samples: list[Sample], *, hours: int = DEFAULT_HOURS, now: dt.datetime | None = None
) -> Validity:
    """The validity answer over one person's samples (newest first); see the module doc."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    for sample in samples:  # newest first: stop at the first negative or blocking one
        if sample.state in BLOCKING:
            return Validity(False, None)
        if sample.state == SampleState.NEGATIVE and sample.sampled_at <= now:
            if sample.sampled_at >= since:
                return Validity(True, sample.sampled_at)
            return Validity(False, None)
    return Validity(False, None)


def validity(
    *, person_id: int, hours: int = DEFAULT_HOURS, now: dt.datetime | None = None
) -> Validity:
    """ "Negative within `hours`?" for one person: yes/no and the sampling time of that negative."""
    samples = person_samples(person_ids=[person_id]).get(person_id, [])
    return validity_of(samples, hours=hours, now=now)
