"""Panels other apps add to the person page, registered by name so that people imports none
of them (mass testing shows a person's self-service link; quarantine, vaccination and the
sentinels will add theirs the same way).

An app registers from its `AppConfig.ready`:

    register_person_panel(
        "masstesting.link",
        template="masstesting/_person_panel.html",
        context="fangkong.masstesting.sampling.selectors.link_state",
    )

`context` is the dotted path of a function `(*, actor, person) -> dict`, imported when the
page is drawn; the template receives the person and that dict as `panel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PersonPanel:
    name: str
    template: str
    context: str


_PANELS: dict[str, PersonPanel] = {}


def register_person_panel(name: str, *, template: str, context: str) -> None:
    _PANELS[name] = PersonPanel(name, template, context)


def person_panels(*, actor: Any, person: Any) -> list[dict[str, Any]]:
    """The registered panels in registration order, each with its template and context."""
    return [
        {
            "name": p.name,
            "template": p.template,
            "panel": import_string(p.context)(actor=actor, person=person),
        }
        for p in _PANELS.values()
    ]
