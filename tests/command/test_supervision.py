"""The supervision ledger: an inspector records a problem with its kind, severity, photos,
place and time; it becomes an obligation of the responsible unit with the kind's time limit;
the unit rectifies with evidence; the inspector verifies and closes, sends back or reopens;
closed problems are drawn at random for re-inspection; recurrence by site and kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from fangkong.command import selectors_supervision as ssel
from fangkong.command.ladder import Stage
from fangkong.command.models import (
    Evidence,
    Issue,
    ObligationState,
    Problem,
    ProblemKind,
    Reinspection,
)
from fangkong.command.services import ledger, supervision
from fangkong.command.services.evidence import Upload
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, add_inspectors, command_structure

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 48


@pytest.fixture
def cs(tree: Tree, settings: Any, tmp_path: Path) -> Structure:
    settings.DATA_DIR = tmp_path
    made = command_structure(tree)
    add_inspectors(made, tree)
    return made


def _record(cs: Structure, tree: Tree, **kw: Any) -> Problem:
    options: dict[str, Any] = {
        "actor": cs.users["insp_a"], "inspector_unit": cs.units["insp_a"],
        "unit": cs.units["town_a1"], "kind": ProblemKind.objects.get(code="SCAN"),
        "severity": "major", "site": "东街农贸市场", "region": tree.town_a1,
        "description": "入口未查验健康码，无专人值守", "latitude": "30.123456",
        "longitude": "114.654321", "photos": [Upload("入口.png", PNG)],
    } | kw  # fmt: skip
    return supervision.problem_record(**options)


def test_a_problem_is_an_obligation_with_the_kinds_time_limit_and_its_photos(
    cs: Structure, tree: Tree, clock: Clock
) -> None:
    problem = _record(cs, tree)
    ob = problem.obligation
    assert problem.issue.kind == "problem" and problem.issue.number.startswith("DC-")
    assert ob.unit == cs.units["town_a1"] and ob.state == ObligationState.OPEN
    assert ob.deadline == problem.observed_at + dt.timedelta(days=problem.kind.days)
    assert Evidence.objects.filter(event__obligation=ob, event__kind="issued").count() == 1
    assert str(problem.latitude) == "30.123456"
    # it sits in the town's own queue, and is overdue once its time limit has passed
    clock.travel(dt.timedelta(days=problem.kind.days, hours=1))
    stages = ssel.problem_obligations(actor=cs.users["town_a1"], now=clock.now())
    assert [o.stage for o in stages] == [Stage.OVERDUE]


def test_rectified_verified_sent_back_and_reopened(cs: Structure, tree: Tree) -> None:
    problem = _record(cs, tree)
    town, inspector = cs.users["town_a1"], cs.users["insp_a"]
    ledger.obligation_note(actor=town, obligation=problem.obligation, text="已安排专人值守",
                           files=[Upload("整改后.png", PNG)], complete=True)  # fmt: skip
    ob = ledger.obligation_return(actor=inspector, obligation=problem.obligation,
                                  reason="照片看不清值守人员")  # fmt: skip
    assert ob.state == ObligationState.ACKNOWLEDGED and ob.times_returned == 1
    ledger.obligation_note(actor=town, obligation=ob, text="补拍照片", complete=True)
    ob = ledger.obligation_verify(actor=inspector, obligation=ob, note="已销号")
    assert ob.state == ObligationState.VERIFIED
    assert ssel.problem_list(actor=inspector, state="verified").get() == problem
    ob = ledger.obligation_reopen(actor=inspector, obligation=ob, reason="复查时无人值守")
    assert ob.state == ObligationState.ACKNOWLEDGED and ob.times_reopened == 1
    # the unit itself may not close its own problem
    with pytest.raises(Forbidden):
        ledger.obligation_verify(actor=town, obligation=ob)


def test_bad_input_names_the_field_and_writes_nothing(cs: Structure, tree: Tree) -> None:
    cases = [
        ({"severity": "awful"}, "severity"),
        ({"site": "  "}, "site"),
        ({"latitude": "north"}, "latitude"),
        ({"latitude": "30.1", "longitude": ""}, "longitude"),
        ({"longitude": "200"}, "longitude"),
        ({"days": 0}, "days"),
    ]
    for change, field in cases:
        with pytest.raises(FieldError) as err:
            _record(cs, tree, **change)
        assert err.value.field == field
    assert not Problem.objects.exists() and not Issue.objects.exists()


def test_a_retried_upload_never_duplicates(cs: Structure, tree: Tree) -> None:
    first = _record(cs, tree, ref="phone-7f3a")
    again = _record(cs, tree, ref="phone-7f3a")
    assert again.pk == first.pk and Problem.objects.count() == 1 and Issue.objects.count() == 1


def test_a_sibling_sees_nothing_and_inspects_nothing_outside_its_district(
    cs: Structure, tree: Tree, clock: Clock
) -> None:
    problem = _record(cs, tree)
    sibling = cs.users["insp_b"]
    assert not ssel.problem_list(actor=sibling).exists()
    assert not ssel.problem_list(actor=cs.users["town_b1"]).exists()
    assert not ssel.problem_obligations(actor=cs.users["town_b1"], now=clock.now()).exists()
    with pytest.raises(Forbidden):
        _record(cs, tree, actor=sibling, inspector_unit=cs.units["insp_b"])
    with pytest.raises(Forbidden):
        ledger.obligation_verify(actor=sibling, obligation=problem.obligation)
    # a department may rectify but records no problems
    with pytest.raises(Forbidden):
        _record(cs, tree, actor=cs.users["transport_a"], inspector_unit=cs.units["transport_a"])


def _closed(cs: Structure, tree: Tree, n: int) -> list[Problem]:
    town, inspector, made = cs.users["town_a1"], cs.users["insp_a"], []
    for i in range(n):
        p = _record(cs, tree, site=f"第{i}号小区", photos=[])
        ledger.obligation_note(actor=town, obligation=p.obligation, text="已整改", complete=True)
        ledger.obligation_verify(actor=inspector, obligation=p.obligation)
        made.append(p)
    return made


def test_a_random_share_of_closed_problems_drawn_for_reinspection(
    cs: Structure, tree: Tree
) -> None:
    _closed(cs, tree, 10)
    _record(cs, tree, site="仍未整改的小区", photos=[])  # open: never drawn
    inspector = cs.users["insp_a"]
    drawn = supervision.reinspection_draw(actor=inspector, region=tree.district_a, share=0.3)
    assert len(drawn) == 3 and all(r.problem.obligation.state == "verified" for r in drawn)
    # the next draw leaves out those still waiting
    more = supervision.reinspection_draw(actor=inspector, region=tree.district_a, share=1.0)
    assert len(more) == 7 and not {r.problem_id for r in drawn} & {r.problem_id for r in more}
    assert supervision.reinspection_draw(actor=inspector, region=tree.district_a) == []
    assert ssel.reinspection_list(actor=cs.users["insp_b"]).count() == 0
    with pytest.raises(Forbidden):
        supervision.reinspection_draw(actor=cs.users["insp_b"], region=tree.district_a)


def test_a_rectification_that_did_not_hold_reopens_the_problem(cs: Structure, tree: Tree) -> None:
    _closed(cs, tree, 2)
    inspector = cs.users["insp_a"]
    held, back = supervision.reinspection_draw(actor=inspector, region=tree.district_a, share=1)
    supervision.reinspection_record(actor=inspector, reinspection=held, held=True)
    with pytest.raises(FieldError):
        supervision.reinspection_record(actor=inspector, reinspection=back, held=False)
    done = supervision.reinspection_record(actor=inspector, reinspection=back, held=False,
                                           note="复查发现入口无人值守")  # fmt: skip
    assert done.held is False
    states = dict(Problem.objects.values_list("pk", "obligation__state"))
    assert states == {held.problem_id: "verified", back.problem_id: "acknowledged"}
    # the same finding sent twice records once; a contrary one is refused
    again = supervision.reinspection_record(actor=inspector, reinspection=back, held=False,
                                            note="复查发现入口无人值守")  # fmt: skip
    assert (
        again.pk == back.pk
        and Problem.objects.get(pk=back.problem_id).obligation.times_reopened == 1
    )
    with pytest.raises(Conflict):
        supervision.reinspection_record(actor=inspector, reinspection=back, held=True)
    assert Reinspection.objects.filter(held__isnull=True).count() == 0


def test_recurrence_by_site_and_kind(cs: Structure, tree: Tree, clock: Clock) -> None:
    for site in ("东街农贸市场", "东街 农贸市场", "ＤＯＮＧ市场", "dong市场"):
        _record(cs, tree, site=site, photos=[])
    _record(cs, tree, site="东街农贸市场", kind=ProblemKind.objects.get(code="MASK"), photos=[])
    rows = ssel.recurrence(actor=cs.users["insp_a"])
    assert [(r.kind, r.times) for r in rows] == [("扫码测温查验不落实", 2)] * 2
    assert ssel.recurrence(actor=cs.users["insp_b"]) == []
    later = clock.now() + dt.timedelta(minutes=1)
    assert ssel.recurrence(actor=cs.users["insp_a"], since=later) == []


def test_the_catalogue_is_kept_by_the_command_office(cs: Structure, users: dict[str, User]) -> None:
    office = cs.users["city_office"]
    kind = supervision.problem_kind_save(
        actor=office, code="queue", name="排队未保持一米线", days=1
    )
    assert kind.code == "QUEUE" and ssel.kind_list().filter(code="QUEUE").exists()
    supervision.problem_kind_save(actor=office, code="QUEUE", name="排队未保持一米线", days=2,
                                  active=False)  # fmt: skip
    assert not ssel.kind_list().filter(code="QUEUE").exists()
    with pytest.raises(Forbidden):
        supervision.problem_kind_save(actor=cs.users["insp_a"], code="X", name="x", days=1)
    with pytest.raises(FieldError):
        supervision.problem_kind_save(actor=office, code="Y", name="y", days=0)
