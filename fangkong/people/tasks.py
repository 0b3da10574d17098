"""Background tasks of the person registry: thin, id-taking wrappers around services."""

from __future__ import annotations

from django_tasks import task

from fangkong.core import queue
from fangkong.people.services.imports import import_job_run


@queue.register("people.import")
@task()
def run_import(job_id: str) -> None:
    """Run one import job; safe to deliver twice (a finished job is left alone)."""
    import_job_run(job_id=job_id)
