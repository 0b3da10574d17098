"""Every write to control measures: propose, start, extend, release, convert, cancel.

Date conventions (one rule everywhere):

- Days are counted from 1: day 1 is `start_date`. A plan's `test_offsets` are such day
  numbers, so offset N falls on `start_date + (N - 1)`.
- `planned_end` is the *last day* under control, inclusive: `start + total_days - 1`. A "7+3"
  measure starting on day D covers D .. D+9, ten calendar days; it is overdue for release
  from D+10 on. `actual_end` is the day it actually ended (released, converted, superseded).
- `kind` is the kind of the plan's first phase (the headline measure: "7+3" is a centralised
  quarantine); `measure_current_phase` says which phase a given day falls in.

One measure in force per person (a database constraint backs the rule). Starting a measure
while another is in force keeps the person under the *stronger* of the two: the new one wins
when its kind ranks higher than the old one's phase on the new start day (centralised
quarantine > home quarantine > home monitoring > testing), or ranks the same and ends later;
the old one is then converted to "superseded" in the same transaction. Otherwise the new
proposal is cancelled with the reason, so a weaker finding never loosens a stronger control.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Institution, InstitutionKind, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import (
    IN_FORCE_STATES,
    ControlMeasure,
    MeasureEvent,
    MeasureKind,
    MeasurePlan,
    MeasureState,
    MeasureTest,
)

# The reads of measures_phases stay importable from here, where callers have always found them.
from fangkong.people.measures_phases import (  # noqa: F401
    PhaseOn,
    active_profile,
    kind_on,
    measure_current_phase,
    measure_phases,
    person_under_control,
    plan_for_generation,
    planned_end_for,
    test_days_for,
    total_days,
)
from fangkong.people.models import Person
from fangkong.people.signals import measure_ended

S = MeasureState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.IN_FORCE, S.CANCELLED}),
    S.IN_FORCE: frozenset({S.EXTENDED, S.RELEASED, S.CONVERTED}),
    S.EXTENDED: frozenset({S.EXTENDED, S.RELEASED, S.CONVERTED}),
}
# Higher is stronger; used only to decide which of two competing measures a person keeps.
KIND_RANK: dict[str, int] = {
    MeasureKind.TESTING.value: 1,
    MeasureKind.HOME_MONITORING.value: 2,
    MeasureKind.HOME_QUARANTINE.value: 3,
    MeasureKind.CENTRALISED_QUARANTINE.value: 4,
}
CONVERSION_TARGETS = {
    "case": gettext_lazy("Became a case"),
    "hospital": gettext_lazy("Transferred to hospital"),
    "transferred": gettext_lazy("Transferred to another jurisdiction"),
    "superseded": gettext_lazy("Replaced by a stronger measure"),
}
MAX_EXTENSION_DAYS = 60


class MeasureTransitionError(Conflict):
    """A transition the state table does not allow (the API answers 409)."""


# --- internals -----------------------------------------------------------------------------


def _decide(actor: User | None, measure: ControlMeasure) -> None:
    # None is the system acting on data (a positive test result converting a measure).
    if actor is not None:
        authorize(actor, "measure.decide", region=measure.region_path)


def _check_transition(measure: ControlMeasure, to: str) -> None:
    if to not in TRANSITIONS.get(measure.state, frozenset()):
        raise MeasureTransitionError(
            _("a measure that is %(state)s cannot become %(to)s")
            % {"state": MeasureState(measure.state).label, "to": MeasureState(to).label},
            state=measure.state,
            wanted=to,
        )


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise FieldError("reason", _("give a reason"))
    return reason[:255]


def _log(
    *,
    actor: User | None,
    measure: ControlMeasure,
    from_state: str,
    action: str,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    MeasureEvent.objects.create(
        measure=measure, actor=actor, from_state=from_state, to_state=measure.state, note=note
    )
    audit_record(
        actor=actor,
        action=f"measure.{action}",
        object_type="measure",
        object_id=measure.pk,
        reason=note,
        details={"person": measure.person_id, "state": measure.state, **(details or {})},
    )


def _locked(measure: ControlMeasure) -> ControlMeasure:
    """Re-read the measure under a row lock, so two operators cannot both move it."""
    return ControlMeasure.objects.select_for_update().select_related("plan").get(pk=measure.pk)


def _set_dates(measure: ControlMeasure, start: dt.date) -> None:
    measure.start_date = start
    measure.planned_end = planned_end_for(start, measure.phases)
    measure.test_days = [
        d.isoformat() for d in test_days_for(start, measure.plan.test_offsets, measure.planned_end)
    ]


def _sync_tests(measure: ControlMeasure) -> None:
    """Make the pending test rows match `test_days`; rows that carry a result are kept."""
    wanted = {dt.date.fromisoformat(d) for d in measure.test_days}
    measure.tests.filter(result="").exclude(day__in=wanted).delete()
    have = set(measure.tests.values_list("day", flat=True))
    MeasureTest.objects.bulk_create(
        [MeasureTest(measure=measure, day=d) for d in sorted(wanted - have)]
    )


def _save(measure: ControlMeasure, *fields: str) -> None:
    measure.save(update_fields=[*fields, "updated_at"])


# --- services ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """One item of `measure_propose_many`: the arguments of `measure_propose`."""

    person: Person
    plan: MeasurePlan
    start: dt.date
    source_type: str
    source_id: str
    generation: int | None = None
    reason: str = ""

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.person.pk, self.source_type, str(self.source_id))


# Keys per statement: with the usual one or two sources per batch this stays under the
# 999 parameters older SQLite builds allow.
BULK_CHUNK = 800


def _keys_q(keys: list[tuple[int, str, str]]) -> Q:
    by_source: dict[tuple[str, str], list[int]] = {}
    for person_id, source_type, source_id in keys:
        by_source.setdefault((source_type, source_id), []).append(person_id)
    condition = Q(pk__in=[])
    for (source_type, source_id), person_ids in by_source.items():
        condition |= Q(source_type=source_type, source_id=source_id, person_id__in=person_ids)
    return condition


def _existing_many(keys: list[tuple[int, str, str]]) -> dict[tuple[int, str, str], ControlMeasure]:
    """The measures already stored for these keys: one query per chunk of keys."""
    found: dict[tuple[int, str, str], ControlMeasure] = {}
    for start in range(0, len(keys), BULK_CHUNK):
        chunk = keys[start : start + BULK_CHUNK]
        for m in ControlMeasure.objects.filter(_keys_q(chunk)).select_related("plan"):
            found[(m.person_id, m.source_type, m.source_id)] = m
    return found


def _lock_persons(person_ids: list[int]) -> None:
    """Row-lock the persons in id order, so two batches cannot deadlock.

    Every proposal takes this lock before it inserts, so while a batch holds it nobody else
    can write a measure for these persons: the keys found missing after the lock are exactly
    the rows the batch inserts. NO KEY UPDATE leaves foreign-key checks (exposures, contact
    rows naming the person) free to proceed.
    """
    for start in range(0, len(person_ids), BULK_CHUNK):
        chunk = person_ids[start : start + BULK_CHUNK]
        list(
            Person.objects.select_for_update(no_key=True)
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _new_measure(item: Proposal) -> ControlMeasure:
    plan = item.plan
    measure = ControlMeasure(
        person=item.person,
        source_type=item.source_type,
        source_id=str(item.source_id),
        region_id=item.person.region_id,
        region_path=item.person.region_path,
        plan=plan,
        kind=plan.phases[0]["kind"],
        state=MeasureState.PROPOSED,
        phases=[{"kind": p["kind"], "days": int(p["days"])} for p in plan.phases],
        generation=item.generation,
        reason=(item.reason or "")[:255],
    )
    _set_dates(measure, item.start)
    return measure


def _existing(key: dict[str, Any]) -> ControlMeasure | None:
    return ControlMeasure.objects.filter(**key).select_related("plan").first()


def measure_propose(
    *,
    actor: User | None,
    person: Person,
    plan: MeasurePlan,
    start: dt.date,
    source_type: str,
    source_id: str,
    generation: int | None = None,
    reason: str = "",
) -> ControlMeasure:
    """Propose a measure; the same (person, source) returns the existing one unchanged.

    No scope check here: tracing proposes measures for contacts living in other
    jurisdictions, and the responsible unit is always the person's own region.
    """
    if actor is not None:
        authorize(actor, "measure.propose")
    key = {"person": person, "source_type": source_type, "source_id": str(source_id)}
    existing = _existing(key)
    if existing is not None:
        return existing
    if not plan.phases:
        raise FieldError("plan", _("the plan has no phases"))
    measure = _new_measure(
        Proposal(person, plan, start, source_type, str(source_id), generation, reason)
    )
    try:
        with transaction.atomic():
            _lock_persons([person.pk])  # queue behind a batch proposing for the same person
            measure.save(force_insert=True)
            _sync_tests(measure)
            _log(
                actor=actor,
                measure=measure,
                from_state="",
                action="propose",
                note=measure.reason,
                details={"plan": plan.key, "source": f"{source_type}:{source_id}"},
            )
    except IntegrityError:
        # a concurrent proposal for the same source won the race: answer with its measure
        existing = _existing(key)
        if existing is None:
            raise
        return existing
    return measure


@transaction.atomic
def measure_propose_many(
    *, actor: User | None, items: list[Proposal], batch_ref: str = ""
) -> list[ControlMeasure]:
    """`measure_propose` for many persons at once; the answer is one measure per item.

    The same rules: a (person, source) already proposed returns the stored measure
    unchanged, and a proposal never touches the measure a person may have in force (the
    one-in-force rule is applied when a proposal is started). Every new measure gets its
    test rows and its "proposed" history event; the batch writes one audit row with the
    counts (`batch_ref`, e.g. "case:12", names what it was for).

    A fixed number of statements whatever the size, apart from the INSERT batches the
    database's parameter limit forces (on SQLite about 45 measures per INSERT).
    """
    if actor is not None:
        authorize(actor, "measure.propose")
    if not items:
        return []
    for item in items:
        if not item.plan.phases:
            raise FieldError("plan", _("the plan has no phases"))
    keys = list(dict.fromkeys(item.key for item in items))
    _lock_persons(sorted({k[0] for k in keys}))
    stored = _existing_many(keys)
    fresh: dict[tuple[int, str, str], ControlMeasure] = {}
    for item in items:
        if item.key not in stored and item.key not in fresh:
            fresh[item.key] = _new_measure(item)
    if fresh:
        # conflicts are only possible from writers that skip the person lock; the re-read
        # below answers with their rows, exactly as the single proposal does
        ControlMeasure.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
        _attach_ids(fresh)
        _record_proposals(actor, list(fresh.values()), batch_ref, len(stored))
        stored.update(fresh)
    return [stored[item.key] for item in items]


def _attach_ids(fresh: dict[tuple[int, str, str], ControlMeasure]) -> None:
    """Re-read the ids of the rows just inserted (an INSERT that ignores conflicts returns
    none). Under the person locks nobody else can have written these keys, so a key that
    is still missing means a row the database refused: fail rather than answer without it."""
    keys = list(fresh)
    ids: dict[tuple[int, str, str], int] = {}
    for start in range(0, len(keys), BULK_CHUNK):
        chunk = keys[start : start + BULK_CHUNK]
        rows = ControlMeasure.objects.filter(_keys_q(chunk)).values_list(
            "pk", "person_id", "source_type", "source_id"
        )
        ids.update(((p, t, s), pk) for pk, p, t, s in rows)
    missing = set(keys) - set(ids)
    if missing:
        raise IntegrityError(f"{len(missing)} proposed measures were not stored")
    for key, measure in fresh.items():
        measure.pk = ids[key]
        measure._state.adding = False
        measure._state.db = ControlMeasure.objects.db


def _record_proposals(
    actor: User | None, created: list[ControlMeasure], batch_ref: str, existing: int
) -> None:
    tests = [
        MeasureTest(measure=m, day=dt.date.fromisoformat(day))
        for m in created
        for day in m.test_days
    ]
    MeasureTest.objects.bulk_create(tests, ignore_conflicts=True)
    MeasureEvent.objects.bulk_create(
        [
            MeasureEvent(measure=m, actor=actor, from_state="", to_state=m.state, note=m.reason)
            for m in created
        ]
    )
    by_plan: dict[str, int] = {}
    for m in created:
        by_plan[m.plan.key] = by_plan.get(m.plan.key, 0) + 1
    audit_record(
        actor=actor,
        action="measure.propose_many",
        object_type="measure_batch",
        object_id=batch_ref or f"{created[0].source_type}:{created[0].source_id}",
        details={
            "created": len(created),
            "existing": existing,
            "by_plan": dict(sorted(by_plan.items())),
            "first_id": min(m.pk for m in created),
            "last_id": max(m.pk for m in created),
        },
    )


def _outranks(new: ControlMeasure, old: ControlMeasure) -> bool:
    if new.start_date > old.planned_end:
        return True  # no overlap: the new measure simply follows the old one
    new_rank = KIND_RANK.get(new.kind, 0)
    old_rank = KIND_RANK.get(kind_on(old, new.start_date), 0)
    return (new_rank, new.planned_end) > (old_rank, old.planned_end)


def _supersede(*, actor: User, old: ControlMeasure, new: ControlMeasure) -> None:
    from_state = old.state
    old.state = MeasureState.CONVERTED
    old.converted_to = "superseded"
    old.superseded_by = new
    old.actual_end = max(new.start_date, old.start_date)
    _save(old, "state", "converted_to", "superseded_by", "actual_end")
    _log(
        actor=actor,
        measure=old,
        from_state=from_state,
        action="supersede",
        note=_("replaced by measure #%(id)s (%(plan)s)") % {"id": new.pk, "plan": new.plan.name},
    )
    measure_ended.send(ControlMeasure, measure=old, actor=actor, successor=new)


@transaction.atomic
def measure_start(
    *, actor: User, measure: ControlMeasure, start: dt.date | None = None
) -> ControlMeasure:
    """Put a proposed measure in force (see the module doc for a person already under one)."""
    _decide(actor, measure)
    # lock the person first: every start for this person queues here, not at the constraint
    Person.objects.select_for_update().filter(pk=measure.person_id).first()
    measure = _locked(measure)
    _check_transition(measure, MeasureState.IN_FORCE)
    if start is not None and start != measure.start_date:
        _set_dates(measure, start)
    current = (
        ControlMeasure.objects.select_for_update()
        .select_related("plan")
        .filter(person_id=measure.person_id, state__in=IN_FORCE_STATES)
        .first()
    )
    if current is not None and not _outranks(measure, current):
        measure.state = MeasureState.CANCELLED
        measure.reason = _(
            "person already under measure #%(id)s (%(plan)s), which is not weaker"
        ) % {
            "id": current.pk,
            "plan": current.plan.name,
        }
        _save(measure, "state", "reason", "start_date", "planned_end", "test_days")
        _log(
            actor=actor,
            measure=measure,
            from_state=S.PROPOSED,
            action="cancel",
            note=measure.reason,
        )
        return measure
    if current is not None:
        _supersede(actor=actor, old=current, new=measure)
    measure.state = MeasureState.IN_FORCE
    try:
        with transaction.atomic():
            _save(measure, "state", "start_date", "planned_end", "test_days")
    except IntegrityError:
        raise MeasureTransitionError(
            _("the person was put under another measure at the same time; reload and retry")
        ) from None
    _sync_tests(measure)
    _log(actor=actor, measure=measure, from_state=S.PROPOSED, action="start")
    return measure


@transaction.atomic
def measure_extend(
    *, actor: User, measure: ControlMeasure, days: int, reason: str
) -> ControlMeasure:
    """Lengthen the last phase; a test due on the old last day moves to the new one."""
    _decide(actor, measure)
    reason = _require_reason(reason)
    if not 1 <= int(days) <= MAX_EXTENSION_DAYS:
        raise FieldError("days", _("extend by 1 to %(max)s days") % {"max": MAX_EXTENSION_DAYS})
    measure = _locked(measure)
    _check_transition(measure, MeasureState.EXTENDED)
    from_state, old_end = measure.state, measure.planned_end
    phases = [dict(p) for p in measure.phases]
    phases[-1]["days"] = int(phases[-1]["days"]) + int(days)
    measure.phases = phases
    measure.planned_end = planned_end_for(measure.start_date, phases)
    tests = set(measure.test_days)
    if old_end.isoformat() in tests:
        if not measure.tests.filter(day=old_end).exclude(result="").exists():
            tests.discard(old_end.isoformat())
        tests.add(measure.planned_end.isoformat())
    measure.test_days = sorted(tests)
    measure.state = MeasureState.EXTENDED
    _save(measure, "state", "phases", "planned_end", "test_days")
    _sync_tests(measure)
    _log(
        actor=actor,
        measure=measure,
        from_state=from_state,
        action="extend",
        note=reason,
        details={"days": int(days), "planned_end": measure.planned_end.isoformat()},
    )
    return measure


def _finish(
    *, actor: User | None, measure: ControlMeasure, to: str, on: dt.date, reason: str, action: str
) -> ControlMeasure:
    measure = _locked(measure)
    _check_transition(measure, to)
    if on < measure.start_date:
        raise FieldError("on", _("the end cannot be before the start"))
    from_state = measure.state
    measure.state, measure.actual_end = to, on
    _save(measure, "state", "actual_end")
    _log(actor=actor, measure=measure, from_state=from_state, action=action, note=reason)
    measure_ended.send(ControlMeasure, measure=measure, actor=actor, successor=None)
    return measure


@transaction.atomic
def measure_release(
    *, actor: User, measure: ControlMeasure, on: dt.date | None = None, reason: str = ""
) -> ControlMeasure:
    _decide(actor, measure)
    today = timezone.localdate()
    on = on or today
    if on > today:
        raise FieldError("on", _("a measure cannot be released in the future"))
    return _finish(
        actor=actor,
        measure=measure,
        to=MeasureState.RELEASED,
        on=on,
        reason=(reason or "").strip()[:255],
        action="release",
    )


@transaction.atomic
def measure_convert(
    *, actor: User | None, measure: ControlMeasure, to: str, reason: str
) -> ControlMeasure:
    """End a measure because the person's situation changed, e.g. to="case"."""
    _decide(actor, measure)
    reason = _require_reason(reason)
    if to not in CONVERSION_TARGETS:
        raise FieldError("to", _("convert to one of: %(t)s") % {"t": ", ".join(CONVERSION_TARGETS)})
    measure = _finish(
        actor=actor,
        measure=measure,
        to=MeasureState.CONVERTED,
        on=max(timezone.localdate(), measure.start_date),
        reason=reason,
        action="convert",
    )
    measure.converted_to = to
    _save(measure, "converted_to")
    return measure


