"""Pieces of the case page shared by the page itself and the htmx actions that redraw parts of
it: the scoped case, the investigation panel, the exposures panel and its pickers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from fangkong.core.http import actor_of, get_scoped_or_404
from fangkong.core.models import User
from fangkong.core.permissions import allowed
from fangkong.core.vault import mask_name
from fangkong.people.services.measures import active_profile
from fangkong.tracing import selectors
from fangkong.tracing.forms import ExposureForm, new_person_regions
from fangkong.tracing.models import CASE_STATUSES, Case, CaseKind, CaseStatus
from fangkong.tracing.services import cases as services

TREE_LIMIT = 2000  # the tree lists this many contacts; the API pages through the rest
EXPOSURES_SHOWN = 200
SOURCES_SHOWN = 300  # persons offered as "exposed person" besides the case's own


def may_act(actor: User, action: str, case: Case | None = None) -> bool:
    """What the table lets this user do to the case (buttons); the services check it again."""
    return allowed(actor, action, region=case.region_path if case is not None else None)


def case_flags(actor: User, case: Case) -> dict[str, bool]:
    """The case page's action flags, one per action of the table."""
    return {
        "may_act": may_act(actor, "exposure.record", case),
        "may_trace": may_act(actor, "contact.trace", case),
        "may_decide": may_act(actor, "measure.decide", case),
        "may_register": may_act(actor, "case.register", case),
        "may_investigate": may_act(actor, "investigation.run", case),
        "may_export": may_act(actor, "assistance.export", case),
    }


def case_of(request: HttpRequest, case_id: int) -> Case:
    """The case if the caller's jurisdiction holds it; 404 exactly like a missing one."""
    return get_scoped_or_404(selectors.case_get_qs(actor=actor_of(request)), pk=case_id)


def row_urls(case: Case) -> dict[str, str]:
    """Address prefixes of a contact row's links: reversing four URLs for each of 2,000 rows
    would be a quarter of the page's rendering time."""
    contact = reverse("tracing:contact_edit", args=[case.pk, 1])
    measure = reverse("people:measure_detail", args=[1])
    return {"contact": contact.removesuffix("1/"), "measure": measure.removesuffix("1/")}


def investigation_context(case: Case) -> dict[str, Any]:
    return {
        "case": case,
        "investigation": getattr(case, "investigation", None),
        "untraced": selectors.untraced_contact_count(case=case),
    }


def exposure_choices(actor: User, case: Case) -> tuple[list[tuple[int, str]], list[Any]]:
    """Who may be the exposed person (contacts of the jurisdiction short of the last traced
    generation) and where a new contact may be registered."""
    qs = selectors.exposure_sources(
        actor=actor, case=case, max_generation=active_profile().max_generation
    )
    sources = [
        (c.person_id, f"{c.person.name} {c.person.id_number_mask} · G{c.generation}")
        for c in qs[:SOURCES_SHOWN]
    ]
    return sources, new_person_regions(actor)


def _end(actor: User, person: Any) -> dict[str, Any]:
    if selectors.in_jurisdiction(actor=actor, person=person):
        return {"outside": False, "name": person.name, "id_number": person.id_number_mask}
    return {"outside": True}


def exposure_rows(actor: User, case: Case) -> dict[str, Any]:
    """The exposures recorded for the case; ends outside the jurisdiction carry no data."""
    qs = selectors.exposure_list(actor=actor, case=case)
    rows = list(qs[: EXPOSURES_SHOWN + 1])
    return {
        "exposures": [
            {"e": e, "a": _end(actor, e.person_a), "b": _end(actor, e.person_b)}
            for e in rows[:EXPOSURES_SHOWN]
        ],
        "exposures_more": len(rows) > EXPOSURES_SHOWN,
        "exposures_shown": EXPOSURES_SHOWN,
    }


def _tree(actor: Any, case: Case, edit_id: int | None = None) -> list[dict[str, Any]]:
    """Contacts grouped by generation; outsiders carry nothing but their generation."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for contact in selectors.contact_list(actor=actor, case=case)[:TREE_LIMIT]:
        inside = selectors.in_jurisdiction(actor=actor, person=contact.person)
        groups.setdefault(contact.generation, []).append(
            {
                "contact": contact,
                "inside": inside,
                "person": contact.person if inside else None,
                "editing": contact.pk == edit_id,
            }
        )
    return [{"generation": g, "rows": rows} for g, rows in sorted(groups.items())]


# the buttons that move a case on, in the order shown; the services refuse the rest
STATUS_BUTTONS = {
    CaseStatus.CONFIRMED: "btn-primary",
    CaseStatus.RECOVERED: "",
    CaseStatus.DECEASED: "",
    CaseStatus.RULED_OUT: "btn-danger",
}


def _status_actions(case: Case) -> list[dict[str, Any]]:
    allowed = services.STATUS_FLOW.get(case.status, frozenset())
    return [
        {"value": s.value, "label": s.label, "style": style}
        for s, style in STATUS_BUTTONS.items()
        if s in allowed
    ]


def _edit_id(request: HttpRequest) -> int | None:
    value = request.GET.get("edit", "")
    return int(value) if value.isdigit() else None


def case_page_context(request: HttpRequest, case: Case, **extra: Any) -> dict[str, Any]:
    """Everything the case page shows; `extra` replaces parts (a bound exposure form, the
    picker's results) when a form comes back without JavaScript."""
    actor = actor_of(request)
    counts = selectors.generation_counts(actor=actor, case=case)
    flags = case_flags(actor, case)
    acting = flags["may_act"]
    context = {
        **flags,
        **investigation_context(case),
        "masked_name": mask_name(case.person.name),
        "counts": [(g, counts.get(g, 0)) for g in range(1, max([3, *counts]) + 1)],
        "total": sum(counts.values()),
        "tree": _tree(actor, case, _edit_id(request) if flags["may_trace"] else None),
        "tree_limit": TREE_LIMIT,
        "is_confirmed": case.kind == CaseKind.CONFIRMED,
        "status_actions": _status_actions(case) if flags["may_register"] else [],
        "traceable": case.status in CASE_STATUSES,
        "row_urls": row_urls(case),
        **exposure_rows(actor, case),
    }
    if acting and "exposure_form" not in extra:
        sources, regions = exposure_choices(actor, case)
        context["exposure_form"] = ExposureForm(sources=sources, regions=regions)
    return context | extra
