"""Small presentation helpers: status badges and inline SVG outlines of grid polygons."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.core.vault import mask_name

register = template.Library()

STATUS_BADGES = {
    "queued": "badge-muted",
    "running": "badge-info",
    "done": "badge-ok",
    "failed": "badge-danger",
}
# Person.source is a free code rather than a choice field; these are the ones written today.
SOURCE_LABELS = {
    "manual": gettext_lazy("Registered by hand"),
    "import": gettext_lazy("Imported list"),
    "demo": gettext_lazy("Demo data"),
}
LEVEL_BADGES = {1: "lv-city", 2: "lv-district", 3: "lv-town", 4: "lv-community", 5: "lv-grid"}


@register.filter
def thousands(value: Any) -> str:
    """12,345 in every language: operators compare counts across columns at a glance, and
    Django's zh-Hans number format has no grouping."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source))


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "badge-muted")


@register.filter
def level_badge(level: int) -> str:
    return LEVEL_BADGES.get(level, "badge-muted")


def _rings(geometry: Any) -> list[list[tuple[float, float]]]:
    """Outer rings of a GeoJSON Polygon or MultiPolygon; anything else yields none."""
    if not isinstance(geometry, dict):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    polygons: Iterable[Any] = (
        [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    )
    rings = []
    for polygon in polygons:
        try:
            rings.append([(float(pt[0]), float(pt[1])) for pt in polygon[0]])
        except (TypeError, ValueError, IndexError):
            continue
    return [r for r in rings if len(r) >= 3]


@register.simple_tag
def polygon_svg(geometry: Any, size: int = 44) -> SafeString | str:
    """The polygon's outline scaled into a size×size box (north up, longitudes shrunk by
    cos(latitude) so shapes are not stretched)."""
    rings = _rings(geometry)
    if not rings:
        return ""
    points = [pt for ring in rings for pt in ring]
    lngs, lats = [p[0] for p in points], [p[1] for p in points]
    shrink = math.cos(math.radians((min(lats) + max(lats)) / 2)) or 1.0
    width = (max(lngs) - min(lngs)) * shrink or 1e-9
    height = (max(lats) - min(lats)) or 1e-9
    scale = (size - 4) / max(width, height)
    path = " ".join(
        "M"
        + " L".join(
            f"{2 + (lng - min(lngs)) * shrink * scale:.1f},{2 + (max(lats) - lat) * scale:.1f}"
            for lng, lat in ring
        )
        + " Z"
        for ring in rings
    )
    return format_html(
        '<svg class="shape" width="{0}" height="{0}" viewBox="0 0 {0} {0}" role="img" '
        'aria-label="{1}"><path d="{2}"/></svg>',
        size,
        _("grid outline"),
        path,
    )


@register.filter
def masked(name: str) -> str:
    """A person's name as every page shows it (张*三): the full name only on an audited print."""
    return mask_name(name or "")