@transaction.atomic
def measure_cancel(*, actor: User, measure: ControlMeasure, reason: str) -> ControlMeasure:
    """Drop a proposal that was never put in force."""
    _decide(actor, measure)
    reason = _require_reason(reason)
    measure = _locked(measure)
    _check_transition(measure, MeasureState.CANCELLED)
    measure.state, measure.reason = MeasureState.CANCELLED, reason
    _save(measure, "state", "reason")
    _log(actor=actor, measure=measure, from_state=S.PROPOSED, action="cancel", note=reason)
    measure_ended.send(ControlMeasure, measure=measure, actor=actor, successor=None)
    return measure


@transaction.atomic
def _quarantine_site(actor: User | None, site_id: int | None) -> Institution | None:
    if site_id is None:
        return None
    site = (
        Institution.objects.visible_to(actor)
        .filter(pk=site_id, kind=InstitutionKind.QUARANTINE_SITE)
        .first()
    )
    if site is None:
        raise FieldError("site_id", _("unknown quarantine site or outside your jurisdiction"))
    return site


def measure_assign_site(
    *, actor: User | None, measure: ControlMeasure, site_id: int | None
) -> ControlMeasure:
    """Where a centralised quarantine is served (None: no site); the quarantine module's
    integration point. The site must be a quarantine site the caller can see."""
    _decide(actor, measure)
    site = _quarantine_site(actor, site_id)
    measure = _locked(measure)
    if measure.state not in (S.PROPOSED, *IN_FORCE_STATES):
        raise MeasureTransitionError(_("a finished measure cannot be assigned a site"))
    measure.site = site
    _save(measure, "site")
    _log(
        actor=actor,
        measure=measure,
        from_state=measure.state,
        action="assign_site",
        note=site.name if site else _("site removed"),
        details={"site": site.pk if site else None},
    )
    return measure


