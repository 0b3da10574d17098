"""Daily reports and zero reports: templates per unit kind, known figures pre-filled from the
unit's jurisdiction and confirmed, a zero report in one step (refused when the system counts
something), the cut-off (late but submitted vs missing), retries that never duplicate, and
completeness and timeliness per unit, per day and per week."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.command import selectors_reports as rsel
from fangkong.command.models import DailyReport, ReportTemplate, UnitKind
from fangkong.command.services import reports
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from tests.conftest import Clock
from tests.factories import Tree, make_person
from tests.factories.command import Structure, command_structure
from tests.factories.measures import in_force

FIELDS = [
    reports.FieldSpec("under_control", "", figure="under_control"),
    reports.FieldSpec("arrivals", "", figure="arrivals_screened"),
    reports.FieldSpec("visits", "走访户数"),
]


@pytest.fixture
def cs(tree: Tree) -> Structure:
    return command_structure(tree)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _template(cs: Structure, clock: Clock, **kw: object) -> ReportTemplate:
    options: dict = {
        "code": "TOWN-DAILY", "name": "镇街防控日报", "unit_kinds": [UnitKind.TOWN],
        "cutoff": dt.time(10, 0), "fields": FIELDS,
        "starts_on": clock.today() - dt.timedelta(days=14),
    } | kw  # fmt: skip
    return reports.template_create(
        actor=cs.users["city_office"], region=cs.units["city_office"].region, **options
    )


def _submit(
    cs: Structure, key: str, template: ReportTemplate, day: dt.date, **kw: object
) -> DailyReport:
    return reports.report_submit(
        actor=cs.users[key], unit=cs.units[key], template=template, day=day, **kw
    )


def test_known_figures_are_prefilled_from_the_units_own_jurisdiction(
    cs: Structure, tree: Tree, clock: Clock, users: dict[str, User]
) -> None:
    template = _template(cs, clock)
    for _ in range(2):
        in_force(make_person(tree.grid_a1), users["district_a"], start=clock.today())
    in_force(make_person(tree.grid_b1), users["district_b"], start=clock.today())
    clock.travel(_at(clock.today(), 8))
    duties = rsel.my_duties(actor=cs.users["town_a1"], day=clock.today(), now=clock.now())
    assert [(d.unit.pk, d.state(clock.now())) for d in duties] == [(cs.units["town_a1"].pk, "due")]
    assert duties[0].known == {"under_control": 2, "arrivals": 0}
    other = rsel.my_duties(actor=cs.users["town_b1"], day=clock.today(), now=clock.now())
    assert other[0].known == {"under_control": 1, "arrivals": 0}
    # confirmed as counted, with the typed field beside
    report = _submit(cs, "town_a1", template, clock.today(),
                     values={"under_control": 2, "arrivals": 0, "visits": "35"})  # fmt: skip
    assert report.on_time and report.values == {"under_control": 2, "arrivals": 0, "visits": 35}
    assert report.prefilled == {"under_control": 2, "arrivals": 0}
    # a department does not owe a town's report
    assert rsel.my_duties(actor=cs.users["transport_a"], day=clock.today(), now=clock.now()) == []


def test_a_zero_report_in_one_step_and_refused_when_the_system_counts_something(
    cs: Structure, tree: Tree, clock: Clock, users: dict[str, User]
) -> None:
    template = _template(cs, clock)
    clock.travel(_at(clock.today(), 9))
    zero = _submit(cs, "town_a2", template, clock.today(), zero=True)
    assert zero.zero and zero.values == {"under_control": 0, "arrivals": 0, "visits": 0}
    in_force(make_person(tree.grid_a1), users["district_a"], start=clock.today())
    with pytest.raises(FieldError) as refused:
        _submit(cs, "town_a1", template, clock.today(), zero=True)
    assert refused.value.field == "values.under_control" and "1" in refused.value.message


def test_bad_input_names_the_field_and_writes_nothing(cs: Structure, clock: Clock) -> None:
    template = _template(cs, clock)
    clock.travel(_at(clock.today(), 9))
    for values, field in (
        ({"under_control": 0, "arrivals": 0}, "values.visits"),
        ({"under_control": 0, "arrivals": "x", "visits": 1}, "values.arrivals"),
        ({"under_control": -1, "arrivals": 0, "visits": 1}, "values.under_control"),
    ):
        with pytest.raises(FieldError) as refused:
            _submit(cs, "town_a1", template, clock.today(), values=values)
        assert refused.value.field == field
    with pytest.raises(FieldError) as future:
        _submit(cs, "town_a1", template, clock.today() + dt.timedelta(days=1), zero=True)
    assert future.value.field == "day"
    with pytest.raises(FieldError):
        reports.template_create(
            actor=cs.users["city_office"], region=cs.units["city_office"].region, code="X",
            name="x", unit_kinds=["town"], cutoff=dt.time(10), fields=[
                reports.FieldSpec("a", "甲"), reports.FieldSpec("a", "乙")],
        )  # fmt: skip
    assert not DailyReport.objects.exists()


def test_only_members_of_the_unit_submit_and_a_department_sets_no_templates(
    cs: Structure, clock: Clock
) -> None:
    template = _template(cs, clock)
    clock.travel(_at(clock.today(), 9))
    with pytest.raises(Forbidden):
        reports.report_submit(actor=cs.users["town_a2"], unit=cs.units["town_a1"],
                              template=template, day=clock.today(), zero=True)  # fmt: skip
    with pytest.raises(Forbidden):
        reports.template_create(
            actor=cs.users["transport_a"], region=cs.units["transport_a"].region, code="T",
            name="t",
            unit_kinds=["community"], cutoff=dt.time(10), fields=FIELDS,
        )  # fmt: skip


def test_a_retry_revises_and_never_duplicates_and_keeps_the_first_time(
    cs: Structure, clock: Clock
) -> None:
    template = _template(cs, clock)
    clock.travel(_at(clock.today(), 9, 30))
    first = _submit(cs, "town_a1", template, clock.today(), zero=True)
    again = _submit(cs, "town_a1", template, clock.today(), zero=True)
    assert again.pk == first.pk and again.revised_at is None
    clock.travel(_at(clock.today(), 11))
    revised = _submit(cs, "town_a1", template, clock.today(),
                      values={"under_control": 0, "arrivals": 0, "visits": 4})  # fmt: skip
    assert revised.pk == first.pk and revised.on_time and revised.revised_at is not None
    assert DailyReport.objects.count() == 1


def test_completeness_and_timeliness_per_unit_day_and_week(cs: Structure, clock: Clock) -> None:
    today = clock.today()
    template = _template(cs, clock, starts_on=today - dt.timedelta(days=2))
    days = [today - dt.timedelta(days=n) for n in (2, 1, 0)]
    # two days ago: a1 on time, a2 late, b1 silent; yesterday: everyone on time
    clock.travel(_at(days[0], 9))
    _submit(cs, "town_a1", template, days[0], zero=True)
    clock.travel(_at(days[0], 15))
    _submit(cs, "town_a2", template, days[0], zero=True)
    clock.travel(_at(days[1], 9))
    for key in ("town_a1", "town_a2", "town_b1"):
        _submit(cs, key, template, days[1], zero=True)
    # today before the cut-off: nothing is missing yet, only due
    clock.travel(_at(today, 9))
    result = rsel.compliance(actor=cs.users["city_office"], start=days[0], end=today,
                             now=clock.now())  # fmt: skip
    rows = {r.unit.code: r for r in result.units}
    assert set(rows) == {"U-town_a1", "U-town_a2", "U-town_b1"}
    a1, a2, b1 = rows["U-town_a1"], rows["U-town_a2"], rows["U-town_b1"]
    assert (a1.expected, a1.submitted, a1.on_time, a1.missing) == (2, 2, 2, [])
    assert (a2.submitted, a2.on_time, a2.late) == (2, 1, [days[0]])
    assert b1.missing == [days[0]] and b1.completeness == 0.5
    assert [(d.expected, d.submitted, d.on_time) for d in result.days] == [
        (3, 2, 1), (3, 3, 3), (0, 0, 0)]  # fmt: skip
    assert [(u.unit.code, d) for u, d in result.missing] == [("U-town_b1", days[0])]
    # after the cut-off, today's silence counts as missing — never an implied zero
    clock.travel(_at(today, 10, 1))
    late = rsel.compliance(actor=cs.users["city_office"], start=today, end=today, now=clock.now())
    assert sorted(u.unit.code for u, _ in late.missing) == ["U-town_a1", "U-town_a2", "U-town_b1"]
    weeks = rsel.by_week(result)
    assert sum(w.expected for w in weeks.values()) == 6
    # a town sees only its own; a sibling district's office nothing of district A
    mine = rsel.compliance(actor=cs.users["town_a1"], start=days[0], end=today, now=clock.now())
    assert [r.unit.code for r in mine.units] == ["U-town_a1"]
    theirs = rsel.compliance(actor=cs.users["office_b"], start=days[0], end=today, now=clock.now())
    assert [r.unit.code for r in theirs.units] == ["U-town_b1"]
    assert (
        not rsel.report_list(actor=cs.users["office_b"]).filter(unit=cs.units["town_a1"]).exists()
    )


def test_weekdays_only_templates_expect_nothing_at_the_weekend(cs: Structure, clock: Clock) -> None:
    today = clock.today()
    monday = today - dt.timedelta(days=today.weekday())
    template = _template(
        cs, clock, weekdays=[0, 1, 2, 3, 4], starts_on=monday - dt.timedelta(days=7)
    )
    week_start = monday - dt.timedelta(days=7)
    result = rsel.compliance(actor=cs.users["city_office"], start=week_start,
                             end=week_start + dt.timedelta(days=6), now=clock.now(),
                             template_id=template.pk)  # fmt: skip
    assert [d.expected for d in result.days] == [3, 3, 3, 3, 3, 0, 0]
