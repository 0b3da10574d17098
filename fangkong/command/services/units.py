"""Writes of the command structure: units with their duties, aliases and superior, and who
acts for each. The command office keeps it for its jurisdiction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.command.models import Unit, UnitKind, UnitMember
from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError

MAX_DUTY = 1000


def _clean_duties(duties: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for domain, text in duties.items():
        key, value = str(domain).strip(), str(text or "").strip()
        if not key or len(key) > 32:
            raise FieldError("duties", _("a duty needs a short domain name"))
        if len(value) > MAX_DUTY:
            raise FieldError("duties", _("at most %(n)d characters") % {"n": MAX_DUTY})
        if value:
            cleaned[key] = value
    return cleaned


def _clean_aliases(aliases: Sequence[str]) -> list[str]:
    return sorted({a.strip() for a in aliases if a and a.strip()}, key=lambda a: (-len(a), a))


def _check_superior(unit_region: Region, superior: Unit | None, unit: Unit | None) -> None:
    if superior is None:
        return
    if unit is not None and (superior.pk == unit.pk or _below(superior, unit)):
        raise FieldError("superior", _("a unit cannot report to itself or to a unit below it"))
    if not unit_region.path.startswith(superior.region.path):
        raise FieldError("superior", _("the superior unit must be of the same or a wider region"))


def _below(candidate: Unit, unit: Unit) -> bool:
    seen, current = set(), candidate.superior
    while current is not None and current.pk not in seen:
        if current.pk == unit.pk:
            return True
        seen.add(current.pk)
        current = current.superior
    return False


@transaction.atomic
def unit_create(
    *,
    actor: User,
    code: str,
    name: str,
    kind: str,
    region: Region,
    superior: Unit | None = None,
    duties: Mapping[str, str] | None = None,
    aliases: Sequence[str] = (),
) -> Unit:
    authorize(actor, "command.unit.manage", region=region)
    if kind not in UnitKind.values:
        raise FieldError("kind", _("unknown kind: %(k)s") % {"k": kind})
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise FieldError("code" if not code else "name", _("this field is required"))
    if Unit.objects.filter(code=code).exists():
        raise FieldError("code", _("a unit with code %(c)s exists") % {"c": code})
    _check_superior(region, superior, None)
    unit = Unit.objects.create(
        code=code, name=name, kind=kind, region=region, superior=superior,
        duties=_clean_duties(duties or {}), aliases=_clean_aliases(aliases),
    )  # fmt: skip
    audit_record(actor=actor, action="command.unit.create", object_type="command.unit",
                 object_id=unit.pk)  # fmt: skip
    return unit


@transaction.atomic
def unit_update(
    *,
    actor: User,
    unit: Unit,
    name: str | None = None,
    superior: Unit | None = None,
    duties: Mapping[str, str] | None = None,
    aliases: Sequence[str] | None = None,
    active: bool | None = None,
) -> Unit:
    authorize(actor, "command.unit.manage", region=unit.region)
    if name is not None:
        if not name.strip():
            raise FieldError("name", _("this field is required"))
        unit.name = name.strip()
    if superior is not None:
        _check_superior(unit.region, superior, unit)
        unit.superior = superior
    if duties is not None:
        unit.duties = _clean_duties(duties)
    if aliases is not None:
        unit.aliases = _clean_aliases(aliases)
    if active is not None:
        unit.active = active
    unit.save()
    audit_record(actor=actor, action="command.unit.update", object_type="command.unit",
                 object_id=unit.pk)  # fmt: skip
    return unit


@transaction.atomic
def unit_member_set(*, actor: User, unit: Unit, user: User, member: bool = True) -> None:
    """Make `user` act for `unit` (or no longer); the unit must lie in the user's jurisdiction
    (so everything the unit is given is within what the user may see)."""
    authorize(actor, "command.unit.manage", region=unit.region)
    if member:
        if user.region is None or not unit.region.path.startswith(user.region.path):
            raise FieldError("user", _("the unit lies outside the user's jurisdiction"))
        UnitMember.objects.get_or_create(unit=unit, user=user)
    else:
        UnitMember.objects.filter(unit=unit, user=user).delete()
    audit_record(
        actor=actor, action="command.unit.member", object_type="command.unit", object_id=unit.pk,
        details={"user": user.pk, "member": member},
    )  # fmt: skip
