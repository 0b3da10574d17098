"""Key-group routine testing: regimes, enrolment, derived due dates and weekly compliance."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from django.utils import timezone, translation

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import AuditEvent, Institution, User
from fangkong.core.validators import FieldError
from fangkong.keygroups import selectors as sel
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember
from fangkong.keygroups.sheets import bulletin_export
from fangkong.masstesting.models import RecheckTask, RegistrationCode, SamplingPoint, Tube
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.factories import Tree
from tests.factories.masstesting import campaign_setup, persons_with_codes


@pytest.fixture(autouse=True)
def _english() -> Any:
    # Assertions compare labels; the lead's zh-Hans catalogue must not change them.
    with translation.override("en"):
        yield


def people(tokens: list[str]) -> list[Person]:
    codes = RegistrationCode.objects.filter(token__in=tokens).select_related("person")
    by_token = {c.token: c.person for c in codes}
    return [by_token[t] for t in tokens]


def at_local(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def sample(point: SamplingPoint, actor: User, persons: list[Person], when: dt.datetime) -> None:
    """Scan `persons` into one tube at `point`, through the real ingest."""
    tokens = [RegistrationCode.objects.get(person=p).token for p in persons]
    barcode = uuid.uuid4().hex[:12]
    campaign = point.campaign
    if campaign.starts_at > when:  # the ingest refuses samples from before the campaign
        campaign.starts_at = when - dt.timedelta(hours=1)
        campaign.save(update_fields=["starts_at"])
    result = scan_batch_ingest(
        actor=actor,
        point=point,
        idempotency_key=uuid.uuid4().hex,
        scans=[ScanIn(barcode=barcode, token=t, scanned_at=when) for t in tokens],
    )
    assert result.counts["accepted"] == len(tokens), result.exceptions


def resampled(person: Person, point: SamplingPoint, when: dt.datetime) -> RecheckTask:
    tube = Tube.objects.create(
        campaign=point.campaign,
        barcode=uuid.uuid4().hex[:12],
        point=point,
        capacity=10,
        opened_at=when,
    )
    return RecheckTask.objects.create(
        campaign=point.campaign,
        person=person,
        source_tube=tube,
        region=person.region,
        region_path=person.region_path,
        reason="positive_pool",
        status="sampled",
        sampled_at=when,
    )


@dataclass
class World:
    monday: dt.date  # of the week under test (last ISO week)
    year: int
    week: int
    a: list[Person]  # cold chain, grid A1: A0, A1 at the cold store, A2 self-employed
    b: list[Person]  # cold chain, grid A2 (town A2), no unit
    c: list[Person]  # cold chain, grid B1 (district B)
    m: list[Person]  # medical, grid A1, at the hospital
    cold_store: Institution
    hospital: Institution


@pytest.fixture
def world(tree: Tree, users: dict[str, User]) -> World:
    return build_world(tree, users)


def build_world(tree: Tree, users: dict[str, User]) -> World:
    """Last ISO week's samples of cold-chain and medical members in both districts."""
    city, district_a = users["city"], users["district_a"]
    groups.regime_create(
        actor=city, region=tree.city, key_group="cold_chain", every_days=7, pool_size=5
    )
    groups.regime_create(
        actor=district_a, region=tree.district_a, key_group="medical", every_days=2, pool_size=1
    )
    a = people(persons_with_codes(tree.grid_a1, 3, key_group="cold_chain"))
    b = people(persons_with_codes(tree.grid_a2, 2, key_group="cold_chain"))
    c = people(persons_with_codes(tree.grid_b1, 1, key_group="cold_chain"))
    m = people(persons_with_codes(tree.grid_a1, 1, key_group="medical"))
    persons_with_codes(tree.grid_a1, 2, key_group="")  # not in any key group
    iso = (timezone.localdate() - dt.timedelta(days=7)).isocalendar()
    monday = dt.date.fromisocalendar(iso.year, iso.week, 1)
    groups.members_sync(actor=city, region=tree.city, today=monday - dt.timedelta(days=30))
    cold_store = Institution.objects.create(
        code="CS1", name="东一冷库", kind="cold_store", region=tree.town_a1
    )
    hospital = Institution.objects.create(
        code="H1", name="东城区人民医院", kind="hospital", region=tree.district_a
    )
    for p in a[:2]:
        groups.member_update(actor=city, member=_member(p), unit=cold_store)
    groups.member_update(actor=city, member=_member(a[2]), unit_name="个体经营")
    groups.member_update(actor=city, member=_member(m[0]), unit=hospital)
    setup = campaign_setup(tree, users)
    sample(setup.point, setup.sampler, [a[0]], at_local(monday + dt.timedelta(days=1)))
    sample(setup.point, setup.sampler, [a[1]], at_local(monday - dt.timedelta(days=2)))
    # last Sunday: due again this Sunday, so never overdue whatever weekday the suite runs
    sample(setup.other, setup.sampler, [b[0]], at_local(monday + dt.timedelta(days=6)))
    sample(setup.point, setup.sampler, [m[0]], at_local(monday))
    resampled(a[2], setup.point, at_local(monday + dt.timedelta(days=2)))
    # the medical worker's second test of the week, in another campaign
    second = campaign_setup(tree, users)
    sample(second.point, second.sampler, [m[0]], at_local(monday + dt.timedelta(days=6), 21))
    return World(monday, iso.year, iso.week, a, b, c, m, cold_store, hospital)


