"""Reads for regions, institutions and the audit log; every one takes the actor."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet

from fangkong.core.models import AuditEvent, FileJob, Institution, Region, User
from fangkong.core.permissions import authorize
from fangkong.core.scoping import scope_of

_Q = TypeVar("_Q", bound=QuerySet[Any])


def region_list(
    *, actor: User, parent_code: str | None = None, level: int | None = None
) -> QuerySet[Region]:
    qs = Region.objects.visible_to(actor)
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    if level:
        qs = qs.filter(level=level)
    return qs


def region_roots(*, actor: User) -> QuerySet[Region]:
    """The top of what the actor may see: their home region (or every city for admins)."""
    scope = scope_of(actor)
    qs = Region.objects.visible_to(actor)
    if scope.region_path:
        return qs.filter(path=scope.region_path)
    return qs.filter(parent__isnull=True)


def region_children(*, actor: User, region: Region) -> QuerySet[Region]:
    return Region.objects.visible_to(actor).filter(parent=region).order_by("code")


def institution_list(*, actor: User, kind: str | None = None) -> QuerySet[Institution]:
    qs = Institution.objects.visible_to(actor).select_related("region")
    return qs.filter(kind=kind) if kind else qs


def audit_list(*, actor: User, action: str | None = None) -> QuerySet[AuditEvent]:
    """The audit log is for the command office only; it is not split by jurisdiction."""
    authorize(actor, "audit.view")
    qs = AuditEvent.objects.visible_to(actor)
    return qs.filter(action=action) if action else qs


def under_region_code(
    qs: _Q, *, actor: User, region_code: str | None, path_field: str = "region_path"
) -> _Q:
    """Rows under the region with this code. A code outside the caller's scope matches
    nothing rather than erroring, so the filter cannot probe which codes exist elsewhere."""
    if not region_code:
        return qs
    region = Region.objects.visible_to(actor).filter(code=region_code).first()
    return qs.filter(**{f"{path_field}__startswith": region.path}) if region else qs.none()


def file_job_list(*, actor: User, kind: str | None = None) -> QuerySet[FileJob]:
    """Uploaded-file jobs of the actor's jurisdiction or institution, newest first."""
    qs = FileJob.objects.visible_to(actor).select_related("created_by")
    return qs.filter(kind=kind) if kind else qs
