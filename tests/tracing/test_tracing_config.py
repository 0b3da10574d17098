"""The tracing configuration pages: the command office edits the disease profile and the
measure plans (audited, through the services); everybody else reads them."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from fangkong.core.models import AuditEvent, User
from fangkong.people.measures_models import MeasurePlan
from fangkong.people.services.measures import active_profile
from tests.clients import page_client, zh

pytestmark = pytest.mark.django_db


def _profile_post(**changes: Any) -> dict[str, Any]:
    profile = active_profile()
    data: dict[str, Any] = {
        "name": profile.name,
        "incubation_days": profile.incubation_days,
        "lookback_days": profile.lookback_days,
        "max_generation": profile.max_generation,
        "investigation_hours": profile.investigation_hours,
    }
    for g, key in profile.generation_plans.items():
        data[f"plan_g{g}"] = key
    return data | changes


def test_command_office_edits_the_profile(users: dict[str, User]) -> None:
    client = page_client(users["city"])
    page = client.get("/tracing/config/").content.decode()
    assert 'data-testid="profile-form"' in page and 'data-testid="plan-new"' in page
    r = client.post(
        "/tracing/config/profile/",
        _profile_post(
            incubation_days=10,
            lookback_days=3,
            investigation_hours=12,
            max_generation=2,
            plan_g2="home_monitoring_7",
            plan_g3="tests_3_in_3",  # past the new maximum: dropped
        ),
    )
    assert r.status_code == 302
    profile = active_profile()
    assert (profile.incubation_days, profile.lookback_days, profile.investigation_hours) == (
        10,
        3,
        12,
    )
    assert profile.max_generation == 2
    assert profile.generation_plans == {"1": "centralised_7_home_3", "2": "home_monitoring_7"}
    audit = AuditEvent.objects.get(action="disease_profile.update")
    assert audit.actor_id == users["city"].pk and "max_generation" in audit.details["fields"]
    # bad values come back on their fields and change nothing
    r = client.post("/tracing/config/profile/", _profile_post(max_generation=9, lookback_days=-1))
    assert r.status_code == 422
    assert active_profile().max_generation == 2


def test_others_read_the_configuration_only(users: dict[str, User]) -> None:
    town = page_client(users["town_a1"])
    page = town.get("/tracing/config/").content.decode()
    assert 'data-testid="read-only"' in page and 'data-testid="profile-form"' not in page
    assert 'data-testid="profile-table"' in page and "7+3" in page
    before = active_profile().max_generation
    r = town.post("/tracing/config/profile/", _profile_post(max_generation=1))
    assert r.status_code == 403
    assert zh("Only the command office may change the configuration.") in r.content.decode()
    assert active_profile().max_generation == before
    plan = town.get("/tracing/config/plans/centralised_7_home_3/").content.decode()
    assert 'data-testid="plan-view"' in plan and 'data-testid="plan-form"' not in plan
    r = town.post(
        "/tracing/config/plans/centralised_7_home_3/",
        {"name": "改", "kind_1": "home_quarantine", "days_1": 1},
    )
    assert r.status_code == 403
    assert MeasurePlan.objects.get(key="centralised_7_home_3").name != "改"
    assert not AuditEvent.objects.filter(action__startswith="measure_plan.").exists()
    # configuration is not personal data: an inspector reads it too
    assert page_client(users["inspector"]).get("/tracing/config/").status_code == 200
    assert town.get("/tracing/config/plans/no-such-plan/").status_code == 404


def test_command_office_edits_and_adds_plans(users: dict[str, User]) -> None:
    client = page_client(users["city"])
    page = client.get("/tracing/config/plans/centralised_7_home_3/").content.decode()
    assert 'data-testid="plan-form"' in page and 'value="1, 2, 3, 5, 7, 10"' in page
    r = client.post(
        "/tracing/config/plans/centralised_7_home_3/",
        {
            "key": "ignored",  # the key of a saved plan is fixed
            "name": "14+7",
            "kind_1": "centralised_quarantine",
            "days_1": 14,
            "kind_2": "home_monitoring",
            "days_2": 7,
            "test_days": "1、4，7 14 21",
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()
    plan = MeasurePlan.objects.get(key="centralised_7_home_3")
    assert plan.name == "14+7" and plan.total_days == 21
    assert plan.phases == [
        {"kind": "centralised_quarantine", "days": 14},
        {"kind": "home_monitoring", "days": 7},
    ]
    assert plan.test_offsets == [1, 4, 7, 14, 21]
    assert not MeasurePlan.objects.filter(key="ignored").exists()
    assert AuditEvent.objects.filter(action="measure_plan.update", object_id=plan.key).exists()

    # a test day past the end is the service's error, shown on the field
    r = client.post(
        "/tracing/config/plans/new/",
        {"key": "short", "name": "短", "kind_1": "home_quarantine", "days_1": 3, "test_days": "5"},
    )
    assert r.status_code == 422
    with translation.override("zh-hans"):
        assert _("test days are day numbers from 1 to %(n)s") % {"n": 3} in r.content.decode()
    r = client.post(
        "/tracing/config/plans/new/",
        {
            "key": "short",
            "name": "短",
            "kind_1": "home_quarantine",
            "days_1": 3,
            "test_days": "1 3",
        },
    )
    assert r.status_code == 302
    assert MeasurePlan.objects.get(key="short").active is False  # unticked box: inactive
    # a new plan cannot take an existing key
    r = client.post(
        "/tracing/config/plans/new/",
        {"key": "short", "name": "重复", "kind_1": "testing", "days_1": 3},
    )
    assert r.status_code == 422 and zh("a plan with this key already exists") in r.content.decode()
    assert MeasurePlan.objects.get(key="short").name == "短"


def test_the_page_warns_about_generations_without_a_measure(users: dict[str, User]) -> None:
    MeasurePlan.objects.filter(key="tests_3_in_3").update(active=False)
    page = page_client(users["town_a1"]).get("/tracing/config/").content.decode()
    with translation.override("zh-hans"):
        expected = _(
            "The plan of generation %(g)s (%(key)s) is not active: no measure is proposed."
        ) % {"g": 3, "key": "tests_3_in_3"}
    assert expected in page


def test_config_page_queries(users: dict[str, User], django_assert_num_queries: Any) -> None:
    client = page_client(users["city"])
    client.get("/tracing/config/")
    # session, user, profile, plans, session activity (savepoint, update, release)
    with django_assert_num_queries(7):
        assert client.get("/tracing/config/").status_code == 200
