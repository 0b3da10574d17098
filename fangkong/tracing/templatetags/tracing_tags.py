"""Badges for case statuses, measure states and generations on the tracing pages."""

from __future__ import annotations

from django import template

register = template.Library()

MEASURE_BADGES = {
    "proposed": "badge-warn",
    "in_force": "badge-info",
    "extended": "badge-info",
    "released": "badge-ok",
    "converted": "badge-muted",
    "cancelled": "badge-muted",
}
CASE_BADGES = {
    "reported": "badge-warn",
    "confirmed": "badge-danger",
    "recovered": "badge-ok",
    "deceased": "badge-muted",
    "ruled_out": "badge-muted",
}


@register.filter
def measure_badge(state: str) -> str:
    return MEASURE_BADGES.get(state or "", "badge-muted")


@register.filter
def case_badge(status: str) -> str:
    return CASE_BADGES.get(status or "", "badge-muted")
