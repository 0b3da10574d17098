"""The daily-report API: a template set up by the office, a town's duty with its figures
pre-filled, a zero report in one call, a refusal naming the field, a sibling that finds
nothing, compliance per unit and day, list endpoints in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.command.models import ReportTemplate
from fangkong.command.services import reports
from tests.clients import ApiClient, api_client
from tests.conftest import Clock
from tests.factories import Tree
from tests.factories.command import Structure, command_structure

API = "/api/v1/command/reports"


@pytest.fixture
def cs(tree: Tree) -> Structure:
    return command_structure(tree)


def _as(cs: Structure, key: str) -> ApiClient:
    return api_client(cs.users[key])


def _morning(clock: Clock) -> None:
    clock.travel(timezone.make_aware(dt.datetime.combine(clock.today(), dt.time(8))))


def _template(cs: Structure, clock: Clock) -> dict:
    made = _as(cs, "office_a").post(f"{API}/templates", {
        "code": "A-TOWN", "name": "镇街日报", "region_code": cs.units["office_a"].region.code,
        "unit_kinds": ["town"], "cutoff": "10:00",
        "starts_on": (clock.today() - dt.timedelta(days=3)).isoformat(),
        "fields": [
            {"key": "control", "figure": "under_control"},
            {"key": "visits", "label": "走访户数"},
        ],
    })  # fmt: skip
    assert made.status_code == 201, made.content
    return made.json()


def test_a_town_confirms_its_report_and_another_sends_a_zero_report(
    cs: Structure, clock: Clock
) -> None:
    _morning(clock)
    template = _template(cs, clock)
    assert [f["label"] for f in template["fields"]][1] == "走访户数"
    town = _as(cs, "town_a1")
    due = town.get(f"{API}/due").json()
    assert [(d["unit"], d["state"], d["known"]) for d in due] == [
        ("东街街道", "due", {"control": 0})
    ]
    day = clock.today().isoformat()
    body = {"template_id": template["id"], "unit_id": cs.units["town_a1"].pk, "day": day,
            "values": {"control": 0, "visits": 12}}  # fmt: skip
    sent = town.post(f"{API}/", body)
    assert (
        sent.status_code == 200 and sent.json()["on_time"] and sent.json()["values"]["visits"] == 12
    )
    # a retry is the same report
    assert town.post(f"{API}/", body).json()["id"] == sent.json()["id"]
    zero = _as(cs, "town_a2").post(
        f"{API}/",
        {
            "template_id": template["id"],
            "unit_id": cs.units["town_a2"].pk,
            "day": day,
            "zero": True,
        },
    )
    assert zero.status_code == 200 and zero.json()["zero"]
    assert town.get(f"{API}/due").json()[0]["state"] == "on_time"


def test_refusals_name_the_field_and_a_sibling_finds_nothing(cs: Structure, clock: Clock) -> None:
    _morning(clock)
    template = _template(cs, clock)
    day = clock.today().isoformat()
    town = _as(cs, "town_a1")
    missing = town.post(f"{API}/", {"template_id": template["id"],
                                    "unit_id": cs.units["town_a1"].pk, "day": day,
                                    "values": {"control": 0}})  # fmt: skip
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "values.visits"
    # district B neither sees district A's template nor may report under it
    sibling = _as(cs, "town_b1")
    assert sibling.get(f"{API}/templates/{template['id']}").status_code == 404
    refused = sibling.post(
        f"{API}/",
        {
            "template_id": template["id"],
            "unit_id": cs.units["town_b1"].pk,
            "day": day,
            "zero": True,
        },
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "template_id"
    # a town may not report for its neighbour
    other = town.post(f"{API}/", {"template_id": template["id"], "unit_id": cs.units["town_a2"].pk,
                                  "day": day, "zero": True})  # fmt: skip
    assert other.status_code in (403, 422)
    assert _as(cs, "office_b").get(f"{API}/").json()["count"] == 0
    # a department does not set up others' reports
    denied = _as(cs, "transport_a").post(f"{API}/templates", {"code": "X", "name": "x",
                                            "region_code": cs.units["town_a1"].region.code,
                                            "unit_kinds": ["community"], "cutoff": "10:00",
                                            "fields": [{"key": "a", "label": "甲"}]})  # fmt: skip
    assert denied.status_code == 403


def test_compliance_names_the_silent_and_the_late(cs: Structure, clock: Clock) -> None:
    _morning(clock)
    template = _template(cs, clock)
    yesterday = clock.today() - dt.timedelta(days=1)
    reports.report_submit(
        actor=cs.users["town_a1"],
        unit=cs.units["town_a1"],
        template=reports_template(template),
        day=yesterday,
        zero=True,
    )
    office = _as(cs, "office_a")
    found = office.get(f"{API}/compliance", start=yesterday, end=clock.today()).json()
    rows = {u["unit"]: u for u in found["units"]}
    assert rows["东街街道"]["late"] == [
        yesterday.isoformat()
    ]  # sent this morning, after its cut-off
    assert rows["南街街道"]["missing"] == [yesterday.isoformat()]
    assert [d["expected"] for d in found["days"]] == [2, 0]
    too_long = _as(cs, "office_a").get(f"{API}/compliance?start=2000-01-01")
    assert too_long.status_code == 422


def reports_template(made: dict) -> ReportTemplate:
    return ReportTemplate.objects.get(pk=made["id"])


def _queries(client: ApiClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_take_a_fixed_number_of_queries(cs: Structure, clock: Clock) -> None:
    _morning(clock)
    template = reports_template(_template(cs, clock))
    office = _as(cs, "office_a")
    urls = (f"{API}/", f"{API}/templates", f"{API}/compliance")
    few = [_queries(office, u) for u in urls]
    for key in ("town_a1", "town_a2"):
        for back in (1, 2):
            reports.report_submit(
                actor=cs.users[key],
                unit=cs.units[key],
                template=template,
                day=clock.today() - dt.timedelta(days=back),
                zero=True,
            )
    assert [_queries(office, u) for u in urls] == few
    # the token, then: count and page; templates; templates, units and reports
    assert few == [3, 2, 4]
