"""People list (filters, paging, POST-only search), person page and the audited reveal."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.http import (
    Forbidden,
    actor_of,
    error_text,
    get_scoped_or_404,
    is_partial,
    page_slice,
    scoped,
)
from fangkong.core.middleware import client_ip
from fangkong.core.permissions import allowed, authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.people import search
from fangkong.people.forms import PersonFilterForm, PersonSearchForm, RevealForm
from fangkong.people.panels import person_panels
from fangkong.people.selectors import persons as selectors
from fangkong.people.services import persons as services
from fangkong.people.views.measures import person_control_context

PAGE_SIZE = 50
# Lists show masks only; not even loading the ciphertext keeps it out of memory and logs.
CIPHERTEXT = ("id_number_ct", "phone_ct", "address_ct")


@scoped
@login_required
@require_GET
def person_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = PersonFilterForm(request.GET, actor=actor)
    filters = form.filters()
    qs = selectors.person_list(actor=actor, **{k: v or None for k, v in filters.items()})
    qs = qs.defer(*CIPHERTEXT)
    page_no = form.cleaned_data.get("page") or 1
    count, page_no, size, rows = page_slice(qs, page=page_no, page_size=PAGE_SIZE)
    last_page = max(1, math.ceil(count / size))
    if page_no > last_page:  # a stale link past the end shows the last page, not nothing
        count, page_no, size, rows = page_slice(qs, page=last_page, page_size=PAGE_SIZE)
    context: dict[str, Any] = {
        "form": form,
        "search_form": PersonSearchForm(),
        "persons": rows,
        "count": count,
        "page": page_no,
        "num_pages": last_page,
        "first_row": (page_no - 1) * size + 1 if count else 0,
        "last_row": min(page_no * size, count),
        "filtered": any(filters.values()),
        "personal_data": scope_of(actor).personal_data,
    }
    template = "people/persons/_results.html" if is_partial(request) else "people/persons/list.html"
    return render(request, template, context)


@scoped
@login_required
@require_POST
@sensitive_post_parameters("id_number", "phone")
def person_search(request: HttpRequest) -> HttpResponse:
    """Exact lookup by ID number or phone: a POST body, so the value never enters a URL."""
    actor = actor_of(request)
    if not allowed(actor, "person.search"):
        return HttpResponse(_("Your role may not search by ID number or phone."), status=403)
    form = PersonSearchForm(request.POST)
    persons: list[Any] = []
    if form.is_valid():
        try:
            persons = search.person_search(
                actor=actor,
                id_number=form.cleaned_data["id_number"],
                phone=form.cleaned_data["phone"],
                client_ip=client_ip(request),
            )
        except search.SearchThrottled as exc:
            busy = HttpResponse(_("Too many searches; try again later."), status=429)
            busy["Retry-After"] = str(exc.retry_after)
            return busy
    context: dict[str, Any] = {
        # a fresh form: the number searched for is not echoed back into the page
        "search_form": PersonSearchForm(),
        "search_errors": [str(e) for errors in form.errors.values() for e in errors],
        "searched": True,
        "persons": persons,
        "count": len(persons),
        "personal_data": scope_of(actor).personal_data,
    }
    status = 200 if form.is_valid() else 422
    if is_partial(request):
        return render(request, "people/persons/_search_results.html", context, status=status)
    # Without htmx (no JavaScript) the list page comes back with the matches in place.
    context["form"] = PersonFilterForm(actor=actor)
    return render(request, "people/persons/list.html", context, status=status)


@scoped
@login_required
@require_GET
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = actor_of(request)
    person = get_scoped_or_404(selectors.person_get_qs(actor=actor), pk=person_id)
    context = {
        "person": person,
        "reveal_form": RevealForm(),
        "may_reveal": allowed(actor, "person.reveal", region=person.region_path),
        "control": person_control_context(actor=actor, person=person),
        "panels": person_panels(actor=actor, person=person),
    }
    return render(request, "people/persons/detail.html", context)


@scoped
@login_required
@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    actor = actor_of(request)
    person = get_scoped_or_404(selectors.person_get_qs(actor=actor), pk=person_id)
    authorize(actor, "person.reveal", region=person.region_path)
    form = RevealForm(request.POST)
    context: dict[str, Any] = {
        "person": person,
        "reveal_form": form,
        "may_reveal": True,
        "partial": is_partial(request),
    }
    status = 200
    if form.is_valid():
        try:
            context["revealed"] = services.person_reveal(
                actor=actor,
                person=person,
                fields=form.cleaned_data["fields_wanted"],
                reason=form.cleaned_data["reason"],
                client_ip=client_ip(request),
            )
        except Forbidden as exc:
            context.update(may_reveal=False, forbidden=error_text(exc))
            status = 403
        except FieldError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
            status = 422
    else:
        status = 422
    # Without htmx (no JavaScript) the whole page comes back with the values in place.
    template = "people/persons/_reveal.html" if context["partial"] else "people/persons/detail.html"
    return render(request, template, context, status=status)
