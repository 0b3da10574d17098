"""Writes of the classification rule table (the command office): which arrivals a rule
matches (origin level, days, itinerary, sources) and the measure plan it proposes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import MeasurePlan
from fangkong.screening.models import ClassificationRule, OriginLevel, ScreeningSource

RULE_FIELDS = frozenset(
    {
        "priority",
        "name",
        "origin_level",
        "within_days",
        "itinerary_hits_risk",
        "sources",
        "plan_key",
        "active",
        "valid_from",
    }
)


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    """Validate rule fields; `plan_key` ("" for "record only, no measure") becomes `plan`."""
    unknown = set(values) - RULE_FIELDS
    if unknown:
        raise FieldError(sorted(unknown)[0], _("this field cannot be changed"))
    out = dict(values)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()[:120]
        if not out["name"]:
            raise FieldError("name", _("name is required"))
    if "priority" in out and not (
        isinstance(out["priority"], int) and 0 <= out["priority"] < 10**6
    ):
        raise FieldError("priority", _("priority is a whole number from 0"))
    if "origin_level" in out and (out["origin_level"] or "") not in OriginLevel.values:
        raise FieldError("origin_level", _("unknown risk level"))
    within = out.get("within_days")
    if within is not None and not (isinstance(within, int) and 0 <= within <= 365):
        raise FieldError("within_days", _("within days is 0 to 365, or empty"))
    if "sources" in out:
        sources = sorted(set(out["sources"] or []))
        if any(s not in ScreeningSource.values for s in sources):
            raise FieldError("sources", _("unknown screening source"))
        out["sources"] = sources
    if "plan_key" in out:
        key = out.pop("plan_key") or ""
        out["plan"] = MeasurePlan.objects.filter(key=key, active=True).first() if key else None
        if key and out["plan"] is None:
            raise FieldError("plan_key", _("unknown or inactive measure plan"))
    if "valid_from" in out and out["valid_from"] is None:
        raise FieldError("valid_from", _("valid from is required"))
    return out


def _rule_state(rule: ClassificationRule) -> dict[str, Any]:
    return {
        "priority": rule.priority,
        "name": rule.name,
        "origin_level": rule.origin_level,
        "within_days": rule.within_days,
        "itinerary_hits_risk": rule.itinerary_hits_risk,
        "sources": list(rule.sources or []),
        "plan": rule.plan.key if rule.plan_id and rule.plan else None,
        "active": rule.active,
        "valid_from": rule.valid_from.isoformat(),
    }


@transaction.atomic
def rule_update(
    *, actor: User, rule: ClassificationRule, changes: dict[str, Any]
) -> ClassificationRule:
    """Change a rule; its version goes up and only classifications made afterwards see it."""
    authorize(actor, "classification.configure")
    clean = _clean_rule(changes)
    rule = (
        ClassificationRule.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(pk=rule.pk)
    )
    before = _rule_state(rule)
    for name, value in clean.items():
        setattr(rule, name, value)
    after = _rule_state(rule)
    if after == before:
        return rule
    rule.version += 1
    rule.updated_by = actor
    rule.save()
    audit_record(
        actor=actor,
        action="screening_rule.update",
        object_type="screening_rule",
        object_id=rule.pk,
        details={"version": rule.version, "before": before, "after": after},
    )
    return rule


@transaction.atomic
def rule_create(*, actor: User, values: dict[str, Any]) -> ClassificationRule:
    authorize(actor, "classification.configure")
    clean = _clean_rule(values)
    for needed in ("priority", "name"):
        if needed not in clean:
            raise FieldError(needed, _("this field is required"))
    rule = ClassificationRule(updated_by=actor, **clean)
    rule.save(force_insert=True)
    audit_record(
        actor=actor,
        action="screening_rule.create",
        object_type="screening_rule",
        object_id=rule.pk,
        details={"after": _rule_state(rule)},
    )
    return rule
