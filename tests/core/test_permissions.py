"""The permission table itself: the operators' document is current, and the findings of the
security review (issue 8) are refused by the table, through the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fangkong.core.models import Role, User
from fangkong.core.permissions import Forbidden, actions_for, allowed, authorize, rules
from fangkong.core.permissions_doc import DOCS, render
from tests.factories import Tree, UserFactory

ROOT = Path(__file__).resolve().parents[2]


def test_the_operators_document_is_generated_from_the_table() -> None:
    for language, relative in DOCS.items():
        on_disk = (ROOT / relative).read_text(encoding="utf-8")
        assert on_disk == render(language), f"run `fangkong permissions --write` ({relative})"
    assert "`risk_area.change`" in render("en") and "全市" in render("zh-hans")


def test_every_rule_has_a_label_and_grants_only_known_roles() -> None:
    known = set(Role.values)
    for r in rules():
        assert str(r.label) and set(r.grants) <= known, r.action


@pytest.fixture
def grid_worker(tree: Tree) -> User:
    return UserFactory(username="grid_a1", role=Role.GRID_WORKER, region=tree.grid_a1)


@pytest.mark.parametrize(
    "action",
    [
        "case.register",  # confirm a case
        "measure.decide",  # release a centralised quarantine
        "screening.decide",  # confirm screenings
        "person.import",  # import lists
        "assistance.import",
    ],
)
def test_a_grid_worker_may_not_confirm_release_decide_or_import(
    grid_worker: User, tree: Tree, action: str
) -> None:
    assert not allowed(grid_worker, action, region=tree.grid_a1)
    with pytest.raises(Forbidden):
        authorize(grid_worker, action, region=tree.grid_a1)


def test_only_a_city_wide_command_office_changes_risk_areas(users: dict[str, User]) -> None:
    assert allowed(users["city"], "risk_area.change", region=users["city"].region)
    for who in ("district_a", "town_a1", "inspector", "admin"):
        assert not allowed(users[who], "risk_area.change", region=users[who].region), who


def test_scans_are_posted_by_the_points_own_samplers_only(
    tree: Tree, users: dict[str, User], db: Any
) -> None:
    from tests.factories.masstesting import campaign_setup

    setup = campaign_setup(tree, users)
    point = setup.point
    assert allowed(setup.sampler, "scan.upload", institution=point.institution_id)
    for who in ("admin", "inspector", "town_a1", "district_a", "city", "lab"):
        assert not allowed(users[who], "scan.upload", institution=point.institution_id), who


def test_a_sibling_jurisdiction_holds_no_grant_over_the_record(users: dict[str, User]) -> None:
    district_b = users["district_b"]
    a_path = users["town_a1"].region.path
    assert "measure.decide" in actions_for(district_b)
    assert not allowed(district_b, "measure.decide", region=a_path)
    assert allowed(users["district_a"], "measure.decide", region=a_path)


def test_an_unknown_action_is_a_programming_error(users: dict[str, User]) -> None:
    with pytest.raises(KeyError):
        allowed(users["city"], "no.such.action")
