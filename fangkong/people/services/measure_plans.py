"""Configuration writes of control measures (the command office): measure plans and the
disease profile that picks a plan per contact generation. Measures copy a plan's phases when
proposed, so a change here only shapes measures proposed afterwards."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import DiseaseProfile, MeasureKind, MeasurePlan
from fangkong.people.measures_phases import total_days
from fangkong.people.services.measures import MAX_EXTENSION_DAYS


def _clean_phases(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not phases:
        raise FieldError("phases", _("a plan needs at least one phase"))
    out = []
    for i, phase in enumerate(phases, start=1):
        kind, days = phase.get("kind"), phase.get("days")
        if kind not in MeasureKind.values:
            raise FieldError("phases", _("phase %(n)s: unknown measure kind") % {"n": i})
        if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise FieldError(
                "phases", _("phase %(n)s: days must be 1 to %(max)s") % {"n": i, "max": 60}
            )
        out.append({"kind": kind, "days": days})
    return out


def _clean_offsets(offsets: list[int], total: int) -> list[int]:
    if any(not isinstance(n, int) or not 1 <= n <= total for n in offsets):
        raise FieldError(
            "test_offsets", _("test days are day numbers from 1 to %(n)s") % {"n": total}
        )
    return sorted(set(offsets))


@transaction.atomic
def measure_plan_save(
    *,
    actor: User,
    key: str,
    name: str,
    phases: list[dict[str, Any]],
    test_offsets: list[int],
    active: bool = True,
) -> MeasurePlan:
    """Create or replace a plan. Measures copy their phases, so only new ones change."""
    authorize(actor, "measure.configure")
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _("name is required"))
    clean = _clean_phases(phases)
    offsets = _clean_offsets(test_offsets, total_days(clean))
    plan, created = MeasurePlan.objects.update_or_create(
        key=key,
        defaults={"name": name[:100], "phases": clean, "test_offsets": offsets, "active": active},
    )
    audit_record(
        actor=actor,
        action="measure_plan.create" if created else "measure_plan.update",
        object_type="measure_plan",
        object_id=plan.key,
        details={"phases": clean, "test_offsets": offsets, "active": active},
    )
    return plan


PROFILE_FIELDS = frozenset(
    {
        "name",
        "incubation_days",
        "lookback_days",
        "max_generation",
        "investigation_hours",
        "generation_plans",
    }
)


@transaction.atomic
def disease_profile_update(
    *, actor: User, profile: DiseaseProfile, changes: dict[str, Any]
) -> DiseaseProfile:
    authorize(actor, "measure.configure")
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise FieldError(sorted(unknown)[0], _("this field cannot be changed"))
    for name in ("incubation_days", "lookback_days", "max_generation", "investigation_hours"):
        value = changes.get(name, getattr(profile, name))
        if not isinstance(value, int) or not 0 <= value <= 720:
            raise FieldError(name, _("must be a whole number from 0 to 720"))
    plans = changes.get("generation_plans", profile.generation_plans) or {}
    max_generation = changes.get("max_generation", profile.max_generation)
    known = set(
        MeasurePlan.objects.filter(key__in=list(plans.values())).values_list("key", flat=True)
    )
    for generation, key in plans.items():
        if not str(generation).isdigit() or not 1 <= int(generation) <= max_generation:
            raise FieldError("generation_plans", _("generations are 1 to the maximum"))
        if key not in known:
            raise FieldError("generation_plans", _("unknown plan %(key)s") % {"key": key})
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.save()
    audit_record(
        actor=actor,
        action="disease_profile.update",
        object_type="disease_profile",
        object_id=profile.key,
        details={"fields": sorted(changes)},
    )
    return profile
