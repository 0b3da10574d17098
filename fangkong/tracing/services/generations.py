"""Contact generations of one case: breadth-first over exposures, then an incremental upsert.

Rules (the configuration lives in the active DiseaseProfile):

- Look-back window: an exposure counts when its day is on or after the case's anchor date
  minus `lookback_days`; the anchor is the onset date, else the sampling date (asymptomatic
  infections have no onset), else the report date. The same window applies at every level,
  so a secondary contact's exposure to a close contact must also fall inside it.
- Depth: generations 1..`max_generation`. A person reached by several paths keeps the lowest
  generation and is one row; their parent is the lowest-numbered person of the previous
  generation they touched (kept as long as it stays valid, so re-runs do not churn).
- Persons who are cases themselves (confirmed, recovered, deceased) are not contacts and the
  search does not pass through them: their contacts belong to their own case.
- Exposures are read across jurisdictions on purpose (contacts live anywhere); reads for
  people are scoped later, by the selectors.

Edges are loaded level by level with one query per level (ids chunked for SQLite's parameter
limit), so the cost is a handful of queries however many persons are reached; the levels are
then laid out as a CSR graph (fangkong.tracing.graph) for the generation/parent arrays. The
measures of new (and nearer-moved) contacts are proposed in one `measure_propose_many` batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.people.models import ControlMeasure, DiseaseProfile, MeasurePlan, Person
from fangkong.people.services.measures import (
    Proposal,
    active_profile,
    measure_propose_many,
    plan_for_generation,
)
from fangkong.tracing.graph import ContactGraph, dense_ids
from fangkong.tracing.models import CASE_STATUSES, Case, CaseContact, CaseStatus, Exposure

# SQLite allows 999 parameters per statement, and an id list is used twice (either end).
CHUNK = 400


def chunked(ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def lookback_start(*, case: Case, profile: DiseaseProfile) -> dt.date:
    return case.anchor_date - dt.timedelta(days=profile.lookback_days)


@dataclass
class Reach:
    edges: list[tuple[int, int]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)


def _edges_touching(frontier: list[int], since: dt.date) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for ids in chunked(frontier):
        out.extend(
            Exposure.objects.filter(day__gte=since)
            .filter(Q(person_a_id__in=ids) | Q(person_b_id__in=ids))
            .values_list("person_a_id", "person_b_id")
        )
    return out


def _case_persons(ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunked(ids, 900):
        found.update(
            Case.objects.filter(person_id__in=chunk, status__in=CASE_STATUSES).values_list(
                "person_id", flat=True
            )
        )
    return found


def reach(*, root: int, since: dt.date, max_generation: int) -> Reach:
    """Every exposure within `max_generation` hops of `root`, stopping at other cases."""
    out = Reach()
    seen, frontier = {root}, [root]
    for _level in range(max_generation):
        level = _edges_touching(frontier, since)
        out.edges.extend(level)
        fresh = sorted({p for edge in level for p in edge} - seen)
        if not fresh:
            break
        cases = _case_persons(fresh)
        out.blocked |= cases
        seen.update(fresh)
        frontier = [p for p in fresh if p not in cases]
        if not frontier:
            break
    return out


@dataclass(frozen=True)
class Found:
    generation: int
    parent: int


def generations_of(*, root: int, found: Reach, max_generation: int) -> dict[int, Found]:
    """person id -> (generation, parent person id) for every contact of the root."""
    if not found.edges:
        return {}
    pairs = np.asarray(found.edges, dtype=np.int64)
    ids, codes = dense_ids(np.concatenate([pairs[:, 0], pairs[:, 1], [root]]))
    n_edges = len(pairs)
    graph = ContactGraph.from_edges(codes[:n_edges], codes[n_edges : 2 * n_edges], n_nodes=len(ids))
    blocked = np.searchsorted(ids, np.asarray(sorted(found.blocked), dtype=np.int64))
    gen, parent = graph.generations_with_parents(
        np.asarray([codes[-1]]), max_depth=max_generation, blocked=blocked
    )
    reached = np.flatnonzero(gen > 0)
    return {int(ids[n]): Found(generation=int(gen[n]), parent=int(ids[parent[n]])) for n in reached}


@dataclass(frozen=True)
class GenerationsResult:
    case_id: int
    created: int
    updated: int
    removed: int
    proposed: int
    by_generation: dict[int, int]


@dataclass
class _Plans:
    profile: DiseaseProfile
    by_generation: dict[int, MeasurePlan | None] = field(default_factory=dict)

    def get(self, generation: int) -> MeasurePlan | None:
        if generation not in self.by_generation:
            self.by_generation[generation] = plan_for_generation(
                profile=self.profile, generation=generation
            )
        return self.by_generation[generation]


def _proposal(
    *, case: Case, person: Person, generation: int, plans: _Plans, upgrade: bool
) -> Proposal | None:
    plan = plans.get(generation)
    if plan is None:
        return None
    # The first proposal for a contact of this case uses the case id as its source; when a
    # new exposure brings the person nearer the case, the stronger plan of the new
    # generation is proposed under its own source so the weaker proposal cannot mask it.
    return Proposal(
        person=person,
        plan=plan,
        start=timezone.localdate(),
        source_type="case_contact",
        source_id=f"{case.pk}:g{generation}" if upgrade else str(case.pk),
        generation=generation,
        reason=f"case #{case.pk} generation {generation}",
    )


@transaction.atomic
def case_compute_generations(*, actor: User | None, case: Case) -> GenerationsResult:
    """Compute (or bring up to date) the case's contacts; running it twice changes nothing.

    `actor=None` is the background task queued when exposures change."""
    if actor is not None:
        authorize(actor, "investigation.run", region=case.region_path)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == CaseStatus.RULED_OUT:
        raise Conflict(_("a ruled-out case has no contacts to trace"))
    profile = active_profile()
    root = case.person_id
    found = reach(
        root=root,
        since=lookback_start(case=case, profile=profile),
        max_generation=profile.max_generation,
    )
    target = generations_of(root=root, found=found, max_generation=profile.max_generation)
    existing = {
        row.person_id: row
        for row in CaseContact.objects.filter(case=case).select_related("measure")
    }
    edges = {(min(a, b), max(a, b)) for a, b in found.edges}
    now = timezone.now()
    work = _Work(actor=actor, case=case, plans=_Plans(profile), root=root, edges=edges, now=now)
    work.plan_changes(target=target, existing=existing)
    work.load_persons()
    created, updated = work.apply(target=target, existing=existing)
    stale = [row.pk for pid, row in existing.items() if pid not in target]
    if stale:
        CaseContact.objects.filter(pk__in=stale).delete()
    Case.objects.filter(pk=case.pk).update(generations_at=now)
    by_generation: dict[int, int] = {}
    for f in target.values():
        by_generation[f.generation] = by_generation.get(f.generation, 0) + 1
    result = GenerationsResult(
        case_id=case.pk,
        created=created,
        updated=updated,
        removed=len(stale),
        proposed=work.proposed,
        by_generation=dict(sorted(by_generation.items())),
    )
    if created or updated or stale:
        audit_record(
            actor=actor,
            action="case.generations",
            object_type="case",
            object_id=case.pk,
            details={
                "created": created,
                "updated": updated,
                "removed": len(stale),
                "proposed": work.proposed,
                "by_generation": {str(k): v for k, v in result.by_generation.items()},
            },
        )
    return result


@dataclass
class _Work:
    """The difference between the stored contact rows and a fresh computation."""

    actor: User | None
    case: Case
    plans: _Plans
    root: int
    edges: set[tuple[int, int]]
    now: dt.datetime
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    upgraded: set[int] = field(default_factory=set)
    persons: dict[int, Person] = field(default_factory=dict)
    proposed: int = 0

    def plan_changes(self, *, target: dict[int, Found], existing: dict[int, CaseContact]) -> None:
        for person_id, f in target.items():
            row = existing.get(person_id)
            if row is None:
                self.new.append(person_id)
                continue
            if row.generation != f.generation:
                self.changed.append(person_id)
                if f.generation < row.generation:
                    self.upgraded.add(person_id)
            elif not self._parent_ok(row.parent_id, person_id, f.generation, target):
                self.changed.append(person_id)

    def _parent_ok(
        self, parent: int | None, person: int, generation: int, target: dict[int, Found]
    ) -> bool:
        if parent is None:
            return False
        parent_gen = 0 if parent == self.root else getattr(target.get(parent), "generation", -1)
        return parent_gen == generation - 1 and (min(parent, person), max(parent, person)) in (
            self.edges
        )

    def load_persons(self) -> None:
        wanted = sorted({*self.new, *self.upgraded})
        for ids in chunked(wanted, 900):
            self.persons.update(
                (p.pk, p) for p in Person.objects.filter(pk__in=ids).defer("id_number_ct")
            )

    def propose(self, target: dict[int, Found]) -> dict[int, ControlMeasure]:
        """The measures of new and upgraded contacts, proposed in one batch."""
        wanted = [(p, False) for p in self.new] + [(p, True) for p in sorted(self.upgraded)]
        items: list[tuple[int, Proposal]] = []
        for person_id, upgrade in wanted:
            item = _proposal(
                case=self.case,
                person=self.persons[person_id],
                generation=target[person_id].generation,
                plans=self.plans,
                upgrade=upgrade,
            )
            if item is not None:
                items.append((person_id, item))
        measures = measure_propose_many(
            actor=self.actor, items=[item for _, item in items], batch_ref=f"case:{self.case.pk}"
        )
        self.proposed = len(measures)
        return {person_id: m for (person_id, _), m in zip(items, measures, strict=True)}

    def apply(
        self, *, target: dict[int, Found], existing: dict[int, CaseContact]
    ) -> tuple[int, int]:
        measures = self.propose(target)
        rows = []
        for person_id in self.new:
            f = target[person_id]
            rows.append(
                CaseContact(
                    case=self.case,
                    person_id=person_id,
                    generation=f.generation,
                    parent_id=f.parent,
                    region_path=self.case.region_path,
                    measure=measures.get(person_id),
                    computed_at=self.now,
                    updated_at=self.now,
                )
            )
        CaseContact.objects.bulk_create(rows, batch_size=500)
        changed = []
        for person_id in self.changed:
            row, f = existing[person_id], target[person_id]
            keep_parent = row.generation == f.generation and self._parent_ok(
                row.parent_id, person_id, f.generation, target
            )
            row.parent_id = row.parent_id if keep_parent else f.parent
            if person_id in self.upgraded:
                row.measure = measures.get(person_id) or row.measure
            row.generation, row.computed_at, row.updated_at = f.generation, self.now, self.now
            changed.append(row)
        CaseContact.objects.bulk_update(
            changed,
            ["generation", "parent", "measure", "computed_at", "updated_at"],
            batch_size=500,
        )
        return len(rows), len(changed)