def _member(p: Person, group: str = "") -> KeyGroupMember:
    qs = KeyGroupMember.objects.filter(person=p)
    return qs.get(key_group=group) if group else qs.get()


# -- regimes ----------------------------------------------------------------------------------


def test_regime_rules_roles_and_audit(tree: Tree, users: dict[str, User]) -> None:
    regime = groups.regime_create(
        actor=users["town_a1"], region=tree.town_a1, key_group="delivery", every_days=7
    )
    assert AuditEvent.objects.filter(action="keygroup_regime.create", object_id=regime.pk).exists()
    with pytest.raises(Conflict):
        groups.regime_create(
            actor=users["town_a1"], region=tree.town_a1, key_group="delivery", every_days=3
        )
    with pytest.raises(Forbidden):  # a sibling town
        groups.regime_create(
            actor=users["town_a2"], region=tree.town_a1, key_group="medical", every_days=7
        )
    with pytest.raises(Forbidden):  # a role that plans nothing
        groups.regime_create(
            actor=users["community_a1"], region=tree.community_a1, key_group="medical", every_days=7
        )
    with pytest.raises(FieldError) as err:
        groups.regime_create(
            actor=users["city"], region=tree.city, key_group="astronaut", every_days=7
        )
    assert err.value.field == "key_group"
    with pytest.raises(FieldError) as err:
        groups.regime_update(actor=users["city"], regime=regime, pool_size=3)
    assert err.value.field == "pool_size"
    groups.regime_update(actor=users["town_a1"], regime=regime, every_days=3)
    done = groups.regime_deactivate(actor=users["town_a1"], regime=regime)
    assert not done.active and done.every_days == 3
    updates = AuditEvent.objects.filter(action="keygroup_regime.update", object_id=regime.pk)
    assert [e.details for e in updates.order_by("seq")] == [
        {"every_days": [7, 3]},
        {"active": [True, False]},
    ]


def test_most_specific_active_regime_wins(tree: Tree, users: dict[str, User]) -> None:
    city = groups.regime_create(
        actor=users["city"], region=tree.city, key_group="cold_chain", every_days=7
    )
    town = groups.regime_create(
        actor=users["town_a1"], region=tree.town_a1, key_group="cold_chain", every_days=3
    )
    rules = sel.rules_for(actor=users["city"])
    assert rules.for_member("cold_chain", tree.grid_a1.path).regime_id == town.pk  # type: ignore[union-attr]
    assert rules.for_member("cold_chain", tree.grid_a2.path).regime_id == city.pk  # type: ignore[union-attr]
    assert rules.for_member("medical", tree.grid_a1.path) is None
    # the town sees the city's regime applied to its members, though it cannot edit it
    assert sel.rules_for(actor=users["town_a2"]).for_member("cold_chain", tree.grid_a2.path)
    groups.regime_deactivate(actor=users["town_a1"], regime=town)
    rules = sel.rules_for(actor=users["city"])
    assert rules.for_member("cold_chain", tree.grid_a1.path).regime_id == city.pk  # type: ignore[union-attr]


