"""Template filters of the command pages."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from django import template

register = template.Library()


@register.filter
def among(value: Any, values: Container[Any]) -> bool:
    """`{% if u.pk|among:p.lead %}`: whether the value is one of the list."""
    return value in values


@register.filter
def percent(value: float | None) -> str:
    """0.857 → "85.7%"; nothing expected yet → "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"
