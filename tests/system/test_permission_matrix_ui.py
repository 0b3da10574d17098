"""The permission matrix for the operator UI: every route outside /api/ × every role × every
jurisdiction relation answers as the table says — 404 outside scope, 403 for a role that may
read but not act, a page (or a redirect after the write) for a role the table allows.

The routes come from the URL configuration, so a new page without an entry in
tests/system/matrix_ui_specs.py fails here. Each call runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from tests.factories.world import World, build_world
from tests.system.matrix_ui_specs import UI, UiOp, ui_path_value
from tests.system.test_permission_matrix import _expected
from tests.system.test_scoping_urls import _url_targets

# thousands of requests: allow for a loaded CI machine beyond the default 300 s
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xdist_group("matrix"),
    pytest.mark.timeout(1200),
]

# A page, a redirect after a write, or a form answered with its errors (400/409/422).
ALLOWED_PAGES = {200, 201, 204, 302, 400, 409, 422, 429}
PUBLIC = {200, 302, 400, 404, 405, 422, 429}


def _ui_routes() -> set[str]:
    return {route for route, _func in _url_targets() if not route.startswith("api/")}


def test_every_ui_route_has_a_matrix_entry() -> None:
    routes = _ui_routes()
    specified = {key.split(" ", 1)[1] for key in UI}
    assert routes - specified == set(), (
        "UI routes without an entry in tests/system/matrix_ui_specs.py"
    )
    assert specified - routes == set(), "entries for UI routes that no longer exist"


def _url(world: World, op: UiOp, route: str) -> str:
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ui_path_value(world, op, m.group(1)), route)
    return "/" + route


def _call(client: Client, method: str, url: str, op: UiOp, world: World) -> int:
    data: dict[str, Any] = {}
    if op.data is not None:
        data.update(op.data(world))
    if op.files is not None:
        data.update(op.files(world))
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url, data)
        transaction.set_rollback(True)
    return int(response.status_code)


def _want(world: World, method: str, op: UiOp, user: Any) -> set[int]:
    if op.action == "public":
        return PUBLIC
    expected = _expected(world, op.as_op(), user)
    if expected == {200}:  # a read: the page, or for a POST read (a look-up) its answer
        if method == "GET":
            return {200, 302} if op.redirects else {200}
        return ALLOWED_PAGES
    # a region chosen in the form outside the caller's jurisdiction: refused, not found, or
    # the form back with the field named (422)
    refused = {s for s in expected if s in {403, 404}}
    if not refused:
        return ALLOWED_PAGES
    return refused | ({422} if 422 in expected else set())


def test_every_ui_route_answers_every_role_and_jurisdiction_as_the_table_says(
    capsys: Any, settings: Any
) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 10**6
    world = build_world()
    client = Client(raise_request_exception=False)
    wrong, cases = [], 0
    for key, op in sorted(UI.items()):
        method, route = key.split(" ", 1)
        url = _url(world, op, route)
        for (role, relation), user in world.users.items():
            client.force_login(user)
            want = _want(world, method, op, user)
            got = _call(client, method, url, op, world)
            cases += 1
            if got not in want:
                wrong.append(f"{key} as {role}/{relation}: {got}, want {sorted(want)}")
    with capsys.disabled():
        print(f"\nUI permission matrix: {cases} (route, role, jurisdiction) cases checked")
    assert cases > 5000
    assert not wrong, f"{len(wrong)} answers differ from the table:\n  " + "\n  ".join(wrong)
