"""Meeting minutes → proposed directives (units, lead and supporting, deadlines from the
text) → confirmed into obligations in one step, or refused naming the item."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from fangkong.command import minutes as mn
from fangkong.command import selectors as sel
from fangkong.command.models import Issue, Meeting, Obligation, ObligationRole
from fangkong.command.services.directives import Directive, directives_confirm
from fangkong.core.validators import FieldError
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, command_structure

MINUTES = """东城区疫情防控工作调度会议纪要
会议听取了各专班工作汇报，议定事项如下：
一、区交通局要严格闭环转运，在规定时限内派车，3日内完成转运车辆和司机的登记备案。
二、由区卫健局牵头，公安分局、东城区交通局配合，于本周内完成冷链从业人员摸底排查；
（三）各镇要落实网格化管理，{month}月{day}日前完成返乡人员全面排查。
4. 东城区公安分局负责重点场所管控，限期整改发现的问题。
会议强调，要坚决克服麻痹思想和松劲心态。
"""


@pytest.fixture
def cs(tree: Tree) -> Structure:
    return command_structure(tree)


def _text(clock: Clock) -> str:
    later = clock.today() + dt.timedelta(days=10)
    return MINUTES.format(month=later.month, day=later.day)


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))


def test_minutes_become_proposals_with_units_parts_and_deadlines(
    cs: Structure, clock: Clock
) -> None:
    u = cs.units
    names = sel.unit_names(actor=cs.users["office_a"])
    got = mn.propose(_text(clock), names, clock.now())
    today = clock.today()
    assert [(p.lead, p.support) for p in got] == [
        ([u["transport_a"].pk], []),
        ([u["health_a"].pk], [u["police_a"].pk, u["transport_a"].pk]),
        ([u["town_a1"].pk, u["town_a2"].pk], []),
        ([u["police_a"].pk], []),
    ]
    assert got[0].deadline == _end_of(today + dt.timedelta(days=3))
    assert got[0].deadline_text == "3日内"
    sunday = today + dt.timedelta(days=6 - today.weekday())
    assert (got[1].deadline, got[1].deadline_text) == (_end_of(sunday), "本周内")
    assert got[2].deadline == _end_of(today + dt.timedelta(days=10))
    assert (got[3].deadline, got[3].needs_deadline, got[3].deadline_text) == (None, True, "限期")
    assert got[0].duty.startswith("区交通局要严格闭环转运")  # the list marker is dropped


@pytest.mark.parametrize(
    ("words", "days"),
    [("三日内", 3), ("十日内", 10), ("两天内", 2), ("15日内", 15), ("二十天内", 20)],
)
def test_relative_deadlines_in_chinese_numerals(words: str, days: int, clock: Clock) -> None:
    deadline, said, needs = mn.deadline_in(f"要在{words}完成", clock.now())
    assert (deadline, said, needs) == (_end_of(clock.today() + dt.timedelta(days=days)), words,
                                       False)  # fmt: skip


def test_workdays_hours_and_a_past_date_next_year(clock: Clock) -> None:
    now = clock.now()
    deadline, _, _ = mn.deadline_in("5个工作日内报送", now)
    assert deadline is not None
    workdays = [
        clock.today() + dt.timedelta(days=n)
        for n in range(1, (deadline.date() - clock.today()).days + 1)
    ]
    assert sum(1 for d in workdays if d.weekday() < 5) == 5
    assert deadline.weekday() < 5
    assert mn.deadline_in("24小时内完成流调", now)[0] == now + dt.timedelta(hours=24)
    earlier = clock.today() - dt.timedelta(days=1)
    if (earlier.month, earlier.day) == (2, 29):  # no such day next year
        earlier -= dt.timedelta(days=1)
    dated, _, _ = mn.deadline_in(f"{earlier.month}月{earlier.day}日前完成", now)
    assert dated is not None and dated.date() == earlier.replace(year=earlier.year + 1)


def _directives(cs: Structure, clock: Clock, proposals: list[mn.Proposal]) -> list[Directive]:
    by_pk = {unit.pk: unit for unit in cs.units.values()}
    return [
        Directive(
            duty=p.duty,
            lead=[by_pk[pk] for pk in p.lead],
            support=[by_pk[pk] for pk in p.support],
            deadline=p.deadline,
        )
        for p in proposals
    ]


def test_confirming_refuses_an_item_without_a_deadline_and_writes_nothing(
    cs: Structure, clock: Clock
) -> None:
    proposals = mn.propose(_text(clock), sel.unit_names(actor=cs.users["office_a"]), clock.now())
    with pytest.raises(FieldError) as why:
        directives_confirm(
            actor=cs.users["office_a"], issuer=cs.units["office_a"], title="调度会",
            held_on=clock.today(), minutes=_text(clock),
            directives=_directives(cs, clock, proposals),
        )  # fmt: skip
    assert why.value.field == "items.4.deadline"
    assert "4" in why.value.message
    assert not Meeting.objects.exists() and not Issue.objects.exists()


def test_confirmed_directives_are_obligations_with_lead_and_supporting_units(
    cs: Structure, clock: Clock
) -> None:
    proposals = mn.propose(_text(clock), sel.unit_names(actor=cs.users["office_a"]), clock.now())
    proposals[3].deadline = clock.now() + dt.timedelta(days=5)
    issued: Any = directives_confirm(
        actor=cs.users["office_a"], issuer=cs.units["office_a"], title="调度会",
        held_on=clock.today(), minutes=_text(clock),
        directives=_directives(cs, clock, proposals),
    )  # fmt: skip
    assert len(issued) == 4 and Meeting.objects.get().directives.count() == 4
    second = Obligation.objects.filter(issue=issued[1]).order_by("role", "unit__code")
    assert [(o.unit.name, o.role) for o in second] == [
        ("东城区卫健局", ObligationRole.LEAD),
        ("东城区公安分局", ObligationRole.SUPPORT),
        ("东城区交通局", ObligationRole.SUPPORT),
    ]
    transport = sel.my_queue(actor=cs.users["transport_a"], now=clock.now())
    assert {(o.issue.kind, o.role) for o in transport} == {("directive", "lead"),
                                                          ("directive", "support")}  # fmt: skip