# -- enrolment --------------------------------------------------------------------------------


def test_members_sync_is_idempotent_and_scoped(
    tree: Tree, users: dict[str, User], django_assert_num_queries: Any
) -> None:
    groups.regime_create(
        actor=users["city"], region=tree.city, key_group="cold_chain", every_days=7
    )
    persons_with_codes(tree.grid_a1, 40, key_group="cold_chain")
    persons_with_codes(tree.grid_a2, 5, key_group="cold_chain")
    persons_with_codes(tree.grid_a1, 5, key_group="delivery")  # no regime
    # regimes, existing members, persons, one insert, the audit row (5) and 4 savepoints
    with django_assert_num_queries(12):
        assert groups.members_sync(actor=users["town_a1"], region=tree.town_a1) == 40
    assert groups.members_sync(actor=users["town_a1"], region=tree.town_a1) == 0
    assert groups.members_sync(actor=users["city"], region=tree.city) == 5
    assert KeyGroupMember.objects.count() == 45
    with pytest.raises(Forbidden):
        groups.members_sync(actor=users["town_a2"], region=tree.town_a1)


def test_member_enrol_and_unit(tree: Tree, users: dict[str, User]) -> None:
    groups.regime_create(actor=users["city"], region=tree.city, key_group="delivery", every_days=7)
    person = people(persons_with_codes(tree.grid_a1, 1))[0]
    inst = Institution.objects.create(
        code="E1", name="闪送站", kind="enterprise", region=tree.town_a1
    )
    member = groups.member_enrol(actor=users["town_a1"], person=person, key_group="delivery")
    assert member.unit is None and member.enrolled_on == timezone.localdate()
    again = groups.member_enrol(
        actor=users["town_a1"], person=person, key_group="delivery", unit=inst
    )
    assert again.pk == member.pk and again.unit == inst
    with pytest.raises(FieldError) as err:  # a sibling town's person is not theirs to enrol
        groups.member_enrol(actor=users["town_a2"], person=person, key_group="delivery")
    assert err.value.field == "person"
    with pytest.raises(FieldError) as err:
        groups.member_enrol(actor=users["town_a1"], person=person, key_group="medical")
    assert err.value.field == "key_group"
    other = Institution.objects.create(
        code="E2", name="西站", kind="enterprise", region=tree.town_a2
    )
    with pytest.raises(FieldError) as err:
        groups.member_update(actor=users["town_a1"], member=member, unit=other)
    assert err.value.field == "unit"


def test_members_import_reports_rows(tree: Tree, users: dict[str, User]) -> None:
    from tests.factories import make_person

    groups.regime_create(
        actor=users["city"], region=tree.city, key_group="cold_chain", every_days=7
    )
    ids = ["110105199001011234", "110105199202023456"]
    from stdnum.cn import ric

    ids = [i[:-1] + ric.calc_check_digit(i[:-1] + "0") for i in ids]
    make_person(tree.grid_a1, id_number=ids[0])
    make_person(tree.grid_b1, id_number=ids[1], name="李四")
    Institution.objects.create(code="CS9", name="东一冷库", kind="cold_store", region=tree.town_a1)
    rows = [
        ("身份证号", "重点人群", "单位"),
        (ids[0], "冷链从业人员", "东一冷库"),
        (ids[1], "cold_chain", ""),  # district B: not the town's
        ("", "cold_chain", ""),
        (ids[0], "宇航员", ""),
        (None, None, None),
    ]
    report = groups.members_import(actor=users["town_a1"], rows=rows)
    assert report.rows == 4 and report.enrolled == 1
    assert [(r, f) for r, f, _w in report.errors] == [
        (3, "id_number"),
        (4, "id_number"),
        (5, "key_group"),
    ]
    member = KeyGroupMember.objects.get()
    assert member.unit is not None and member.unit.name == "东一冷库"
    missing = groups.members_import(actor=users["town_a1"], rows=[("姓名",)])
    assert [f for _r, f, _w in missing.errors] == ["id_number", "key_group"]


