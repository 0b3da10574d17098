"""Background work enqueued by name.

A service that queues work cannot import the task that runs it: the task module imports the
service (a task is a thin wrapper around one). So each app's `tasks` module registers its tasks
here under a stable name, its AppConfig.ready() imports that module, and services call
`enqueue("people.import", ...)` — the import graph stays one-way (tasks → services → core).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")
_REGISTRY: dict[str, Any] = {}


def register(name: str) -> Callable[[_T], _T]:
    """Decorate a django-tasks Task (put it above @task()) to make it enqueueable by `name`."""

    def add(task: _T) -> _T:
        _REGISTRY[name] = task
        return task

    return add


def enqueue(name: str, *args: Any) -> None:
    try:
        task = _REGISTRY[name]
    except KeyError:
        raise LookupError(
            f"no background task is registered as {name!r}: its app's ready() must import "
            "its tasks module"
        ) from None
    task.enqueue(*args)


def registered() -> list[str]:
    return sorted(_REGISTRY)