def measure_assign_site_many(
    *, actor: User | None, measures: list[ControlMeasure], site_id: int
) -> None:
    """`measure_assign_site` for many measures at once (a site filled in one batch): the
    same checks, one UPDATE, the history events in one INSERT and one audit row for the
    batch. All or nothing: a finished measure refuses the whole batch."""
    if not measures:
        return
    for region_path in sorted({m.region_path for m in measures}):
        if actor is not None:
            authorize(actor, "measure.decide", region=region_path)
    site = _quarantine_site(actor, site_id)
    assert site is not None
    ids = sorted(m.pk for m in measures)
    rows = ControlMeasure.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    states = dict(rows.values_list("pk", "state"))
    if len(states) != len(ids) or not set(states.values()) <= {S.PROPOSED, *IN_FORCE_STATES}:
        raise MeasureTransitionError(_("a finished measure cannot be assigned a site"))
    ControlMeasure.objects.filter(pk__in=ids).update(site=site, updated_at=timezone.now())
    MeasureEvent.objects.bulk_create(
        MeasureEvent(measure_id=pk, actor=actor, from_state=st, to_state=st, note=site.name)
        for pk, st in states.items()
    )
    for measure in measures:
        measure.site = site
    audit_record(
        actor=actor,
        action="measure.assign_site_many",
        object_type="institution",
        object_id=site.pk,
        details={"measures": ids},
    )
