"""The permission matrix, generated from the table and the OpenAPI document: every API
operation × every role × every jurisdiction relation (own, child, parent, sibling, city)
answers as the table says — 404 outside scope, 403 for a role that may read but not act,
anything but 403/404/5xx for a role the table allows.

Each call runs inside a savepoint that is rolled back, so every case sees the same world.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import models, transaction
from django.test import Client

from config.api import api
from fangkong.core.permissions import allowed, rule
from fangkong.core.services import api_token_issue
from tests.factories.world import RELATIONS, World, build_world
from tests.system.matrix_specs import API, BODY_REGION, OPS, Op, path_value

# thousands of requests: allow for a loaded CI machine beyond the default 300 s
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xdist_group("matrix"),
    pytest.mark.timeout(1200),
]

ALLOWED_ANSWERS = {200, 201, 202, 204, 409, 422, 429}


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    found = []
    for path, ops in schema["paths"].items():
        for method in ops:
            found.append((method.upper(), path.removeprefix(API)))
    return found


def test_every_api_operation_has_a_matrix_entry_naming_a_real_action() -> None:
    operations = {f"{m} {p}" for m, p in _operations()}
    assert operations - set(OPS) == set(), (
        "operations without an entry in tests/system/matrix_specs.py"
    )
    assert set(OPS) - operations == set(), "entries for operations that no longer exist"
    for key, op in OPS.items():
        if op.action not in (None, "public"):
            rule(op.action)  # raises for an action the table does not know
        assert op.target is None or op.target in _TARGET_NAMES, key


_TARGET_NAMES = {
    "region", "job", "person", "plan_key", "measure", "area", "zone", "record", "rule",
    "request", "case", "investigation", "contact", "campaign", "point", "tube", "team", "box",
    "batch", "task", "regime", "member", "resident", "file_job", "site", "room", "stay",
    "transfer", "event", "release", "unit", "issue", "obligation", "evidence", "template",
    "problem", "reinspection",
}  # fmt: skip


def _url(world: World, op: Op, path: str) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: path_value(world, op, m.group(1)), path)
    return API + filled


def _campaigns(user: Any) -> Any:
    from fangkong.masstesting.planning.selectors import campaign_list

    return campaign_list(actor=user)


def _templates(user: Any) -> Any:
    from fangkong.command.selectors_reports import template_list

    return template_list(actor=user)


# Kinds whose reading rule is wider than their own region: a campaign over a district is
# seen by every unit inside it, which plans its own part; a report template by every unit
# below the jurisdiction that set it.
VISIBLE_THROUGH = {"campaign": _campaigns, "template": _templates}


def _visible(user: Any, name: str, obj: Any) -> bool:
    if not isinstance(obj, models.Model):
        return True
    if name in VISIBLE_THROUGH:
        return bool(VISIBLE_THROUGH[name](user).filter(pk=obj.pk).exists())
    return bool(type(obj).objects.visible_to(user).filter(pk=obj.pk).exists())


def _where(world: World, op: Op, obj: Any, user: Any) -> tuple[Any, Any]:
    if op.where is not None:
        return op.where(world, user)
    if obj is None or not isinstance(obj, models.Model):
        return None, None
    for attr in ("region_path", "destination_path"):
        if getattr(obj, attr, None):
            return getattr(obj, attr), None
    region = getattr(obj, "region", None)
    if region is not None:
        return region, getattr(obj, "institution_id", None)
    return None, None


def _expected(world: World, op: Op, user: Any) -> set[int]:
    obj = world.objects.get(op.target) if op.target else None
    if obj is not None and not _visible(user, str(op.target), obj):
        return {404}
    if op.action == "public":
        return ALLOWED_ANSWERS
    if op.action is None:
        return {200}
    region, institution = _where(world, op, obj, user)
    if allowed(user, op.action, region=region, institution=institution):
        return ALLOWED_ANSWERS
    if op.where in BODY_REGION:
        # a region named in the body outside the caller's jurisdiction: as if none existed
        return {403, 404, 422}
    return {403}


def _call(client: Client, method: str, url: str, op: Op, world: World, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", **(op.headers or {})}
    kwargs: dict[str, Any] = {"headers": headers}
    if op.query is not None:
        url += "?" + "&".join(f"{k}={v}" for k, v in op.query(world).items())
    if op.files is not None:
        kwargs["data"] = op.files(world)
    elif method != "GET":
        kwargs["data"] = op.body(world) if op.body is not None else {}
        kwargs["content_type"] = "application/json"
    with transaction.atomic():
        response = getattr(client, method.lower())(url, **kwargs)
        transaction.set_rollback(True)
    return int(response.status_code)


def test_every_operation_answers_every_role_and_jurisdiction_as_the_table_says(
    capsys: Any, settings: Any
) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 10**6
    world = build_world()
    tokens = {key: api_token_issue(user=user) for key, user in world.users.items()}
    client = Client(raise_request_exception=False)
    wrong, cases = [], 0
    for method, path in _operations():
        op = OPS[f"{method} {path}"]
        url = _url(world, op, path)
        for (role, relation), user in world.users.items():
            expected = _expected(world, op, user)
            got = _call(client, method, url, op, world, tokens[(role, relation)])
            cases += 1
            if got not in expected:
                want = sorted(expected)
                wrong.append(f"{method} {path} as {role}/{relation}: {got}, want {want}")
    with capsys.disabled():
        print(f"\npermission matrix: {cases} (operation, role, jurisdiction) cases checked")
    assert len(RELATIONS) == 5 and cases > 5000
    assert not wrong, f"{len(wrong)} answers differ from the table:\n  " + "\n  ".join(wrong)
