"""Enforcement: every URL and every API operation declares how it is scoped.

A view or operation must carry `fangkong_access` — set by `@scoped` (it reads only through
selectors that call `visible_to`) or `@public("why")` — or be on the short allowlist below.
A second, static test forbids reaching managers directly from api and view modules, so that
"scoped" cannot be claimed while reading around the selectors.

These tests walk whatever is registered, so they keep guarding as new apps add views.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from ninja.operation import Operation, PathView

from config.api import api

ROOT = Path(__file__).resolve().parents[2]

# Views that need no marker, by module.qualname. Keep this short; each needs a reason.
ALLOWLIST = {
    # the API's OpenAPI schema and its docs page describe endpoints, never data
    "ninja.openapi.views.openapi_json",
    "ninja.openapi.views.openapi_view",
    # django-ninja's API root: always answers 404, exists only for reverse()
    "ninja.openapi.views.default_home",
    # static files in DEBUG runs (whitenoise serves them otherwise)
    "django.views.static.serve",
    # sets the language cookie and redirects; reads nothing
    "django.views.i18n.set_language",
    # the translation catalogue for scripts; the same for everyone
    "django.views.i18n.JavaScriptCatalog",
}


def _qualname(func: Any) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _unwrap(callback: Any) -> Any:
    """Look through functools.partial to the function that actually runs."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    return callback


def _marker(callback: Any) -> str | None:
    for candidate in (callback, getattr(callback, "view_class", None)):
        access = getattr(candidate, "fangkong_access", None)
        if access is not None:
            return str(access)
    return None


def _valid(access: str | None) -> bool:
    if access == "scoped":
        return True
    return bool(access and access.startswith("public: ") and access[len("public: ") :].strip())


def _ninja_path_view(callback: Any) -> PathView | None:
    """django-ninja serves each path through a closure over its PathView."""
    for cell in getattr(callback, "__closure__", None) or ():
        contents = cell.cell_contents
        if isinstance(contents, PathView):
            return contents
    return None


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _url_targets() -> Iterator[tuple[str, Callable[..., Any]]]:
    """(route, function that handles it) for every URL, looking inside ninja's wrappers."""
    for route, callback in _walk(get_resolver().url_patterns):
        path_view = _ninja_path_view(callback)
        if path_view is None:
            yield route, _unwrap(callback)
            continue
        for op in path_view.operations:
            yield f"{route} [{','.join(op.methods)}]", op.view_func


def _api_operations() -> Iterator[tuple[str, Operation]]:
    """Every operation of config.api.api: template routers and the routers actually bound."""
    api._get_bound_routers()  # makes api._routers list nested routers too
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = list(api._routers)
    while stack:
        prefix, router = stack.pop()
        if id(router) in seen:
            continue
        seen.add(id(router))
        stack.extend((prefix + child_prefix, child) for child_prefix, child, *_ in router._routers)
        for path, path_view in router.path_operations.items():
            for op in path_view.operations:
                yield f"{prefix}{path} [{','.join(op.methods)}]", op
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for op in path_view.operations:
                yield f"{bound.prefix}{path} [{','.join(op.methods)}] (bound)", op


def test_every_url_is_scoped_or_public() -> None:
    checked, unmarked = [], []
    for route, func in _url_targets():
        checked.append(_qualname(func))
        if _qualname(func) in ALLOWLIST:
            continue
        if not _valid(_marker(func)):
            unmarked.append(f"/{route} -> {_qualname(func)}")
    assert not unmarked, (
        "views without @scoped or @public('reason') (fangkong.core.http):\n  "
        + "\n  ".join(unmarked)
    )
    # the walk must really have reached the API operations and the UI, or it proves nothing
    assert "fangkong.people.api.person_list" in checked
    assert "fangkong.core.api.auth_token" in checked
    assert any(name.startswith("fangkong.web.") for name in checked)


def test_every_api_operation_is_scoped_or_public() -> None:
    operations = list(_api_operations())
    unmarked = [
        f"{where} -> {_qualname(op.view_func)}"
        for where, op in operations
        if not _valid(_marker(op.view_func))
    ]
    assert not unmarked, "API operations without @scoped or @public('reason'):\n  " + "\n  ".join(
        unmarked
    )
    names = {_qualname(op.view_func) for _, op in operations}
    assert {"fangkong.people.api.person_reveal", "fangkong.core.api.region_list"} <= names


def test_scoped_api_operations_require_authentication() -> None:
    """`auth=None` on a scoped operation would hand its selectors an anonymous actor."""
    for where, op in _api_operations():
        if _marker(op.view_func) == "scoped" and "(bound)" in where:
            assert op.auth_callbacks, f"{where} is marked scoped but needs no authentication"


def test_marker_checks_reject_bad_markers() -> None:
    assert _valid("scoped")
    assert _valid("public: the login form")
    assert not _valid("public: ")
    assert not _valid("public")
    assert not _valid(None)
    assert not _valid("scoped-ish")


# --- static lint: api and view modules read only through selectors ------------------------

FORBIDDEN_ATTRS = {"objects", "_default_manager", "_base_manager"}


def _request_modules() -> list[Path]:
    pkg = ROOT / "fangkong"
    found: set[Path] = set()
    for pattern in ("*/api*.py", "*/views*.py", "*/api/*.py", "*/views/*.py", "*/api*/*.py"):
        found.update(p for p in pkg.glob(pattern) if "migrations" not in p.parts)
    return sorted(found)


def _violations(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename=filename)
    problems = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.asname or node.name
        if name is None:
            continue
        if name in FORBIDDEN_ATTRS or "unscoped" in name.lower():
            problems.append(f"{filename}:{getattr(node, 'lineno', '?')}: uses {name!r}")
    return problems


def test_request_modules_do_not_touch_managers() -> None:
    modules = _request_modules()
    assert ROOT / "fangkong" / "people" / "api.py" in modules
    problems = []
    for path in modules:
        problems += _violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not problems, "read through a selector instead:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(
    "snippet",
    [
        "Person.objects.all()",
        "Person._default_manager.filter(pk=1)",
        "qs = Person.unscoped.all()",
        "from fangkong.people.models import unscoped_people",
        "m = Person._base_manager",
    ],
)
def test_lint_catches(snippet: str) -> None:
    assert _violations(snippet, "x.py")


def test_lint_ignores_text_that_only_mentions_objects() -> None:
    assert not _violations('"""never use .objects here"""\n# Person.objects\n', "x.py")
