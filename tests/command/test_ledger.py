"""The obligation ledger: one order to eight units, each unit's queue, acknowledgement time,
progress with evidence, completion, verification or sending back, reopening, the derived
ladder (reminder, overdue, escalated to the superior) as the clock moves, counts equal to
their lists, and who may not act."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from fangkong.command import selectors as sel
from fangkong.command.ladder import Stage
from fangkong.command.models import Evidence, IssueKind, ObligationState
from fangkong.command.services import ledger
from fangkong.command.services.evidence import Upload, evidence_path
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, command_structure

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EIGHT = ("office_a", "office_b", "transport_a", "health_a", "police_a", "town_a1", "town_a2",
         "town_b1")  # fmt: skip


@pytest.fixture
def cs(tree: Tree, settings: Any, tmp_path: Path) -> Structure:
    settings.DATA_DIR = tmp_path
    return command_structure(tree)


def _order(cs: Structure, clock: Clock, *, units: tuple[str, ...] = EIGHT, hours: int = 48) -> Any:
    return ledger.issue_create(
        actor=cs.users["city_office"],
        issuer=cs.units["city_office"],
        kind=IssueKind.ORDER,
        title="全面排查来返人员",
        body="于本周内完成辖区来返人员摸底排查，报送台账。",
        evidence_expected="排查台账",
        deadline=clock.now() + dt.timedelta(hours=hours),
        parts=[ledger.Part(unit=cs.units[k]) for k in units],
    )


def _mine(cs: Structure, key: str, clock: Clock) -> Any:
    return sel.my_queue(actor=cs.users[key], now=clock.now()).get(unit=cs.units[key])


def test_an_order_to_eight_units_lands_in_each_units_queue(cs: Structure, clock: Clock) -> None:
    issue = _order(cs, clock)
    assert issue.number.startswith(f"LING-{clock.now().year}-")
    for key in EIGHT:
        queue = list(sel.my_queue(actor=cs.users[key], now=clock.now()))
        assert [(o.unit_id, o.stage) for o in queue] == [(cs.units[key].pk, Stage.ON_TRACK)]
        assert queue[0].duty == issue.body
    assert AuditEvent.objects.filter(action="command.order.issue", object_id=str(issue.pk)).exists()


def test_the_working_of_an_obligation_from_acknowledgement_to_verification(
    cs: Structure, clock: Clock
) -> None:
    issue = _order(cs, clock)
    clock.travel(dt.timedelta(hours=1))
    town = _mine(cs, "town_a1", clock)
    ledger.obligation_acknowledge(actor=cs.users["town_a1"], obligation=town)
    ledger.obligation_acknowledge(actor=cs.users["town_a1"], obligation=town)  # a retry
    town.refresh_from_db()
    assert town.acknowledged_at - town.issued_at >= dt.timedelta(hours=1)
    ledger.obligation_note(
        actor=cs.users["town_a1"], obligation=town, text="已排查3个小区",
        files=[Upload("现场.png", PNG)],
    )  # fmt: skip
    ledger.obligation_note(
        actor=cs.users["town_a1"], obligation=town, text="排查完毕", link="/people/",
        complete=True,
    )  # fmt: skip
    awaiting = sel.my_queue(actor=cs.users["city_office"], now=clock.now())
    assert [(o.pk, o.stage) for o in awaiting] == [(town.pk, Stage.AWAITING)]
    with pytest.raises(Forbidden):  # the district office did not issue it
        ledger.obligation_verify(actor=cs.users["office_a"], obligation=town)
    ledger.obligation_verify(actor=cs.users["city_office"], obligation=town)
    kinds = [e.kind for e in sel.obligation_get_qs(actor=cs.users["town_a1"], now=clock.now())
             .get(pk=town.pk).events.all()]  # fmt: skip
    assert kinds == ["issued", "acknowledged", "note", "completed", "verified"]
    stored = Evidence.objects.get(event__obligation=town)
    assert evidence_path(stored).read_bytes() == PNG and stored.content_type == "image/png"
    with pytest.raises(FieldError) as why:
        ledger.obligation_reopen(actor=cs.users["city_office"], obligation=town, reason=" ")
    assert why.value.field == "reason"
    ledger.obligation_reopen(actor=cs.users["city_office"], obligation=town, reason="复查发现遗漏")
    town.refresh_from_db()
    assert (town.state, town.times_reopened) == (ObligationState.ACKNOWLEDGED, 1)
    assert (
        sel.issue_list(actor=cs.users["city_office"], now=clock.now()).get(pk=issue.pk).units == 8
    )


def test_send_back_and_the_refusals(cs: Structure, clock: Clock) -> None:
    _order(cs, clock)
    town = _mine(cs, "town_a2", clock)
    with pytest.raises(Conflict):
        ledger.obligation_verify(actor=cs.users["city_office"], obligation=town)
    with pytest.raises(FieldError) as empty:
        ledger.obligation_note(actor=cs.users["town_a2"], obligation=town, text="", complete=True)
    assert empty.value.field == "text"
    with pytest.raises(FieldError) as fake:
        ledger.obligation_note(
            actor=cs.users["town_a2"], obligation=town, text="照片",
            files=[Upload("photo.png", b"MZ\x90\x00 not a picture")],
        )  # fmt: skip
    assert fake.value.field == "files"
    with pytest.raises(FieldError):
        ledger.obligation_note(actor=cs.users["town_a2"], obligation=town, text="x",
                               link="https://evil.example/")  # fmt: skip
    with pytest.raises(Forbidden):  # another town does not act for town A2
        ledger.obligation_acknowledge(actor=cs.users["town_a1"], obligation=town)
    ledger.obligation_note(actor=cs.users["town_a2"], obligation=town, text="完成", complete=True)
    ledger.obligation_return(actor=cs.users["city_office"], obligation=town, reason="缺台账")
    town.refresh_from_db()
    assert (town.state, town.times_returned, town.completed_at) == (
        ObligationState.ACKNOWLEDGED, 1, None)  # fmt: skip


def test_who_may_issue(cs: Structure, clock: Clock, users: dict[str, User]) -> None:
    deadline = clock.now() + dt.timedelta(days=1)
    part = [ledger.Part(unit=cs.units["town_a1"])]
    with pytest.raises(Forbidden):  # a department's role issues no orders
        ledger.issue_create(actor=cs.users["transport_a"], issuer=cs.units["transport_a"],
                            kind="order", title="x", deadline=deadline, parts=part)  # fmt: skip
    with pytest.raises(Forbidden):  # district B's office cannot order district A's town
        ledger.issue_create(actor=cs.users["office_b"], issuer=cs.units["office_b"],
                            kind="order", title="x", deadline=deadline, parts=part)  # fmt: skip
    with pytest.raises(Forbidden):  # a command office user who does not act for the unit
        ledger.issue_create(actor=users["city"], issuer=cs.units["city_office"],
                            kind="order", title="x", deadline=deadline, parts=part)  # fmt: skip
    with pytest.raises(FieldError) as past:
        ledger.issue_create(
            actor=cs.users["office_a"],
            issuer=cs.units["office_a"],
            kind="order",
            title="x",
            deadline=clock.now() - dt.timedelta(minutes=1),
            parts=part,
        )
    assert past.value.field == "deadline"
    with pytest.raises(FieldError) as none:
        ledger.issue_create(actor=cs.users["office_a"], issuer=cs.units["office_a"], kind="order",
                            title="x", deadline=deadline, parts=[])  # fmt: skip
    assert none.value.field == "units"


def test_the_ladder_moves_with_the_clock_and_counts_equal_lists(
    cs: Structure, clock: Clock
) -> None:
    _order(cs, clock, hours=48)
    done = _mine(cs, "health_a", clock)
    ledger.obligation_note(actor=cs.users["health_a"], obligation=done, text="完成", complete=True)
    city = cs.users["city_office"]

    def stages() -> dict[str, int]:
        qs = sel.obligation_list(actor=city, now=clock.now())
        counts = sel.stage_counts(qs, clock.now())
        for stage in (*Stage.values, "late"):
            listed = sel.obligation_list(actor=city, now=clock.now(), stage=stage)
            assert counts[stage] == listed.count() == len(list(listed)), stage
        return {k: v for k, v in counts.items() if v and k not in ("total",)}

    assert stages() == {"on_track": 7, "awaiting": 1}
    clock.travel(dt.timedelta(hours=36))  # 12 h before the deadline: the reminder
    assert stages() == {"due_soon": 7, "awaiting": 1}
    clock.travel(dt.timedelta(hours=13))  # an hour past it
    assert stages() == {"overdue": 7, "awaiting": 1, "late": 7}
    assert not sel.my_queue(actor=cs.users["office_a"], now=clock.now()).exclude(
        unit=cs.units["office_a"]).exists()  # fmt: skip
    clock.travel(dt.timedelta(hours=24))  # past the escalation time: to each one's superior
    assert stages() == {"escalated": 7, "awaiting": 1, "late": 7}
    district_a = sel.my_queue(actor=cs.users["office_a"], now=clock.now())
    assert {o.unit.name for o in district_a} == {
        "东城区防控办", "东城区交通局", "东城区公安分局", "东街街道", "南街街道"}  # fmt: skip
    district_b = sel.my_queue(actor=cs.users["office_b"], now=clock.now())
    assert {o.unit.name for o in district_b} == {"西城区防控办", "西街街道"}


def test_a_sibling_town_sees_none_of_another_towns_obligations(cs: Structure, clock: Clock) -> None:
    _order(cs, clock)
    town_b = cs.users["town_b1"]
    visible = sel.obligation_list(actor=town_b, now=clock.now())
    assert [o.unit_id for o in visible] == [cs.units["town_b1"].pk]
    assert not sel.issue_list(actor=town_b, now=clock.now()).exists()
    assert not sel.evidence_get_qs(actor=town_b).exists()
    assert {u.pk for u in sel.unit_list(actor=town_b)} == {cs.units["town_b1"].pk}


def test_cancel_an_obligation(cs: Structure, clock: Clock) -> None:
    _order(cs, clock, units=("town_a1", "town_a2"))
    town = _mine(cs, "town_a1", clock)
    ledger.obligation_cancel(actor=cs.users["city_office"], obligation=town, reason="合并办理")
    assert not sel.my_queue(actor=cs.users["town_a1"], now=clock.now()).exists()
    with pytest.raises(Conflict):
        ledger.obligation_acknowledge(actor=cs.users["town_a1"], obligation=town)
