"""Real published texts read into directives: the reports of command meetings and one
command order, as published by county and city news centres (sources on each file's first
line), each with the unit dictionary of its own county. Every department the text tasks
gets a directive, lead and supporting units are told apart, deadlines are read where the
text gives one, and the office confirms them in one step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from fangkong.command import selectors as sel
from fangkong.command.minutes import Proposal, UnitName, propose
from fangkong.command.models import Obligation, Unit, UnitKind, UnitMember
from fangkong.command.services.directives import Directive, directives_confirm
from fangkong.core.models import Role
from tests.conftest import Clock
from tests.factories import Tree, UserFactory

TEXTS = Path(__file__).parent / "minutes"
DEPT, TOWN = UnitKind.DEPARTMENT, UnitKind.TOWN
# code: names (official first, then what the text calls it), kind
WANGQING = {
    "police": (("县公安局", "公安部门"), DEPT),
    "cdc": (("县疾控中心", "疾控部门"), DEPT),
    "civil": (("县民政局", "民政部门"), DEPT),
    "militia": (("县人武部",), DEPT),
    "forestry": (("县林业局",), DEPT),
    "wangqing": (("汪清镇",), TOWN),
    "baicaogou": (("百草沟镇",), TOWN),
}
HANCHUAN = {
    "commerce": (("市商务局",), DEPT),
    "transport": (("市交通运输局", "交通运输局"), DEPT),
    "post": (("市邮政公司", "邮政公司"), DEPT),
    "health": (("市卫健局", "卫健局"), DEPT),
    "police": (("市公安局", "公安局"), DEPT),
    "data": (("市政数局", "政数局"), DEPT),
    "reform": (("市发改局", "发改局"), DEPT),
    "hq": (("汉川市防控指挥部",), UnitKind.HQ),
}
ZHONGXIANG = {
    "police": (("市公安局", "公安局"), DEPT),
    "health": (("市卫健局", "卫健局"), DEPT),
    "market": (("市市场监管局", "市场监管局"), DEPT),
    "yangzi": (("洋梓镇",), TOWN),
    "huji": (("胡集镇",), TOWN),
    "jiukou": (("旧口镇", "旧口"), TOWN),
    "yingzhong": (("郢中街道", "郢中城区"), TOWN),
}


def _dictionary(spec: dict) -> tuple[list[UnitName], dict[int, str]]:
    units = [
        UnitName(pk=n, names=names, kind=kind) for n, (names, kind) in enumerate(spec.values())
    ]
    return units, dict(enumerate(spec))


def _read(name: str, spec: dict, now: dt.datetime) -> list[tuple[list[str], list[str], Proposal]]:
    text = (TEXTS / f"{name}.txt").read_text(encoding="utf-8")
    assert text.startswith("# source: http")
    units, codes = _dictionary(spec)
    return [([codes[pk] for pk in p.lead], [codes[pk] for pk in p.support], p)
            for p in propose(text, units, now)]  # fmt: skip


def test_wangqing_county_leading_group_meeting(clock: Clock) -> None:
    now = clock.now()
    read = _read("wangqing-2020-01-29", WANGQING, now)
    parties = [(lead, support) for lead, support, _ in read]
    assert parties == [
        (["police"], ["cdc"]),  # 由公安部门牵头…疾控部门要紧密配合
        (["civil"], []),  # 民政部门要加强对福利院食堂的消毒
        (["police", "cdc", "civil", "militia", "forestry", "wangqing", "baicaogou"], []),
    ]
    screening = read[0][2]
    assert screening.deadline == now + dt.timedelta(hours=48)
    assert screening.deadline_text == "48小时内" and not screening.needs_deadline
    # the officials who attended ("县公安局局长禹军") are not tasked
    assert all("出席" not in p.text for *_, p in read)


def test_hanchuan_cold_chain_working_group_meeting(clock: Clock) -> None:
    read = _read("hanchuan-2020-12-02", HANCHUAN, clock.now())
    parties = [(lead, support) for lead, support, _ in read]
    everyone = ["commerce", "transport", "post", "health", "police", "data", "reform"]
    assert parties == [
        (everyone, []),  # 各单位要对照工作要求做好自查自改
        (["health"], ["post"]),  # 市卫健局要和邮政公司对接
    ]
    # no date in the text: the office gives each one
    assert all(p.needs_deadline and p.deadline is None for *_, p in read)


def test_zhongxiang_command_order_seven(clock: Clock) -> None:
    read = _read("zhongxiang-order-7", ZHONGXIANG, clock.now())
    parties = [(lead, support) for lead, support, _ in read]
    assert parties == [
        (["yingzhong", "jiukou"], []),
        (["yangzi", "huji"], []),
        (["police"], []),
        (["health"], []),
        (["market"], []),
        (["yangzi", "huji", "jiukou", "yingzhong"], []),
    ]
    sites = read[0][2]
    local = timezone.localtime(sites.deadline) if sites.deadline else None
    assert local is not None and (local.date(), local.time()) == (
        dt.date(2020, 1, 25), dt.time(16, 0))  # fmt: skip


@pytest.mark.django_db
def test_the_office_confirms_a_real_meetings_directives_in_one_step(
    tree: Tree, clock: Clock
) -> None:
    office = Unit.objects.create(code="WQ-OFFICE", name="县防控办", kind=UnitKind.OFFICE,
                                 region=tree.district_a)  # fmt: skip
    user = UserFactory(username="wq_office", role=Role.DISTRICT, region=tree.district_a)
    UnitMember.objects.create(unit=office, user=user)
    for code, (names, kind) in WANGQING.items():
        region = tree.town_a1 if kind == TOWN and code == "wangqing" else tree.district_a
        region = tree.town_a2 if code == "baicaogou" else region
        Unit.objects.create(code=f"WQ-{code}", name=names[0], aliases=list(names[1:]),
                            kind=kind, region=region, superior=office)  # fmt: skip
    text = (TEXTS / "wangqing-2020-01-29.txt").read_text(encoding="utf-8")
    proposals = propose(text, sel.unit_names(actor=user), clock.now())
    by_pk = {u.pk: u for u in Unit.objects.all()}
    week = clock.now() + dt.timedelta(days=7)
    issued = directives_confirm(
        actor=user, issuer=office, title="县疫情防控工作领导小组全体扩大会议",
        held_on=clock.today(), minutes=text, directives=[
            Directive(duty=p.duty, lead=[by_pk[k] for k in p.lead],
                      support=[by_pk[k] for k in p.support], deadline=p.deadline or week)
            for p in proposals
        ],
    )  # fmt: skip
    assert len(issued) == 3
    first = Obligation.objects.filter(issue=issued[0])
    assert sorted(first.values_list("unit__code", "role")) == [
        ("WQ-cdc", "support"), ("WQ-police", "lead")]  # fmt: skip
    assert Obligation.objects.filter(issue=issued[2]).count() == 7
