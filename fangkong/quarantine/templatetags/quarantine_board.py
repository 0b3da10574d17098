"""The room cells of a site's board, rendered in Python: a 2,000-room site would otherwise
include a template 2,000 times per view (most of the page's time). The markup is the same as
a template would write, every value escaped by format_html."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from fangkong.quarantine.board import Cell
from fangkong.quarantine.models import RoomState

register = template.Library()

EMPTY = mark_safe('<span class="qs-room qs-room-none" aria-hidden="true"></span>')


def _labels(context: Any) -> dict[str, str]:
    # translated once per page, not once per room
    cache = context.render_context
    if "qs_labels" not in cache:
        cache["qs_labels"] = {s.value: str(s.label) for s in RoomState}
        cache["qs_family"] = _("family room")
    labels: dict[str, str] = cache["qs_labels"]
    return labels


def _cell(cell: Cell | None, current: int | None, labels: dict[str, str], family: str) -> str:
    if cell is None:
        return EMPTY
    room = cell.room
    cohort = cell.cohort
    title = labels.get(room.state, room.state) + (f" · {cohort}" if cohort else "")
    inner = format_html('<span class="qs-room-no">{}</span>', room.number)
    inner += format_html_join(
        "", '<span class="qs-who">{}</span>', ((o.name,) for o in cell.occupants)
    )
    if cohort:
        inner += format_html('<span class="qs-cohort">{}</span>', cohort)
    if room.capacity > 1:
        inner += format_html('<span class="qs-flag" title="{}">{}</span>', family, room.capacity)
    current_class = " qs-current" if current == room.pk else ""
    return format_html(
        '<a class="qs-room qs-room-{}{}" href="?room={}" data-testid="room" data-state="{}" '
        'title="{}">{}</a>',
        room.state, current_class, room.pk, room.state, title, inner,
    )  # fmt: skip


@register.simple_tag(takes_context=True)
def room_cells(context: Any, cells: list[Cell | None], current: Any = None) -> SafeString:
    """A row of room cells; `current` is the room whose panel is open (or None)."""
    labels = _labels(context)
    family = context.render_context["qs_family"]
    current_id = getattr(current, "pk", None)
    return mark_safe("".join(_cell(c, current_id, labels, family) for c in cells))  # noqa: S308
