"""`{% may "action" region as flag %}`: templates ask the permission table, never a role."""

from __future__ import annotations

from typing import Any

from django import template

from fangkong.core.permissions import allowed

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: Any, action: str, region: Any = None, institution: Any = None) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    return allowed(user, action, region=region or None, institution=institution or None)
