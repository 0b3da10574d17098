"""The demo outbreak's cases: each in its own town, with exposures among real residents, its
contact generations computed, and its investigation at a different point of its work.

Everything goes through the tracing and measure services. The one thing they cannot do is
open an investigation in the past (they stamp "now"), so after a case is built its
investigation's times are moved back to when the story says it was opened: that is what
makes one of them overdue today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from fangkong.core.models import Institution, InstitutionKind
from fangkong.drill.names import DISTRICTS
from fangkong.drill.outbreak_arrivals import HIGH, Arrivals
from fangkong.drill.outbreak_people import (
    FULL_FANOUT,
    FULL_FANOUT_FROM,
    SMALL_FANOUT,
    Contact,
    TreePlanner,
    TreeSpec,
)
from fangkong.drill.outbreak_stage import Stage, record_tests, release, start
from fangkong.people.models import ControlMeasure, Person
from fangkong.people.services.measures import active_profile, measure_extend
from fangkong.screening.models import ScreeningSource, TravelMode
from fangkong.screening.services.arrivals import screening_create
from fangkong.tracing.models import (
    Case,
    CaseContact,
    CaseKind,
    CaseSource,
    ExposureContext,
    Investigation,
    Severity,
    TraceStatus,
)
from fangkong.tracing.selectors import contact_list
from fangkong.tracing.services.cases import (
    case_compute_generations,
    case_create,
    contact_set_trace,
    exposures_record,
    investigation_close,
    investigation_mark_traced,
)


class Progress(StrEnum):
    TRACED = "traced"  # close and secondary contacts under control, marked traced
    OVERDUE = "overdue"  # opened 30 h ago, contacts still untraced: overdue
    NEW = "new"  # reported three hours ago, tracing under way
    CLOSED = "closed"  # traced, gen-3 tests over and released, investigation closed


@dataclass(frozen=True)
class CaseStory:
    district: int  # index into DISTRICTS
    town: int  # the town's number within its district
    progress: Progress
    kind: str = CaseKind.CONFIRMED
    days_ago: int = 0  # reported on this day at about 10:00 ...
    hours_ago: int = 0  # ... or this many hours ago
    severity: str = Severity.MILD
    grid: str = ""  # a grid code suffix within the town, to put the case there
    arrived_days_ago: int = 0  # found among arrivals (quarantined on arrival, then positive)


# One case in each town of district 1 (the demo towns see their own) and two in district 2.
STORIES = (
    CaseStory(0, 1, Progress.TRACED, days_ago=3, grid="001G01"),
    CaseStory(0, 2, Progress.OVERDUE, hours_ago=30),
    CaseStory(0, 3, Progress.NEW, hours_ago=3, severity=Severity.NONE),
    CaseStory(1, 1, Progress.CLOSED, days_ago=6, severity=Severity.MODERATE),
    CaseStory(
        1,
        2,
        Progress.TRACED,
        kind=CaseKind.ASYMPTOMATIC,
        days_ago=2,
        severity=Severity.NONE,
        arrived_days_ago=5,
    ),
)
TRACED_AFTER = dt.timedelta(hours=18)
CLOSED_AFTER = dt.timedelta(days=3)


@dataclass
class BuiltCase:
    case: Case
    story: CaseStory
    opened_at: dt.datetime
    household: set[int]  # contacts who share a home with the person they were reached from


class CaseBuilder:
    def __init__(self, stage: Stage, arrivals: Arrivals, places: dict[str, list[str]]) -> None:
        self.stage = stage
        self.arrivals = arrivals
        self.rng = stage.rng("cases")
        fanout = FULL_FANOUT if len(stage.pop.by_pk) >= FULL_FANOUT_FROM else SMALL_FANOUT
        self.trees = TreePlanner(stage.pop, stage.rng("contacts"), places, fanout)
        self.places = places
        self.lookback = active_profile().lookback_days

    @staticmethod
    def town_code(story: CaseStory) -> str:
        return f"{DISTRICTS[story.district][0]}{story.town:03d}"

    def opened_at(self, story: CaseStory) -> dt.datetime:
        if story.hours_ago:
            return self.stage.now - dt.timedelta(hours=story.hours_ago)
        return self.stage.at(story.days_ago, 10, self.rng.randrange(60))

    def _root(self, story: CaseStory, town: str) -> Person:
        pop = self.stage.pop
        if story.grid:
            grid = self.stage.regions[town + story.grid]
            pool = [r for r in pop.by_town[town] if r.grid_id == grid.pk and r.working_age]
            candidates = [r for r in pool if r.pk not in pop.used] or pool
            found = self.rng.choice(candidates) if candidates else None
        else:
            found = pop.draw(self.rng, town)
        if found is None:
            raise LookupError(f"no resident left in town {town} for a demo case")
        pop.take(found.pk)
        return Person.objects.get(pk=found.pk)

    def build(self, story: CaseStory) -> BuiltCase:
        town = self.town_code(story)
        opened = self.opened_at(story)
        report = timezone.localdate(opened)
        person = self._root(story, town)
        if story.arrived_days_ago:
            self._positive_arrival(person, story)
        case = self._register(person, story, report)
        contacts = self._exposures(case, story, report, town)
        case_compute_generations(actor=self.stage.cast.tracer, case=case)
        at_home = {c.person for c in contacts if c.context == ExposureContext.HOUSEHOLD}
        built = BuiltCase(case, story, opened, at_home)
        self._progress(built, report)
        _backdate(built)
        return built

    def _positive_arrival(self, person: Person, story: CaseStory) -> None:
        """Home from a high-risk area, quarantined on arrival, positive on the third test."""
        data = self.arrivals.validated(
            self.arrivals.resident(person.pk),
            HIGH,
            days_ago=story.arrived_days_ago,
            source=ScreeningSource.CHECKPOINT,
            mode=TravelMode.TRAIN,
        )
        record = screening_create(
            actor=self.stage.cast.for_path(person.region_path, action="screening.decide"),
            data=data,
            confirm=True,
        )
        if record.measure is None:
            return
        measure = start(self.stage, record.measure, self.stage.day(story.arrived_days_ago))
        if measure is not None:
            record_tests(self.stage, measure, positive_at=3)

    def _register(self, person: Person, story: CaseStory, report: dt.date) -> Case:
        asymptomatic = story.kind == CaseKind.ASYMPTOMATIC
        return case_create(
            actor=self.stage.cast.tracer,
            person=person,
            kind=story.kind,
            status="confirmed",
            report_date=report,
            onset_date=None if asymptomatic else report - dt.timedelta(days=2),
            sampling_date=report - dt.timedelta(days=1),
            source=CaseSource.SCREENING if story.arrived_days_ago else CaseSource.LOCAL,
            severity=story.severity,
            notes="集中隔离期间第3次核酸检测阳性" if asymptomatic else "发热门诊就诊时核酸检测阳性",
        )

    def _window(self, case: Case, story: CaseStory, report: dt.date) -> list[dt.date]:
        """Days exposures fall on: inside the look-back window, never after the report."""
        if story.arrived_days_ago:
            first = self.stage.day(story.arrived_days_ago)
        else:
            since = case.anchor_date - dt.timedelta(days=self.lookback)
            first = max(since, report - dt.timedelta(days=4))
        last = min(report, self.stage.today)
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    def _exposures(self, case: Case, story: CaseStory, report: dt.date, town: str) -> list[Contact]:
        arrived = bool(story.arrived_days_ago)
        days = self._window(case, story, report)
        spec = TreeSpec(
            root=case.person_id,
            first_context=ExposureContext.VEHICLE if arrived else ExposureContext.WORKPLACE,
            first_place="G1234次列车8车厢" if arrived else self._workplace(town),
            days=days,
            first_days=days[:1] if arrived else None,
        )
        contacts = self.trees.tree(spec)
        items = [
            {
                "person": None if c.via == case.person_id else {"person_id": c.via},
                "contact": {"person_id": c.person},
                "context": c.context,
                "day": c.day,
                "place": c.place,
            }
            for c in contacts
        ]
        exposures_record(actor=self.stage.cast.tracer, case=case, items=items)
        return contacts

    def _workplace(self, town: str) -> str:
        path = self.stage.regions[town].path
        names = list(
            Institution.objects.filter(
                kind=InstitutionKind.ENTERPRISE, region__path__startswith=path
            )
            .order_by("code")
            .values_list("name", flat=True)
        )
        return self.rng.choice(names) if names else self.rng.choice(self.places[town])

    # -- how far the tracing has come -----------------------------------------------------

    def _progress(self, built: BuiltCase, report: dt.date) -> None:
        contacts = list(contact_list(actor=self.stage.cast.tracer, case=built.case))
        handler = {
            Progress.TRACED: self._traced,
            Progress.OVERDUE: self._overdue,
            Progress.NEW: self._new,
            Progress.CLOSED: self._closed,
        }[built.story.progress]
        handler(built, contacts, report)

    def _start_all(
        self, contacts: list[CaseContact], on: dt.date, *, missed_tests: int = 0
    ) -> list[ControlMeasure]:
        started: list[ControlMeasure] = []
        for contact in contacts:
            if contact.measure is None:
                continue
            measure = start(self.stage, contact.measure, on)
            if measure is None:
                continue
            record_tests(self.stage, measure, miss_last=len(started) < missed_tests)
            started.append(measure)
        return started

    def _traced(self, built: BuiltCase, contacts: list[CaseContact], report: dt.date) -> None:
        # the deadline covers close and secondary contacts; the third generation is still
        # being found, so its measures stay proposed
        near = [c for c in contacts if c.generation <= 2]
        self._start_all(near, report, missed_tests=2)
        investigation_mark_traced(
            actor=self.stage.cast.tracer, investigation=built.case.investigation
        )

    def _overdue(self, built: BuiltCase, contacts: list[CaseContact], report: dt.date) -> None:
        for generation, share in ((1, 0.6), (2, 0.5)):
            level = [c for c in contacts if c.generation == generation]
            done = round(len(level) * share)
            self._start_all(level[:done], report)
            if generation == 1 and len(level) > done:
                contact_set_trace(
                    actor=self.stage.cast.tracer,
                    contact=level[done],
                    status=TraceStatus.UNREACHABLE,
                    note="电话多次无人接听，已请公安协助查找",
                )

    def _new(self, built: BuiltCase, contacts: list[CaseContact], report: dt.date) -> None:
        home = [c for c in contacts if c.generation == 1 and c.person_id in built.household]
        self._start_all(home, self.stage.today)

    def _closed(self, built: BuiltCase, contacts: list[CaseContact], report: dt.date) -> None:
        near = self._start_all([c for c in contacts if c.generation <= 2], report)
        third = [c for c in contacts if c.generation == 3]
        finished = self._start_all(third, report + dt.timedelta(days=1))
        # one third-generation measure is left running past its end: release overdue
        for measure in finished[1:]:
            release(self.stage, measure)
        second = [m for m in near if m.generation == 2]
        if second:
            measure_extend(
                actor=self.stage.cast.for_path(second[0].region_path, action="measure.decide"),
                measure=second[0],
                days=3,
                reason="同住人员核酸检测结果异常，延长居家隔离",
            )
        investigation_close(
            actor=self.stage.cast.tracer,
            investigation=built.case.investigation,
            notes="密接、次密接均已落实管控，流调结束",
        )


def _backdate(built: BuiltCase) -> None:
    """Move the investigation's times back to the story's (see the module docstring)."""
    opened = built.opened_at
    investigation = Investigation.objects.get(case=built.case)
    hours = active_profile().investigation_hours
    changes: dict[str, dt.datetime | None] = {
        "opened_at": opened,
        "deadline": opened + dt.timedelta(hours=hours),
    }
    if investigation.contacts_traced_at is not None:
        changes["contacts_traced_at"] = opened + TRACED_AFTER
    if investigation.closed_at is not None:
        changes["closed_at"] = opened + CLOSED_AFTER
    Investigation.objects.filter(pk=investigation.pk).update(**changes)
    Case.objects.filter(pk=built.case.pk).update(confirmed_at=opened)
