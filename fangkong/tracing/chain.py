"""The transmission-chain graph of one case as JSON for the ECharts `graph` series.

Node ids are opaque and drawn afresh for every response, so the JSON carries no person id.
A contact living outside the viewer's jurisdiction appears only as a node labelled "outside
your jurisdiction" with its generation: no name, no masked ID, no region, no measure.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.utils.translation import gettext as _

from fangkong.core.models import User
from fangkong.core.vault import mask_name
from fangkong.people.models import Person
from fangkong.tracing.models import Case, CaseContact
from fangkong.tracing.selectors import contact_list, in_jurisdiction

MAX_NODES = 3000  # past this a force layout is unreadable; the tree lists everyone


def _measure_label(contact: CaseContact) -> dict[str, Any]:
    measure = contact.measure
    if measure is None:
        return {"plan": "", "state": "", "state_label": _("No measure")}
    return {
        "plan": measure.plan.name,
        "state": measure.state,
        "state_label": str(measure.get_state_display()),
    }


def _person_node(node_id: str, person: Person, generation: int) -> dict[str, Any]:
    return {
        "id": node_id,
        "generation": generation,
        "outside": False,
        "name": mask_name(person.name),
        "id_number": person.id_number_mask,
        "region": person.region.name,
    }


def _outside_node(node_id: str, generation: int) -> dict[str, Any]:
    return {
        "id": node_id,
        "generation": generation,
        "outside": True,
        "name": _("Outside your jurisdiction"),
    }


def chain_graph(*, actor: User, case: Case) -> dict[str, Any]:
    """Nodes (the case and its contacts) and links (each contact to its path parent)."""
    contacts = list(contact_list(actor=actor, case=case)[: MAX_NODES + 1])
    truncated = len(contacts) > MAX_NODES
    contacts = contacts[:MAX_NODES]
    opaque = {case.person_id: secrets.token_urlsafe(9)}
    for contact in contacts:
        opaque[contact.person_id] = secrets.token_urlsafe(9)
    root = {
        **_person_node(opaque[case.person_id], case.person, 0),
        "case": True,
        "measure": {"plan": "", "state": "", "state_label": str(case.get_kind_display())},
    }
    nodes, links = [root], []
    counts: dict[int, int] = {}
    for contact in contacts:
        node_id = opaque[contact.person_id]
        if in_jurisdiction(actor=actor, person=contact.person):
            node = _person_node(node_id, contact.person, contact.generation)
            node["measure"] = _measure_label(contact)
            node["under_control"] = bool(getattr(contact, "under_control", False))
        else:
            node = _outside_node(node_id, contact.generation)
        nodes.append(node)
        counts[contact.generation] = counts.get(contact.generation, 0) + 1
        parent = opaque.get(contact.parent_id) if contact.parent_id else None
        if parent is not None:
            links.append({"source": parent, "target": node_id})
    return {
        "nodes": nodes,
        "links": links,
        "counts": {str(g): n for g, n in sorted(counts.items())},
        "truncated": truncated,
    }
