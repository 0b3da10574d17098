"""Template context shared by every page: the module navigation and the language switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Module:
    key: str
    label: str | Promise
    url_name: str | None  # None: planned module, shown greyed and never linked
    # url names that highlight this entry; "<namespace>:*" stands for a whole app's pages
    sections: tuple[str, ...] = ()


MODULES: tuple[Module, ...] = (
    Module("home", pgettext_lazy("navigation", "Overview"), "web:home", ("home",)),
    Module(
        "people",
        pgettext_lazy("navigation", "People"),
        "people:person_list",
        ("people:person_list", "people:person_detail"),
    ),
    Module(
        "imports",
        pgettext_lazy("navigation", "Import"),
        "people:import_upload",
        ("people:import_upload", "people:import_job"),
    ),
    Module("regions", pgettext_lazy("navigation", "Regions"), "web:region_tree", ("region_tree",)),
    Module(
        "control",
        pgettext_lazy("navigation", "Control measures"),
        "people:measure_list",
        ("people:measure_list", "people:measure_detail", "people:measure_transition"),
    ),
    Module(
        "screening",
        pgettext_lazy("navigation", "Screening"),
        "screening:inbox",
        tuple(
            f"screening:{name}"
            for name in (
                "inbox",
                "new",
                "lookup",
                "detail",
                "confirm",
                "reject",
                "risk_areas",
                "risk_area_import",
                "risk_area_revise",
                "risk_area_close",
                "zones",
                "zone_close",
                "rules",
                "rule_new",
                "rule_edit",
                "assistance_list",
                "assistance_detail",
            )
        ),
    ),
    Module(
        "tracing",
        pgettext_lazy("navigation", "Tracing"),
        "tracing:case_list",
        (
            "tracing:case_list",
            "tracing:case_detail",
            "tracing:case_new",
            "tracing:investigation_list",
            "tracing:config",
            "tracing:plan_new",
            "tracing:plan_edit",
        ),
    ),
    Module(
        "quarantine",
        pgettext_lazy("navigation", "Quarantine"),
        "quarantine:sites",
        ("quarantine:*",),
    ),
    Module(
        "masstesting",
        pgettext_lazy("navigation", "Mass testing"),
        "masstesting:board",
        ("masstesting:*", "keygroups:*"),
    ),
    Module("sentinel", pgettext_lazy("navigation", "Sentinels"), None),
    Module("coldchain", pgettext_lazy("navigation", "Cold chain"), None),
    Module("supplies", pgettext_lazy("navigation", "Supplies"), None),
    Module("vaccination", pgettext_lazy("navigation", "Vaccination"), None),
    Module(
        "command",
        pgettext_lazy("navigation", "Command & dispatch"),
        "command:queue",
        ("command:*",),
    ),
    Module("supervision", pgettext_lazy("navigation", "Supervision"), None),
    Module("dashboard", pgettext_lazy("navigation", "Command map"), None),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match and match.namespace == "web" else None
    items = [
        {
            "key": m.key,
            "label": m.label,
            "href": reverse(m.url_name) if m.url_name else None,
            # other apps' pages name their sections with the namespace ("people:...")
            "active": current in m.sections
            or (match and match.view_name) in m.sections
            or (match and f"{match.namespace}:*") in m.sections,
        }
        for m in MODULES
    ]
    return {
        "nav_live": [i for i in items if i["href"]],
        "nav_coming": [i for i in items if not i["href"]],
        "ui_languages": settings.LANGUAGES,
    }
