"""The overview page: the user's jurisdiction and what is in it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from fangkong.core import selectors as core_selectors
from fangkong.core.http import actor_of, scoped
from fangkong.core.models import Role
from fangkong.core.permissions import allowed
from fangkong.core.scoping import scope_of
from fangkong.people.models import KeyGroup
from fangkong.people.selectors import persons as people_selectors
from fangkong.quarantine.reserve import alarms as reserve_alarms

RECENT_IMPORTS = 5
# Roles whose whole job is one page start there: a sampler's phone opens on the scan page,
# a driver's on their transfers.
WORKBENCH: dict[str, str] = {
    Role.SAMPLER: "masstesting:sampler",
    Role.LAB: "masstesting:lab",
    Role.DRIVER: "quarantine:transfers_mine",
}


@scoped
@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.role in WORKBENCH:
        return redirect(WORKBENCH[actor.role])
    persons = people_selectors.person_list(actor=actor)
    by_group = (
        persons.exclude(key_group="")
        .order_by()
        .values("key_group")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    labels = dict(KeyGroup.choices)
    key_groups = [(labels.get(row["key_group"], row["key_group"]), row["n"]) for row in by_group]
    roots = list(core_selectors.region_roots(actor=actor)[:1])
    children = list(core_selectors.region_children(actor=actor, region=roots[0])) if roots else []
    context = {
        "home_region": actor.region,
        "institution": actor.institution,
        "personal_data": scope_of(actor).personal_data,
        "person_count": persons.count(),
        "key_groups": key_groups,
        "key_group_total": sum(n for _, n in key_groups),
        "child_regions": children,
        "recent_imports": list(people_selectors.import_job_list(actor=actor)[:RECENT_IMPORTS]),
        # the units that keep quarantine sites are the ones to act on a shortage of rooms
        "reserve_alarms": (
            reserve_alarms(actor=actor) if allowed(actor, "quarantine.site.manage") else []
        ),
    }
    return render(request, "web/home.html", context)
