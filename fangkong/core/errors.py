"""Domain errors: what services and selectors raise. Only the HTTP layer (core.http, the API's
exception handlers, the views) turns them into answers — Conflict 409, NotFound 404,
permissions.Forbidden 403, validators.FieldError 422 — so domain code never imports it."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404

from fangkong.core.scoping import require_scoped


class Conflict(Exception):
    """The request contradicts the stored state (a stale revision, a reused key); 409."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(Http404):
    """Missing or outside the actor's scope, which look the same; 404, never 403. An Http404,
    so Django and django-ninja answer it without a handler of their own."""


def get_visible(qs: models.QuerySet[Any], **lookup: Any) -> Any:
    """The one row of a scoped queryset matching `lookup`, or NotFound."""
    require_scoped(qs)
    obj = qs.filter(**lookup).first()
    if obj is None:
        raise NotFound()
    return obj
