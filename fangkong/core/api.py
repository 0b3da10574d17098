"""Auth tokens, the current user, regions, institutions, the audit log and file jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth import logout as session_logout
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from fangkong.core import selectors
from fangkong.core.http import (
    RESULTS_ALIAS,
    ErrorOut,
    Page,
    actor_of,
    api_token_of,
    get_scoped_or_404,
    page_slice,
    public,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.services import api_token_issue, auth_logout, login_check

router = Router(tags=["core"])


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"


@router.post("/auth/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut})
@public("exchanging credentials for a token happens before anyone is known")
def auth_token(request: HttpRequest, payload: TokenIn) -> Any:
    user = login_check(
        request=request,
        username=payload.username,
        password=payload.password,
        client_ip=client_ip(request),
    )
    if user is None:
        return 401, {"detail": _("Wrong username or password")}
    return 200, {"token": api_token_issue(user=user)}


@router.post("/auth/logout", response={204: None})
@public("ending one's own session or token reads no data")
def auth_logout_view(request: HttpRequest) -> Any:
    token = api_token_of(request)
    auth_logout(actor=actor_of(request), token=token, client_ip=client_ip(request))
    if token is None:
        session_logout(request)
    return 204, None


class MeOut(Schema):
    username: str
    role: str
    region_code: str | None
    institution_id: int | None


@router.get("/me", response=MeOut)
@scoped
def me(request: HttpRequest) -> Any:
    user = actor_of(request)
    return {
        "username": user.username,
        "role": user.role,
        "region_code": user.region.code if user.region else None,
        "institution_id": user.institution_id,
    }


class RegionOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None
    population: int
    polygon: dict[str, Any] | None = None


class RegionPage(Page):
    items: list[RegionOut]
    results: list[RegionOut] = RESULTS_ALIAS


def _region_out(region: Any, *, with_polygon: bool = False) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": region.parent.code if region.parent_id else None,
        "population": region.population,
        "polygon": region.polygon if with_polygon else None,
    }


@router.get("/regions", response=RegionPage)
@scoped
def region_list(
    request: HttpRequest,
    parent: str | None = None,
    level: int | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Any:
    qs = selectors.region_list(actor=actor_of(request), parent_code=parent, level=level)
    count, page, size, rows = page_slice(
        qs.select_related("parent"), page=page, page_size=page_size, max_size=1000
    )
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [_region_out(r) for r in rows],
    }


@router.get("/regions/{code}", response=RegionOut)
@scoped
def region_get(request: HttpRequest, code: str) -> Any:
    qs = selectors.region_list(actor=actor_of(request)).select_related("parent")
    return _region_out(get_scoped_or_404(qs, code=code), with_polygon=True)


class AuditOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str
    client_ip: str
    details: dict[str, Any]


class AuditPage(Page):
    items: list[AuditOut]
    results: list[AuditOut] = RESULTS_ALIAS


@router.get("/audit", response={200: AuditPage, 403: ErrorOut})
@scoped
def audit_list(
    request: HttpRequest, action: str | None = None, page: int = 1, page_size: int = 50
) -> Any:
    qs = selectors.audit_list(actor=actor_of(request), action=action)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    results = [
        {
            "seq": e.seq,
            "at": e.at,
            "actor": e.actor_username,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "reason": e.reason,
            "client_ip": e.client_ip,
            "details": e.details,
        }
        for e in rows
    ]
    return {"count": count, "page": page, "page_size": size, "results": results}


class FileJobOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    filename: str
    file_sha256: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    message: str
    result: dict[str, Any]


class FileJobPage(Page):
    items: list[FileJobOut]
    results: list[FileJobOut] = RESULTS_ALIAS


def file_job_out(job: Any) -> dict[str, Any]:
    """A job as answered by the upload routes (202) and by the job routes."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "filename": job.filename,
        "file_sha256": job.file_sha256,
        "created_by": job.created_by.get_username(),
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "message": job.message,
        "result": job.result,
    }


@router.get("/jobs", response=FileJobPage)
@scoped
def file_job_list(
    request: HttpRequest, kind: str | None = None, page: int = 1, page_size: int = 20
) -> Any:
    """Uploaded files being read, or read, by the worker (lab results, assistance lists)."""
    qs = selectors.file_job_list(actor=actor_of(request), kind=kind)
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": size,
        "results": [file_job_out(j) for j in rows],
    }


@router.get("/jobs/{uuid:job_id}", response=FileJobOut)
@scoped
def file_job_get(request: HttpRequest, job_id: uuid.UUID) -> Any:
    """Poll until `status` is done or failed; `result` is the kind's answer."""
    qs = selectors.file_job_list(actor=actor_of(request))
    return file_job_out(get_scoped_or_404(qs, pk=job_id))