# -- due dates and compliance -----------------------------------------------------------------


def test_due_dates_and_overdue(tree: Tree, users: dict[str, User], world: World) -> None:
    city = users["city"]
    rules = sel.rules_for(actor=city)
    today = world.monday + dt.timedelta(days=7)  # the Monday after the week
    rows = {
        r.member.person_id: r
        for r in sel.member_rows(sel.member_list(actor=city), rules=rules, today=today)
    }
    a0 = rows[world.a[0].pk]
    assert a0.every_days == 7 and a0.due_on == world.monday + dt.timedelta(days=8)
    assert not a0.overdue
    a1 = rows[world.a[1].pk]
    assert a1.due_on == world.monday + dt.timedelta(days=5) and a1.overdue
    assert rows[world.a[2].pk].due_on == world.monday + dt.timedelta(days=9)  # the recheck
    # never tested: due on the day of enrolment, long past
    assert rows[world.b[1].pk].last_test is None and rows[world.b[1].pk].overdue
    m0 = rows[world.m[0].pk]
    assert m0.every_days == 2 and m0.due_on == world.monday + dt.timedelta(days=8)
    late = sel.member_list(actor=city, overdue=True, today=today, rules=rules)
    assert {m.person_id for m in late} == {world.a[1].pk, world.b[1].pk, world.c[0].pk}
    on_time = sel.member_list(actor=city, overdue=False, today=today, rules=rules)
    assert {m.person_id for m in on_time} == {
        world.a[0].pk,
        world.a[2].pk,
        world.b[0].pk,
        world.m[0].pk,
    }
    town = sel.member_list(actor=users["town_a2"], overdue=True, today=today)
    assert {m.person_id for m in town} == {world.b[1].pk}


