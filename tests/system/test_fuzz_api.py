"""Schemathesis over the whole OpenAPI document, authenticated as a town user: no generated
request, valid or not, may get a server error.

Every operation gets positive cases (valid by the schema, path parameters pointing at the
matrix world's real objects, so requests reach the services rather than stopping at 404) and
negative cases (invalid by the schema, random paths). Generation is derandomized so a failure
reproduces; FANGKONG_FUZZ_EXAMPLES sets the cases per operation and mode (default 12, a few
minutes over the whole API on two cores). Each request runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from config.api import api
from fangkong.core.models import Role
from fangkong.core.services import api_token_issue
from tests.factories.world import World, build_world
from tests.system.matrix_specs import API, OPS, path_value

# thousands of requests: allow for a loaded CI machine beyond the default 300 s
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.xdist_group("matrix"),
    pytest.mark.timeout(1200),
]

EXAMPLES = int(os.environ.get("FANGKONG_FUZZ_EXAMPLES", "12"))


@pytest.fixture
def wsgi_app() -> Any:
    # The test owns the connection; Django's handler would close it after every request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _real_path_parameters(world: World, method: str, path: str) -> dict[str, str]:
    op = OPS[f"{method} {path.removeprefix(API)}"]
    return {name: path_value(world, op, name) for name in re.findall(r"\{(\w+)\}", path)}


def _server_errors(operation: Any, mode: GenerationMode, world: World, call: Any) -> list[str]:
    path_parameters = None
    if mode is GenerationMode.POSITIVE:
        path_parameters = _real_path_parameters(world, operation.method.upper(), operation.path)
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    errors: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Any) -> None:
        status = call(case)
        if status >= 500:
            errors.append(f"{operation.method.upper()} {case.formatted_path} ({mode}): {status}")

    run()
    return errors


def test_no_generated_request_gets_a_server_error(
    wsgi_app: Any, settings: Any, capsys: Any
) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 10**6
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    world = build_world()
    token = api_token_issue(user=world.users[(Role.TOWN, "child")])
    headers = {"Authorization": f"Bearer {token}"}
    calls = 0

    def call(case: Any) -> int:
        nonlocal calls
        calls += 1
        with transaction.atomic():
            response = case.call(app=wsgi_app, headers=headers, base_url="http://testserver")
            transaction.set_rollback(True)
        return int(response.status_code)

    schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
    errors: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            errors += _server_errors(operation, mode, world, call)
    with capsys.disabled():
        print(f"\nschemathesis: {calls} requests over {operations} operations, {len(errors)} 5xx")
    assert operations == len(OPS)
    assert not errors, "server errors:\n  " + "\n  ".join(errors)
