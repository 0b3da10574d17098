"""Background tasks of core: thin, id-taking wrappers around services."""

from __future__ import annotations

from django_tasks import task

from fangkong.core import queue
from fangkong.core.filejobs import file_job_run


@queue.register("core.file_job")
@task()
def run_file_job(job_id: str) -> None:
    """Run one uploaded-file job; safe to deliver twice (a finished job is left alone)."""
    file_job_run(job_id=job_id)