def test_weekly_compliance_numbers(
    users: dict[str, User], world: World, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(7):
        c = sel.weekly_compliance(actor=users["city"], year=world.year, week=world.week)
    table = {(r.unit_label, r.key_group): (r.members, r.tested, r.not_tested) for r in c.rows}
    assert table == {
        ("东一冷库", "cold_chain"): (2, 1, 1),
        ("东城区人民医院", "medical"): (1, 0, 1),  # 2 tests of the 4 the week needs
        ("个体经营", "cold_chain"): (1, 1, 0),
        ("No unit", "cold_chain"): (3, 1, 2),
    }
    assert c.rows[-1].unit_key == sel.NO_UNIT
    assert [(g.key_group, g.members, g.tested) for g in c.by_group] == [
        ("cold_chain", 6, 3),
        ("medical", 1, 0),
    ]
    assert (c.total.members, c.total.tested, c.total.percent) == (7, 3, 42.9)
    lag = {x.person_id: x for x in c.laggards}
    assert set(lag) == {world.a[1].pk, world.b[1].pk, world.c[0].pk, world.m[0].pk}
    assert lag[world.m[0].pk].tests_in_window == 2 and lag[world.m[0].pk].tests_required == 4
    assert lag[world.a[1].pk].last_test == world.monday - dt.timedelta(days=2)
    assert lag[world.b[1].pk].last_test is None
    assert lag[world.a[1].pk].name == "p*" and lag[world.a[1].pk].id_number == "1***"


def test_compliance_is_scoped(users: dict[str, User], world: World) -> None:
    town = sel.weekly_compliance(actor=users["town_a2"], year=world.year, week=world.week)
    assert [(r.unit_label, r.members, r.tested) for r in town.rows] == [("No unit", 2, 1)]
    assert {x.person_id for x in town.laggards} == {world.b[1].pk}
    west = sel.weekly_compliance(actor=users["district_b"], year=world.year, week=world.week)
    assert [(r.members, r.tested) for r in west.rows] == [(1, 0)]
    assert sel.member_units(actor=users["district_b"]) == [(sel.NO_UNIT, "No unit")]
    assert sel.weekly_compliance(actor=users["admin"], year=world.year, week=world.week).rows == []


def test_a_week_before_enrolment_counts_nobody(users: dict[str, User], world: World) -> None:
    early = world.monday - dt.timedelta(days=60)
    iso = early.isocalendar()
    c = sel.weekly_compliance(actor=users["city"], year=iso.year, week=iso.week)
    assert c.total.members == 0 and c.rows == []


def test_bulletin_workbook_and_audit(tree: Tree, users: dict[str, User], world: World) -> None:
    name, data = bulletin_export(
        actor=users["district_a"], year=world.year, week=world.week, region=None
    )
    assert name == f"keygroup-bulletin-{world.year}-W{world.week:02d}.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert "东城区" in ws["A1"].value and f"W{world.week:02d}" in ws["A1"].value
    assert [c.value for c in ws[3]] == [
        "Unit",
        "Key group",
        "Members",
        "Tested on time",
        "Not tested",
        "Compliance",
    ]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert body[0] == ["东一冷库", "Cold-chain worker", 2, 1, 1, 0.5]
    assert body[-1][0] == "Total" and body[-1][2:5] == [6, 3, 3]
    assert ws.cell(row=4, column=6).number_format == "0.0%"
    lag = wb.worksheets[1]
    names = [row[2] for row in lag.iter_rows(min_row=3, values_only=True)]
    assert names == ["p*", "p*", "p*"]  # masked, district A only
    ids = {row[3] for row in lag.iter_rows(min_row=3, values_only=True)}
    assert ids == {"1***"}
    event = AuditEvent.objects.get(action="keygroup_bulletin.export")
    assert event.actor == users["district_a"]
    assert event.details["not_tested"] == 3


def test_routine_round_creates_a_group_campaign(tree: Tree, users: dict[str, User]) -> None:
    regime = groups.regime_create(
        actor=users["city"], region=tree.city, key_group="medical", every_days=2, pool_size=1
    )
    start = timezone.now()
    campaign = groups.routine_round_start(
        actor=users["city"], regime=regime, hours=12, starts_at=start
    )
    assert campaign.key_groups == ["medical"] and campaign.group_pool_sizes == {"medical": 1}
    assert campaign.pool_size == 1 and campaign.ends_at - campaign.starts_at == dt.timedelta(
        hours=12
    )
    with pytest.raises(Forbidden):
        groups.routine_round_start(actor=users["town_a1"], regime=regime)
    groups.regime_deactivate(actor=users["city"], regime=regime)
    with pytest.raises(Conflict):
        groups.routine_round_start(actor=users["city"], regime=regime)


def test_parse_week() -> None:
    assert sel.parse_week("2026-W47") == (2026, 47)
    with pytest.raises(ValueError):
        sel.parse_week("2026-W60")
    assert sel.mask_name("欧阳明华", keep_last=False) == "欧***"


def test_tests_owed_in_a_week_count_from_enrolment() -> None:
    sunday = dt.date(2026, 11, 22)
    monday, saturday = sunday - dt.timedelta(days=6), sunday - dt.timedelta(days=1)
    assert sel.required_tests(2, sunday) == (monday, 4)
    assert sel.required_tests(7, sunday) == (monday, 1)
    assert sel.required_tests(14, sunday) == (sunday - dt.timedelta(days=13), 1)
    # enrolled on Saturday under an every-2-days regime: one test owed, not four
    assert sel.required_tests(2, sunday, saturday) == (saturday, 1)
    assert sel.required_tests(2, sunday, monday - dt.timedelta(days=30)) == (monday, 4)


def test_enrolment_agrees_with_the_registry_key_group(tree: Tree, users: dict[str, User]) -> None:
    for group in ("delivery", "medical"):
        groups.regime_create(actor=users["city"], region=tree.city, key_group=group, every_days=7)
    unlisted = people(persons_with_codes(tree.grid_a1, 1))[0]
    medic = people(persons_with_codes(tree.grid_a1, 1, key_group="medical"))[0]
    groups.member_enrol(actor=users["town_a1"], person=unlisted, key_group="delivery")
    unlisted.refresh_from_db()
    assert unlisted.key_group == "delivery"  # so the group's routine round can sample them
    with pytest.raises(FieldError) as err:
        groups.member_enrol(actor=users["town_a1"], person=medic, key_group="delivery")
    assert err.value.field == "key_group"
    assert not KeyGroupMember.objects.filter(person=medic).exists()
