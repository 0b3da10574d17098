"""The jurisdiction tree under the user's home region, children loaded lazily by htmx."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.core import selectors
from fangkong.core.http import actor_of, get_scoped_or_404, scoped


@scoped
@login_required
@require_GET
def region_tree(request: HttpRequest) -> HttpResponse:
    roots = selectors.region_roots(actor=actor_of(request)).order_by("code")
    return render(request, "web/regions/tree.html", {"regions": list(roots)})


@scoped
@login_required
@require_GET
def region_children(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    region = get_scoped_or_404(selectors.region_list(actor=actor), code=code)
    children = selectors.region_children(actor=actor, region=region)
    return render(request, "web/regions/_nodes.html", {"regions": list(children)})
