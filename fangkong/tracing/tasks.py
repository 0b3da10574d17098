"""Background tasks of the tracing domain: thin, id-taking wrappers around services."""

from __future__ import annotations

from django_tasks import task

from fangkong.core import queue
from fangkong.tracing.models import Case, CaseStatus
from fangkong.tracing.services.generations import case_compute_generations


@queue.register("tracing.generations")
@task()
def compute_generations(case_id: int) -> None:
    """Bring a case's contact generations up to date; delivering it twice changes nothing."""
    case = Case.objects.filter(pk=case_id).first()
    # a report ruled out after the task was queued has nothing left to trace
    if case is not None and case.status != CaseStatus.RULED_OUT:
        case_compute_generations(actor=None, case=case)
