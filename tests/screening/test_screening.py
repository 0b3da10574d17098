"""Screening records: classification by the rule table, measures with the right dates, rule
edits that change only new classifications, person matching, confirm and reject."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import AuditEvent, User
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import ControlMeasure, MeasurePlan
from fangkong.people.models import Person
from fangkong.screening.models import ClassificationRule, ScreeningStatus
from fangkong.screening.services import arrivals as services
from fangkong.screening.services import rules
from tests.factories import Tree, make_person, make_resident_id
from tests.factories.screening import ensure_default_rules, local, make_area, make_screening

NOW = local(2022, 5, 10, 10, 0)
YESTERDAY_EVENING = local(2022, 5, 9, 18, 30)


@pytest.fixture(autouse=True)
def _seeded(db: Any) -> None:
    ensure_default_rules()


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def areas(db: Any) -> None:
    make_area(code="310115", name="上海市浦东新区", level="high", valid_from=local(2022, 4, 1))
    make_area(code="320102", name="南京市玄武区", level="medium", valid_from=local(2022, 5, 1))
    make_area(name="南京南站候车厅", kind="case_place", level="low", valid_from=local(2022, 5, 5))


def _confirm(users: dict[str, User], record: Any) -> Any:
    return services.screening_confirm(actor=users["town_a1"], record=record)


def test_arrival_yesterday_from_high_risk_gets_centralised_quarantine(
    tree: Tree, users: dict[str, User], areas: None, frozen: Any
) -> None:
    record = make_screening(
        users["town_a1"],
        tree.community_a1,
        origin_code="310115101",  # a town inside the high-risk district 310115
        origin_place="上海市浦东新区张江镇",
        arrival_at=YESTERDAY_EVENING,
    )
    assert record.status == ScreeningStatus.PENDING
    assert record.person_id is None  # nothing reaches the registry before confirmation

    record = _confirm(users, record)

    assert record.status == ScreeningStatus.CLASSIFIED
    measure = ControlMeasure.objects.get(pk=record.measure_id)
    assert measure.plan.key == "centralised_7_home_3"
    assert measure.kind == "centralised_quarantine"
    assert (measure.source_type, measure.source_id) == ("screening", str(record.pk))
    # arrived yesterday, found today: the measure starts today and covers 7 + 3 days
    assert measure.start_date == dt.date(2022, 5, 10)
    assert measure.planned_end == dt.date(2022, 5, 19)
    assert measure.phases == [
        {"kind": "centralised_quarantine", "days": 7},
        {"kind": "home_monitoring", "days": 3},
    ]
    assert measure.test_days == [
        "2022-05-10",
        "2022-05-11",
        "2022-05-12",
        "2022-05-14",
        "2022-05-16",
        "2022-05-19",
    ]
    assert measure.state == "proposed"
    snap = record.classification
    assert snap["origin_level"] == "high"
    assert snap["rule"]["name"].startswith("7天内高风险")
    assert snap["plan"]["key"] == "centralised_7_home_3"
    assert snap["measure"]["start"] == "2022-05-10"
    assert snap["measure"]["planned_end"] == "2022-05-19"
    assert [a["code"] for a in snap["origin_areas"]] == ["310115"]
    person = Person.objects.get(pk=record.person_id)
    assert person.region_id == tree.community_a1.pk
    assert AuditEvent.objects.filter(action="screening.confirm", object_id=str(record.pk)).exists()


def test_future_arrival_starts_on_the_arrival_day(
    tree: Tree, users: dict[str, User], areas: None, frozen: Any
) -> None:
    record = make_screening(
        users["town_a1"], tree.community_a1, origin_code="310115", arrival_at=local(2022, 5, 12, 9)
    )
    measure = _confirm(users, record).measure
    assert measure.start_date == dt.date(2022, 5, 12)
    assert measure.planned_end == dt.date(2022, 5, 21)


@pytest.mark.parametrize(
    ("origin_code", "origin_place", "route", "plan"),
    [
        ("320102", "南京市玄武区", [], "home_quarantine_7"),
        # an area without a code is matched by name in the place text
        ("", "江苏省南京市玄武区", [], "home_quarantine_7"),
        # low-risk origin, but the itinerary passed a place a case visited
        ("", "苏州市", [{"place": "南京南站候车厅", "date": "2022-05-06"}], "tests_3_in_3"),
        # ... or a medium-risk area
        ("", "苏州市", [{"code": "320102001", "date": "2022-05-07"}], "tests_3_in_3"),
        # the stay in the risk area was too long ago for the 7-day rule
        ("", "苏州市", [{"code": "320102001", "date": "2022-05-02"}], None),
        # nothing risky at all
        ("", "苏州市", [{"place": "无锡市", "date": "2022-05-07"}], None),
        # a neighbouring district that only shares a prefix with the high-risk one
        ("310116", "上海市金山区", [], None),
    ],
)
def test_rule_table_examples(
    tree: Tree,
    users: dict[str, User],
    areas: None,
    frozen: Any,
    origin_code: str,
    origin_place: str,
    route: list[dict[str, str]],
    plan: str | None,
) -> None:
    record = make_screening(
        users["town_a1"],
        tree.community_a1,
        origin_code=origin_code,
        origin_place=origin_place,
        route=route,
        arrival_at=YESTERDAY_EVENING,
    )
    record = _confirm(users, record)
    assert record.status == ScreeningStatus.CLASSIFIED
    if plan is None:
        assert record.measure_id is None
        assert record.classification["rule"] is None
    else:
        assert record.measure is not None and record.measure.plan.key == plan


def test_areas_are_evaluated_as_they_were_on_the_day(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    # the area was lifted on May 3rd: a stay on May 2nd counted, the arrival on May 9th does not
    make_area(code="440305", level="high", valid_from=local(2022, 4, 1), valid_to=local(2022, 5, 3))
    lifted = make_screening(
        users["town_a1"], tree.community_a1, origin_code="440305", arrival_at=YESTERDAY_EVENING
    )
    assert _confirm(users, lifted).measure_id is None
    # an area declared only after the arrival does not apply to it either
    make_area(code="440306", level="high", valid_from=local(2022, 5, 10, 8))
    later = make_screening(
        users["town_a1"], tree.community_a1, origin_code="440306", arrival_at=YESTERDAY_EVENING
    )
    assert _confirm(users, later).measure_id is None
    # the origin is judged at the arrival time itself: declared an hour after it, no match
    make_area(code="440307", level="high", valid_from=local(2022, 5, 9, 19, 30))
    same_day = make_screening(
        users["town_a1"], tree.community_a1, origin_code="440307", arrival_at=YESTERDAY_EVENING
    )
    assert _confirm(users, same_day).measure_id is None
    # ... while an itinerary stop on that date counts for the whole day
    via = make_screening(
        users["town_a1"],
        tree.community_a1,
        origin_place="苏州市",
        route=[{"code": "440307", "date": "2022-05-09"}],
        arrival_at=YESTERDAY_EVENING,
    )
    assert _confirm(users, via).measure.plan.key == "tests_3_in_3"


def test_editing_a_rule_changes_new_classifications_only(
    tree: Tree, users: dict[str, User], areas: None, frozen: Any
) -> None:
    first = _confirm(
        users,
        make_screening(
            users["town_a1"], tree.community_a1, origin_code="310115", arrival_at=YESTERDAY_EVENING
        ),
    )
    old_measure = ControlMeasure.objects.get(pk=first.measure_id)
    rule = ClassificationRule.objects.get(origin_level="high")
    assert rule.version == 1

    rules.rule_update(
        actor=users["city"],
        rule=rule,
        changes={"plan_key": "home_quarantine_7", "name": "高风险：居家隔离7天"},
    )
    rule.refresh_from_db()
    assert rule.version == 2

    second = _confirm(
        users,
        make_screening(
            users["town_a1"], tree.community_a1, origin_code="310115", arrival_at=YESTERDAY_EVENING
        ),
    )
    assert second.measure.plan.key == "home_quarantine_7"
    assert second.classification["rule"]["version"] == 2
    # the earlier classification and its measure are untouched
    first.refresh_from_db()
    old_measure.refresh_from_db()
    assert first.classification["rule"]["version"] == 1
    assert first.classification["plan"]["key"] == "centralised_7_home_3"
    assert old_measure.plan.key == "centralised_7_home_3"
    assert old_measure.planned_end == dt.date(2022, 5, 19)
    event = AuditEvent.objects.get(action="screening_rule.update")
    assert event.details["before"]["plan"] == "centralised_7_home_3"
    assert event.details["after"]["plan"] == "home_quarantine_7"


def test_an_inactive_or_not_yet_valid_rule_is_skipped(
    tree: Tree, users: dict[str, User], areas: None, frozen: Any
) -> None:
    rule = ClassificationRule.objects.get(origin_level="high")
    rules.rule_update(actor=users["city"], rule=rule, changes={"valid_from": local(2022, 6, 1)})
    record = _confirm(
        users,
        make_screening(
            users["town_a1"], tree.community_a1, origin_code="310115", arrival_at=YESTERDAY_EVENING
        ),
    )
    assert record.measure_id is None
    assert record.classification["origin_level"] == "high"


def test_source_condition(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    rules.rule_create(
        actor=users["city"],
        values={
            "priority": 1,
            "name": "大数据推送人员：居家健康监测",
            "sources": ["big_data"],
            "plan_key": "home_monitoring_7",
        },
    )
    pushed = make_screening(
        users["town_a1"], tree.community_a1, source="big_data", arrival_at=YESTERDAY_EVENING
    )
    walked = make_screening(
        users["town_a1"], tree.community_a1, source="door_to_door", arrival_at=YESTERDAY_EVENING
    )
    assert _confirm(users, pushed).measure.plan.key == "home_monitoring_7"
    assert _confirm(users, walked).measure_id is None


def test_rule_table_is_command_office_only(users: dict[str, User], db: Any) -> None:
    rule = ClassificationRule.objects.first()
    assert rule is not None
    for who in ("district_a", "town_a1", "admin"):
        with pytest.raises(Forbidden):
            rules.rule_update(actor=users[who], rule=rule, changes={"within_days": 14})
    with pytest.raises(FieldError) as bad:
        rules.rule_update(actor=users["city"], rule=rule, changes={"plan_key": "nope"})
    assert bad.value.field == "plan_key"
    with pytest.raises(FieldError):
        rules.rule_update(actor=users["city"], rule=rule, changes={"origin_level": "extreme"})


def test_seeded_rules_match_the_issue(db: Any) -> None:
    rows = [
        (r.origin_level, r.within_days, r.itinerary_hits_risk, r.plan.key if r.plan else None)
        for r in ClassificationRule.objects.order_by("priority")
    ]
    assert rows == [
        ("high", 7, False, "centralised_7_home_3"),
        ("medium", 7, False, "home_quarantine_7"),
        ("low", 7, True, "tests_3_in_3"),
    ]
    assert MeasurePlan.objects.filter(key="centralised_7_home_3").exists()


def test_confirm_matches_an_existing_person_and_never_duplicates(
    tree: Tree, users: dict[str, User], areas: None, frozen: Any
) -> None:
    id_number = make_resident_id()
    known = make_person(tree.grid_a2, name="王五", id_number=id_number)  # lives in the sibling town
    record = make_screening(
        users["town_a1"],
        tree.community_a1,
        name="王五",
        id_number=id_number.lower(),
        origin_code="310115",
        arrival_at=YESTERDAY_EVENING,
    )
    record = _confirm(users, record)
    assert record.person_id == known.pk
    assert Person.objects.count() == 1
    # the measure is the responsibility of the person's own region
    assert record.measure.region_id == tree.grid_a2.pk


def test_confirm_twice_and_reject(tree: Tree, users: dict[str, User], frozen: Any) -> None:
    record = make_screening(users["town_a1"], tree.community_a1, arrival_at=YESTERDAY_EVENING)
    _confirm(users, record)
    with pytest.raises(Conflict):
        _confirm(users, record)
    with pytest.raises(Conflict):
        services.screening_reject(actor=users["town_a1"], record=record, reason="重复")

    other = make_screening(users["town_a1"], tree.community_a1, arrival_at=YESTERDAY_EVENING)
    with pytest.raises(FieldError):
        services.screening_reject(actor=users["town_a1"], record=other, reason=" ")
    other = services.screening_reject(actor=users["town_a1"], record=other, reason="重复报备")
    assert other.status == ScreeningStatus.REJECTED
    assert other.person_id is None and other.measure_id is None


def test_roles_without_personal_data_cannot_screen(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    record = make_screening(users["town_a1"], tree.community_a1, arrival_at=YESTERDAY_EVENING)
    for who in ("admin", "inspector", "lab"):
        with pytest.raises(Forbidden):
            services.screening_confirm(actor=users[who], record=record)


def test_create_checks_destination_scope_and_fields(
    tree: Tree, users: dict[str, User], frozen: Any
) -> None:
    with pytest.raises(FieldError) as outside:
        make_screening(users["town_a1"], tree.community_a2, arrival_at=YESTERDAY_EVENING)
    assert outside.value.field == "destination"
    with pytest.raises(FieldError) as bad_code:
        make_screening(
            users["town_a1"], tree.community_a1, origin_code="3101", arrival_at=YESTERDAY_EVENING
        )
    assert bad_code.value.field == "origin_code"
    with pytest.raises(FieldError) as far:
        make_screening(users["town_a1"], tree.community_a1, arrival_at=local(2023, 1, 1))
    assert far.value.field == "arrival_at"
    with pytest.raises(FieldError) as stop:
        make_screening(
            users["town_a1"],
            tree.community_a1,
            route=[{"place": "X", "date": "yesterday"}],
            arrival_at=YESTERDAY_EVENING,
        )
    assert stop.value.field == "route"


def test_confirm_at_create(tree: Tree, users: dict[str, User], areas: None, frozen: Any) -> None:
    from tests.factories.screening import screening_data

    record = services.screening_create(
        actor=users["community_a1"],
        data=screening_data(
            tree.grid_a1, origin_code="320102", arrival_at=YESTERDAY_EVENING, source="door_to_door"
        ),
        confirm=True,
    )
    assert record.status == ScreeningStatus.CLASSIFIED
    assert record.measure.plan.key == "home_quarantine_7"
    assert record.measure.region_id == tree.grid_a1.pk
