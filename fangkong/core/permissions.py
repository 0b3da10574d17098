"""The one permission table: role × action, with the jurisdiction each grant needs.

Every app declares its rules in `<app>/permissions.py` as `RULES`, a sequence of `Rule`; this
module gathers them (lazily, through the app registry, so `core` imports no domain app) and
answers two questions:

- `allowed(actor, action, region=..., institution=...)`: may this user do it here? Templates
  and views ask it (through the `may` template tag) to show only what the table allows.
- `authorize(...)`: the same, raising `Forbidden` — the first line of every write service.

A grant's reach says what jurisdiction the action needs:

- `SUBTREE`: the target region lies inside the actor's jurisdiction (`Scope.covers`);
- `CITY`: as SUBTREE, and the actor's jurisdiction is a whole city (city-wide rules, such as
  the risk areas that classify every district's arrivals);
- `INSTITUTION`: the target belongs to the actor's own institution (a sampler's point, a lab);
- `ANYWHERE`: the role alone decides (configuration with no region).

A check without a target (no region, no institution) answers whether the role holds the
grant at all — right for showing a menu entry, never enough for a write: a write service
passes the object's region or institution, and a grant that needs one refuses without it.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.scoping import scope_of

if TYPE_CHECKING:
    from fangkong.core.models import Institution, Region, User


class Forbidden(PermissionDenied):
    """A role that may read but not do this action (403); never used for scope.

    A PermissionDenied, so a page that does not answer it itself gets Django's 403 page; the
    API's own handler (config/api.py) answers it as JSON.
    """


class Reach(enum.StrEnum):
    SUBTREE = "subtree"
    CITY = "city"
    INSTITUTION = "institution"
    ANYWHERE = "anywhere"


@dataclass(frozen=True)
class Rule:
    action: str
    grants: Mapping[str, Reach]
    label: Promise | str
    refusal: Promise | str | None = None
    app: str = field(default="", compare=False)

    def reach_for(self, role: str) -> Reach | None:
        return self.grants.get(role)


def grant(roles: Iterable[str], reach: Reach) -> dict[str, Reach]:
    """`{role: reach}` for several roles at once, to build a Rule's grants readably."""
    return {str(role): reach for role in roles}


_TABLE: dict[str, Rule] | None = None


def _load() -> dict[str, Rule]:
    global _TABLE
    if _TABLE is None:
        table: dict[str, Rule] = {}
        for config in apps.get_app_configs():
            if not config.name.startswith("fangkong."):
                continue
            try:
                module = importlib.import_module(f"{config.name}.permissions")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.permissions":
                    raise
                continue
            for rule in getattr(module, "RULES", ()):
                if rule.action in table:
                    raise RuntimeError(f"permission {rule.action!r} is declared twice")
                table[rule.action] = Rule(**{**rule.__dict__, "app": config.label})
        _TABLE = table
    return _TABLE


def rules() -> Iterator[Rule]:
    """Every rule, ordered by app then action (the order of the operators' document)."""
    yield from sorted(_load().values(), key=lambda r: (r.app, r.action))


def rule(action: str) -> Rule:
    try:
        return _load()[action]
    except KeyError:
        raise KeyError(f"no permission rule {action!r}; declare it in an app's RULES") from None


def _target_path(region: Region | str | None, institution: Institution | None) -> str | None:
    if isinstance(region, str):
        return region
    if region is not None:
        return region.path
    if institution is not None:
        return institution.region.path
    return None


def _reaches(
    actor: User,
    reach: Reach,
    region: Region | str | None,
    institution: Institution | int | None,
) -> bool:
    scope = scope_of(actor)
    if reach is Reach.ANYWHERE:
        return True
    if reach is Reach.INSTITUTION:
        if institution is None:
            return region is None and scope.institution_id is not None
        inst_id = institution if isinstance(institution, int) else institution.pk
        return scope.institution_id is not None and inst_id == scope.institution_id
    if reach is Reach.CITY and not _holds_city(actor):
        return False
    inst = institution if not isinstance(institution, int) else None
    path = _target_path(region, inst)
    if path is None:
        # No target: only "does the role hold this grant here at all" (menus, buttons).
        return region is None and institution is None and scope.region_path is not None
    return scope.covers(path)


def _holds_city(actor: User) -> bool:
    from fangkong.core.models import RegionLevel

    region = getattr(actor, "region", None)
    return region is not None and region.level <= RegionLevel.CITY


def allowed(
    actor: User | Any,
    action: str,
    *,
    region: Region | str | None = None,
    institution: Institution | int | None = None,
) -> bool:
    """Whether the table grants `action` to this user over the target."""
    the_rule = rule(action)
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    reach = the_rule.reach_for(actor.role)
    if reach is None:
        return False
    return _reaches(actor, reach, region, institution)


def authorize(
    actor: User | Any,
    action: str,
    *,
    region: Region | str | None = None,
    institution: Institution | int | None = None,
) -> None:
    """Raise Forbidden unless the table grants `action` over the target; services call it."""
    if not allowed(actor, action, region=region, institution=institution):
        the_rule = rule(action)
        raise Forbidden(str(the_rule.refusal or _("your role may not do this here")))


def actions_for(actor: User | Any) -> frozenset[str]:
    """The actions this user's role holds anywhere (what the UI may offer at all)."""
    role = getattr(actor, "role", None)
    return frozenset(r.action for r in _load().values() if role in r.grants)


# ---------------------------------------------------------------- shared role sets
# The rule tables of the apps compose their grants from these; a role joins an action only in
# a table, never in code.
COMMAND = ("command_office",)
DECIDERS = ("command_office", "working_group", "district", "town")
REVEALERS = (*DECIDERS, "community")
JURISDICTION_STAFF = (*REVEALERS, "grid_worker")

RULES = (
    Rule(
        "audit.view",
        grant(COMMAND, Reach.ANYWHERE),
        gettext_lazy("Read the audit log"),
        gettext_lazy("only the command office reads the audit log"),
    ),
)
