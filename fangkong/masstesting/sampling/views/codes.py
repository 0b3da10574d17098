"""Printable registration-code sheets for households without phones, and a resident's
self-service link (issued, shown once with its QR, rotated or revoked).

A community or grid worker (or a town, a district) picks a grid, sees its residents and
prints the codes of all of them or of the ones ticked: an A4 page of cards, each with the QR,
the masked name and ID number, the grid and short instructions. Printing creates missing
codes in bulk and writes one audit row per sheet (who printed which grid, how many cards).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.http import actor_of, get_scoped_or_404, int_param, scoped
from fangkong.core.middleware import client_ip
from fangkong.core.models import Region, RegionLevel, User
from fangkong.core.permissions import allowed
from fangkong.core.selectors import region_list
from fangkong.core.vault import mask_name
from fangkong.masstesting.sampling.selectors import link_state
from fangkong.masstesting.sampling.services.codes import (
    MAX_SHEET_PERSONS,
    code_sheet_generate,
    link_qr_svg,
    self_service_link_issue,
    self_service_link_revoke,
)
from fangkong.people.selectors.persons import person_get_qs, person_list

CARDS_PER_PAGE = 10
MAX_GRID_OPTIONS = 2000


def _grids(actor: User) -> Any:
    return region_list(actor=actor, level=RegionLevel.GRID).select_related("parent")


def _residents(actor: User, grid: Region) -> Any:
    return person_list(actor=actor).filter(region_path__startswith=grid.path).order_by("name", "pk")


@scoped
@login_required
@require_GET
def code_sheets(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    grids = list(_grids(actor).order_by("path")[:MAX_GRID_OPTIONS])
    grid_id = int_param(request.GET.get("grid"))
    grid = get_scoped_or_404(_grids(actor), pk=grid_id) if grid_id else None
    residents: list[dict[str, Any]] = []
    if grid is not None:
        rows = _residents(actor, grid).values_list("pk", "name", "id_number_mask", "reg_code__id")
        residents = [
            {"id": pk, "masked_name": mask_name(name), "id_mask": id_mask, "has_code": bool(c)}
            for pk, name, id_mask, c in rows[:MAX_SHEET_PERSONS]
        ]
    context = {
        "grids": grids,
        "grid": grid,
        "residents": residents,
        "with_code": sum(1 for r in residents if r["has_code"]),
        "max_persons": MAX_SHEET_PERSONS,
        "personal_data": allowed(actor, "code.read"),
    }
    return render(request, "masstesting/codes.html", context)


@scoped
@login_required
@require_POST
def code_sheet_print(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not allowed(actor, "code.read"):
        raise PermissionDenied
    grid = get_scoped_or_404(_grids(actor), pk=int_param(request.POST.get("grid")))
    residents = _residents(actor, grid).select_related(None).only("pk", "name", "id_number_mask")
    if request.POST.get("scope") != "grid":
        wanted = [i for i in map(int_param, request.POST.getlist("person")) if i]
        residents = residents.filter(pk__in=wanted)
    cards = code_sheet_generate(
        actor=actor, grid=grid, persons=residents[:MAX_SHEET_PERSONS], client_ip=client_ip(request)
    )
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    context = {"grid": grid, "pages": pages, "count": len(cards)}
    return render(request, "masstesting/codes_print.html", context)


@scoped  # the person is read through people.selectors.person_get_qs
@login_required
@require_http_methods(["GET", "POST"])
def person_link(request: HttpRequest, person_id: int) -> HttpResponse:
    """Issue (or replace) the link and show it once, with its QR; or revoke it."""
    actor = actor_of(request)
    person = get_scoped_or_404(person_get_qs(actor=actor), pk=person_id)
    context: dict[str, Any] = {"person": person}
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            self_service_link_revoke(actor=actor, person=person)
            messages.success(request, _("The self-service link was revoked; it no longer opens."))
            return redirect("masstesting:person_link", person_id=person.pk)
        url = request.build_absolute_uri(self_service_link_issue(actor=actor, person=person))
        context.update(url=url, qr=link_qr_svg(url))
    context["link"] = link_state(actor=actor, person=person)
    response = render(request, "masstesting/person_link.html", context)
    response["Cache-Control"] = "no-store"  # the page holds a secret once
    return response
