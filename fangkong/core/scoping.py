"""Jurisdiction scoping: the one choke point every read goes through.

A model opts in by using `ScopedQuerySet.as_manager()` and naming, in class attributes, the
lookup to a region's materialized path (`scope_path_field`) and optionally to an owning
institution (`scope_institution_field`, a lookup or a tuple of them). `visible_to(user)` is
the only way to get a queryset that the API and UI helpers accept; they assert `is_scoped`
and fail loudly otherwise.

Inside a request the claim is enforced when a query runs: `scope_guard()` (entered by
`ScopeGuardMiddleware` for every request) makes evaluating a scoped model's queryset that did
not come through `visible_to` raise `UnscopedQuery` when the code asking for the rows is the
request layer (api, views, selectors, template tags, or a template those views render).
Services run their own reads after asking the permission table, so they are not the request
layer; system work inside a request (a look-up that must see beyond the actor's
jurisdiction, e.g. to refuse a duplicate) says so with `unscoped("reason")`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from fangkong.core.models import User

_M = TypeVar("_M", bound=models.Model)

# Roles that work with named people; everyone else sees no personal data by default.
PERSONAL_DATA_ROLES = frozenset(
    {"command_office", "working_group", "district", "town", "community", "grid_worker"}
)
INSTITUTION_SCOPED_ROLES = frozenset({"sampler", "lab", "sentinel", "quarantine_site"})


@dataclass(frozen=True)
class Scope:
    region_path: str | None  # prefix of Region.path; "" means every region
    institution_id: int | None
    personal_data: bool

    @property
    def empty(self) -> bool:
        return self.region_path is None and self.institution_id is None

    def covers(self, target: Any) -> bool:
        """Whether a region (or a materialized path) lies inside this scope's jurisdiction.

        The one place that turns a path into a yes/no: a missing path (institution-scoped
        roles, users without a region) covers nothing, never "everything".
        """
        path = target if isinstance(target, str) else getattr(target, "path", None)
        if self.region_path is None or not path:
            return False
        return path.startswith(self.region_path)


NO_SCOPE = Scope(region_path=None, institution_id=None, personal_data=False)


def scope_of(user: User | Any) -> Scope:
    """Compute (and cache on the user object for this request) what a user may see."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_fangkong_scope", None)
    if cached is not None:
        return cached
    role = user.role
    if role == "system_admin":
        scope = Scope(region_path="", institution_id=None, personal_data=False)
    elif role in INSTITUTION_SCOPED_ROLES:
        inst = user.institution
        scope = Scope(
            region_path=None,
            institution_id=inst.pk if inst else None,
            personal_data=False,
        )
    elif user.region is None:
        scope = NO_SCOPE
    else:
        scope = Scope(
            region_path=user.region.path,
            institution_id=None,
            personal_data=role in PERSONAL_DATA_ROLES,
        )
    user._fangkong_scope = scope  # type: ignore[union-attr]
    return scope


class UnscopedQuery(RuntimeError):
    """A scoped model's rows were asked for by request code without `visible_to(actor)`."""


_GUARD: ContextVar[bool] = ContextVar("fangkong_scope_guard", default=False)
_ESCAPE: ContextVar[str | None] = ContextVar("fangkong_scope_escape", default=None)
# Modules whose reads must be scoped: what answers a request, and what reads for it.
_REQUEST_LAYER = re.compile(
    r"^fangkong(?:\.\w+)+\.(?:(?:api|views|selectors)(?:_\w+)?|(?:api|views|selectors)\.\w+"
    r"|templatetags\.\w+)$"
)


@contextmanager
def scope_guard() -> Iterator[None]:
    """Enforce scoping for the queries run inside (one request)."""
    token = _GUARD.set(True)
    try:
        yield
    finally:
        _GUARD.reset(token)


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """The named escape: reads inside see every row, for the stated reason."""
    if not reason or not reason.strip():
        raise ValueError("unscoped() needs the reason why these reads may see every row")
    token = _ESCAPE.set(reason)
    try:
        yield
    finally:
        _ESCAPE.reset(token)


def _asked_by_request_layer() -> str | None:
    """The request-layer module asking for rows, judged by the nearest fangkong frame."""
    frame = sys._getframe(1)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith("fangkong.") and name != __name__:
            return name if _REQUEST_LAYER.match(name) else None
        frame = frame.f_back  # type: ignore[assignment]
    return None


class ScopedQuerySet(models.QuerySet[_M], Generic[_M]):
    _scoped_for: int | None = None

    def _guard(self) -> None:
        if self._scoped_for is not None or not _GUARD.get() or _ESCAPE.get() is not None:
            return
        if self._hints.get("instance") is not None:  # type: ignore[attr-defined]
            return  # a related manager of a row already read in scope
        module = _asked_by_request_layer()
        if module is not None:
            raise UnscopedQuery(
                f"{module} evaluated an unscoped queryset of {self.model.__name__}; read it "
                "through a selector that calls visible_to(actor), or name the system read "
                "with unscoped(reason)"
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._guard()
        super()._fetch_all()  # type: ignore[misc]

    def iterator(self, chunk_size: int | None = None) -> Iterator[_M]:
        self._guard()
        return super().iterator(chunk_size)

    def count(self) -> int:
        if self._result_cache is None:
            self._guard()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._guard()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._guard()
        return super().aggregate(*args, **kwargs)

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]
        clone._scoped_for = self._scoped_for
        return clone

    @property
    def is_scoped(self) -> bool:
        return self._scoped_for is not None

    def visible_to(self, user: User | Any) -> Self:
        scope = scope_of(user)
        model = self.model
        personal = getattr(model, "holds_personal_data", False)
        path_field = getattr(model, "scope_path_field", None)
        inst_field = getattr(model, "scope_institution_field", None)
        condition = Q(pk__in=[])
        if scope.region_path is not None and path_field and (scope.personal_data or not personal):
            if scope.region_path == "":
                condition = Q()
            else:
                condition |= Q(**{f"{path_field}__startswith": scope.region_path})
        if scope.institution_id is not None and inst_field:
            # A tuple names several institutions that may each see the row (a tube: the
            # sampling point that filled it and the lab it was handed to).
            for name in (inst_field,) if isinstance(inst_field, str) else inst_field:
                condition |= Q(**{name: scope.institution_id})
        qs = self.filter(condition)
        qs._scoped_for = getattr(user, "pk", 0) or 0
        return qs


def require_scoped(qs: models.QuerySet[Any]) -> None:
    if not getattr(qs, "is_scoped", False):
        raise RuntimeError(
            f"unscoped queryset of {qs.model.__name__} reached a view; "
            "read it through a selector that calls visible_to(actor)"
        )
