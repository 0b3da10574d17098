"""Every app's object routes, walked as outsiders: a user of every role sitting in a sibling
jurisdiction (community A2 of the matrix world, whose objects are in A1 and beyond) asks for
every object an API operation or a page addresses and gets 404, as if it did not exist.

The routes are generated from the URL configuration and the OpenAPI document, grouped by the
app whose module answers them, so a new app's routes are walked the day they exist (and a
route without a matrix entry fails the permission matrix first). An object the sibling may
legitimately see (a campaign over the whole district) is named in VISIBLE_THROUGH of the
permission matrix and skipped here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from django.test import Client

from config.api import api
from fangkong.core.services import api_token_issue
from tests.factories.world import World, build_world
from tests.system.matrix_specs import API, OPS, Op
from tests.system.matrix_ui_specs import UI, UiOp
from tests.system.test_permission_matrix import _call as api_call
from tests.system.test_permission_matrix import _url as api_url
from tests.system.test_permission_matrix import _visible
from tests.system.test_permission_matrix_ui import _call as ui_call
from tests.system.test_permission_matrix_ui import _url as ui_url
from tests.system.test_scoping_urls import _url_targets

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("matrix"), pytest.mark.timeout(900)]


def _app(module: str) -> str:
    return module.split(".")[1] if module.startswith("fangkong.") else module.split(".")[0]


def _api_routes() -> dict[str, list[tuple[str, str, Op]]]:
    """app -> (method, path, op) of every API operation that addresses an object."""
    by_app: dict[str, list[tuple[str, str, Op]]] = defaultdict(list)
    for path, ops in api.get_openapi_schema()["paths"].items():
        for method, spec in ops.items():
            op = OPS[f"{method.upper()} {path.removeprefix(API)}"]
            if op.target is not None:
                app = spec["operationId"].split("_")[1]
                by_app[app].append((method.upper(), path.removeprefix(API), op))
    return by_app


def _ui_routes() -> dict[str, list[tuple[str, str, UiOp]]]:
    """app -> (method, route, op) of every page that addresses an object."""
    modules = {route: func.__module__ for route, func in _url_targets()}
    by_app: dict[str, list[tuple[str, str, UiOp]]] = defaultdict(list)
    for key, op in UI.items():
        method, route = key.split(" ", 1)
        if op.target is not None and route in modules:
            by_app[_app(modules[route])].append((method, route, op))
    return by_app


API_ROUTES, UI_ROUTES = _api_routes(), _ui_routes()
APPS = sorted(set(API_ROUTES) | set(UI_ROUTES))


def test_every_app_with_objects_is_walked() -> None:
    assert {"people", "screening", "tracing", "masstesting", "keygroups", "core"} <= set(APPS)


def _outsiders(world: World) -> list[Any]:
    return [user for (_role, relation), user in world.users.items() if relation == "sibling"]


def _walk_api(world: World, app: str, client: Client) -> tuple[int, list[str]]:
    cases, wrong = 0, []
    for user in _outsiders(world):
        token = api_token_issue(user=user)
        for method, path, op in API_ROUTES.get(app, []):
            if _visible(user, str(op.target), world.objects.get(op.target)):
                continue
            got = api_call(client, method, api_url(world, op, path), op, world, token)
            cases += 1
            if got != 404:
                wrong.append(f"{method} {path} as {user.username}: {got}")
    return cases, wrong


def _walk_ui(world: World, app: str, client: Client) -> tuple[int, list[str]]:
    cases, wrong = 0, []
    for user in _outsiders(world):
        client.force_login(user)
        for method, route, op in UI_ROUTES.get(app, []):
            if _visible(user, str(op.target), world.objects.get(op.target)):
                continue
            got = ui_call(client, method, ui_url(world, op, route), op, world)
            cases += 1
            if got != 404:
                wrong.append(f"{method} {route} as {user.username}: {got}")
    return cases, wrong


@pytest.mark.parametrize("app", APPS)
def test_an_outsider_finds_nothing_of_the_app(app: str, settings: Any) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 10**6
    world = build_world()
    client = Client(raise_request_exception=False)
    api_cases, api_wrong = _walk_api(world, app, client)
    ui_cases, ui_wrong = _walk_ui(world, app, client)
    assert api_cases + ui_cases > 0, f"{app}: no object route was walked"
    wrong = api_wrong + ui_wrong
    assert not wrong, f"{app}: {len(wrong)} object routes answered an outsider:\n  " + "\n  ".join(
        wrong
    )
