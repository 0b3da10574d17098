"""Serving for `fangkong demo` and `fangkong serve`: gunicorn in-process plus the task worker.

The task worker (django-tasks-db `db_worker`) runs as a child process so that imports and
other background jobs proceed while the web server answers requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.servers.basehttp import get_internal_wsgi_application
from django.db import connections
from gunicorn.app.base import BaseApplication

DB_TASKS_BACKEND = "django_tasks_db.DatabaseBackend"


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 4
    access_log: bool = False


class FangkongApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn's documented embedding API; configuration comes from our flags only."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        # the project's WSGI_APPLICATION (config.wsgi), which refuses unsafe production too
        return get_internal_wsgi_application()


def default_workers() -> int:
    return min(4, max(2, os.cpu_count() or 2))


def start_task_worker() -> subprocess.Popen[bytes] | None:
    """Start `db_worker`, or nothing when tasks are configured to run elsewhere."""
    if settings.TASKS["default"]["BACKEND"] != DB_TASKS_BACKEND:
        return None
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        # the child must read the same data directory even when it came from a flag
        "FANGKONG_DATA_DIR": str(settings.DATA_DIR),
    }
    command = [sys.executable, "-m", "fangkong.cli", "db_worker", "--no-reload", "--interval", "1"]
    # Its own session keeps a terminal Ctrl+C from reaching it: only stop_task_worker signals
    # it, once, so the task in hand finishes instead of being cut off by a second signal.
    return subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603


def stop_task_worker(process: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    """Ask the worker to finish its current task and exit; kill it after `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve(options: ServeOptions) -> None:
    """Run gunicorn (gthread) in the foreground with the task worker beside it."""
    # forked web workers must not share the parent's database connections
    connections.close_all()
    # whitenoise warns on every worker boot when STATIC_ROOT is missing (finders serve files)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    worker = start_task_worker()
    master_pid = os.getpid()
    app = FangkongApplication(
        {
            "bind": f"{options.host}:{options.port}",
            "workers": options.workers,
            "worker_class": "gthread",
            "threads": options.threads,
            "timeout": 60,
            "graceful_timeout": 10,
            "proc_name": "fangkong",
            # the control socket lives at one path per user; a second server would clash
            "control_socket_disable": True,
            "accesslog": "-" if options.access_log else None,
            "errorlog": "-",
        }
    )
    try:
        app.run()
    finally:
        # gunicorn's forked workers leave run() through SystemExit too; only the master
        # owns the task worker
        if os.getpid() == master_pid:
            stop_task_worker(worker)
