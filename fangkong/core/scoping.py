"""Jurisdiction scoping: the one choke point every read goes through.

A model opts in by using `ScopedQuerySet.as_manager()` and naming, in class attributes, the
lookup to a region's materialized path (`scope_path_field`) and optionally to an owning
institution (`scope_institution_field`, a lookup or a tuple of them). `visible_to(user)` is
the only way to get a queryset that the API and UI helpers accept; they assert `is_scoped`
and fail loudly otherwise.
"""

from __future__ import annotations

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


class ScopedQuerySet(models.QuerySet[_M], Generic[_M]):
    _scoped_for: int | None = None

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
