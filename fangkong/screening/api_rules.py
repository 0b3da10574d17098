"""Screening API: the classification rule table (command office), under /screening/rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError

from fangkong.core.http import ErrorOut, actor_of, get_scoped_or_404, scoped
from fangkong.screening import selectors
from fangkong.screening.models import ClassificationRule
from fangkong.screening.services import rules

router = Router(tags=["screening"])


class RuleOut(Schema):
    id: int
    priority: int
    name: str
    origin_level: str
    within_days: int | None
    itinerary_hits_risk: bool
    sources: list[str]
    plan_key: str | None
    plan_name: str | None
    active: bool
    valid_from: dt.datetime
    version: int
    updated_at: dt.datetime


class RuleIn(Schema):
    priority: int
    name: str
    origin_level: str = ""
    within_days: int | None = None
    itinerary_hits_risk: bool = False
    sources: list[str] = []
    plan_key: str = ""
    active: bool = True
    valid_from: dt.datetime | None = None


class RulePatch(Schema):
    priority: int | None = None
    name: str | None = None
    origin_level: str | None = None
    within_days: int | None = None
    itinerary_hits_risk: bool | None = None
    sources: list[str] | None = None
    plan_key: str | None = None
    active: bool | None = None
    valid_from: dt.datetime | None = None


def rule_out(rule: ClassificationRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "priority": rule.priority,
        "name": rule.name,
        "origin_level": rule.origin_level,
        "within_days": rule.within_days,
        "itinerary_hits_risk": rule.itinerary_hits_risk,
        "sources": rule.sources or [],
        "plan_key": rule.plan.key if rule.plan else None,
        "plan_name": rule.plan.name if rule.plan else None,
        "active": rule.active,
        "valid_from": rule.valid_from,
        "version": rule.version,
        "updated_at": rule.updated_at,
    }


@router.get("", response=list[RuleOut])
@scoped
def rule_list(request: HttpRequest) -> Any:
    return [rule_out(r) for r in selectors.rule_list(actor=actor_of(request))]


@router.post("", response={201: RuleOut, 403: ErrorOut})
@scoped
def rule_create(request: HttpRequest, payload: RuleIn) -> Any:
    values = payload.dict()
    if values["valid_from"] is None:
        values.pop("valid_from")
    rule = rules.rule_create(actor=actor_of(request), values=values)
    return 201, rule_out(rule)


@router.patch("/{int:rule_id}", response={200: RuleOut, 403: ErrorOut})
@scoped
def rule_update(request: HttpRequest, rule_id: int, payload: RulePatch) -> Any:
    """Change a rule (command office); only classifications made afterwards use the change.
    `within_days` may be set to null explicitly to drop the time limit."""
    actor = actor_of(request)
    rule = get_scoped_or_404(selectors.rule_list(actor=actor), pk=rule_id)
    changes = payload.dict(exclude_unset=True)
    if not changes:
        raise HttpError(422, _("no fields to change"))
    rule = rules.rule_update(actor=actor, rule=rule, changes=changes)
    return rule_out(get_scoped_or_404(selectors.rule_list(actor=actor), pk=rule.pk))
