"""The permission table written out for operators: `fangkong permissions --write` renders it
into docs/permissions.md (zh-Hans) and docs/permissions.en.md; a test keeps both current."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from fangkong.core.models import Role
from fangkong.core.permissions import Reach, Rule, rules

DOCS = {"zh-hans": "docs/permissions.md", "en": "docs/permissions.en.md"}


def _reach_label(reach: Reach | None) -> str:
    labels = {
        Reach.SUBTREE: _("own jurisdiction"),
        Reach.CITY: _("city-wide"),
        Reach.INSTITUTION: _("own institution"),
        Reach.ANYWHERE: _("yes"),
    }
    return labels[reach] if reach is not None else "—"


def _app_title(app: str) -> str:
    titles = {
        "core": _("Foundation"),
        "people": _("People and control measures"),
        "screening": _("Screening and risk areas"),
        "tracing": _("Cases and contact tracing"),
        "masstesting": _("Mass testing"),
    }
    return titles.get(app, app)


def _roles_in(table: list[Rule]) -> list[tuple[str, str]]:
    used = {role for r in table for role in r.grants}
    return [(value, str(label)) for value, label in Role.choices if value in used]


def render(language: str) -> str:
    """The whole document in one language: one table per app, actions × roles."""
    with translation.override(language):
        table = list(rules())
        roles = _roles_in(table)
        out = [
            "# " + _("Who may do what: the permission table"),
            "",
            _(
                "Generated from the rule tables in the code (`fangkong permissions --write`); "
                "every write service asks the same table. Reading follows the jurisdiction: "
                "records outside it are not found. A role not listed may do none of these."
            ),
            "",
            _(
                "“own jurisdiction”: the record lies in the user's region or below it; "
                "“city-wide”: only a user whose jurisdiction is the whole city; “own "
                "institution”: the user's own sampling point or lab; “yes”: no region needed."
            ),
        ]
        for app in dict.fromkeys(r.app for r in table):
            out += ["", "## " + _app_title(app), ""]
            header = [_("Action"), _("Code"), *(label for _v, label in roles)]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            for r in (r for r in table if r.app == app):
                cells = [str(r.label), f"`{r.action}`"]
                cells += [_reach_label(r.reach_for(value)) for value, _l in roles]
                out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out) + "\n"


def write_all(base: Path | None = None) -> list[Path]:
    base = base or Path(settings.BASE_DIR)
    written = []
    for language, relative in DOCS.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(language), encoding="utf-8")
        written.append(path)
    return written
