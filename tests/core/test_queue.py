"""Background work is enqueued by name, so services never import the tasks that run them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fangkong.core import queue

ROOT = Path(__file__).resolve().parents[2] / "fangkong"
# Where a function-level import is the rule rather than a hidden dependency: AppConfig.ready()
# (Django's place to import signal and task modules), the CLI entry point before settings, the
# import worker process's own django.setup(), and core.models ↔ core.permissions (a queryset of
# the audit log asks the permission table, which names the region levels of core.models).
ALLOWED = {
    "cli.py",
    "people/import_worker.py",
    "core/models.py",
    "core/permissions.py",
}


def test_every_apps_tasks_are_registered() -> None:
    assert {"core.file_job", "people.import", "tracing.generations"} <= set(queue.registered())


def test_an_unknown_name_says_where_to_look() -> None:
    with pytest.raises(LookupError, match="ready"):
        queue.enqueue("no.such.task", 1)


def _function_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "ready":
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    lines.append(inner.lineno)
    return lines


def test_no_function_level_import_hides_a_dependency() -> None:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if "/migrations/" in rel or rel in ALLOWED:
            continue
        if lines := _function_imports(path):
            found[rel] = lines
    assert found == {}
