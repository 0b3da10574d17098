"""Operator pages of quarantine: the sites with their room counts and the persons still
waiting for a room (应隔尽隔), and each site's board — its room grid coloured by state, the
arrivals to check in, and one room's panel with its occupants and history.

Reads go through the quarantine selectors; writes through the quarantine services, which ask
the permission table and write the audit rows. A refused write comes back to the page it was
made from with the reason and the status the API would give (403, 409, 422).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    error_text,
    form_refused,
    form_status,
    get_scoped_or_404,
    int_param,
    refused_status,
    scoped,
)
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.core.vault import mask_name
from fangkong.quarantine import forms as qf
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import Room, RoomState, Site, SiteState, Stay, label_of
from fangkong.quarantine.services import room_import, sites, stays

AWAITING_SHOWN = 100
ARRIVALS_SHOWN = 200


def _site(request: HttpRequest, site_id: int) -> Site:
    return get_scoped_or_404(sel.site_list(actor=actor_of(request)), pk=site_id)


def _index_context(actor: User, **extra: Any) -> dict[str, Any]:
    site_rows = [(s, sel.site_room_counts(s)) for s in sel.site_list(actor=actor)]
    awaiting = sel.awaiting_room(actor=actor)
    totals = dict.fromkeys(RoomState.values, 0)
    for _site_row, counts in site_rows:
        for state, n in counts.items():
            totals[state] += n
    return {
        "sites": site_rows,
        "active_count": sum(1 for s, _c in site_rows if s.state == SiteState.ACTIVE),
        "totals": totals,
        "awaiting": [(m, mask_name(m.person.name)) for m in awaiting[:AWAITING_SHOWN]],
        "awaiting_count": awaiting.count(),
        "site_form": extra.pop("site_form", None) or qf.SiteForm(actor=actor),
        "alloc_form": extra.pop("alloc_form", None) or qf.AllocateForm(actor=actor),
        "may_manage": allowed(actor, "quarantine.site.manage"),
        "may_allocate": allowed(actor, "quarantine.allocate"),
        "may_confirm": allowed(actor, "quarantine.release.confirm"),
        **extra,
    }


@scoped
@login_required
@acts("quarantine.site.manage")
def site_index(request: HttpRequest) -> HttpResponse:
    """The sites and the waiting list; a POST registers a new site."""
    actor = actor_of(request)
    form = qf.SiteForm(request.POST or None, actor=actor)
    status = form_status(request)
    if request.method == "POST" and form.is_valid():
        try:
            site = sites.site_create(actor=actor, **form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc, {"region_id": "region"})
        else:
            messages.success(request, _("Site registered, in reserve. Add its rooms next."))
            return HttpResponseRedirect(reverse("quarantine:site", args=[site.pk]))
    context = _index_context(actor, site_form=form)
    return render(request, "quarantine/sites.html", context, status=status)


@scoped
@login_required
@require_POST
@acts("quarantine.allocate")
def allocate(request: HttpRequest) -> HttpResponse:
    """Allocate rooms to the ticked persons: one room each, or one family room for all."""
    actor = actor_of(request)
    form = qf.AllocateForm(request.POST, actor=actor)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = _allocate(actor, data)
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc, {"measure_ids": "measures", "room_id": "site"})
        else:
            if done.stays or not done.refused:
                _allocation_messages(request, done)
                return HttpResponseRedirect(reverse("quarantine:site", args=[data["site"].pk]))
            form.add_error("measures", done.refused[0][1])
            status = 409
    context = _index_context(actor, alloc_form=form)
    return render(request, "quarantine/sites.html", context, status=status)


def _allocate(actor: User, data: dict[str, Any]) -> stays.Batch:
    """A family into one room, or everyone ticked into a room each in one batch."""
    if data["family"]:
        family = stays.stays_allocate(
            actor=actor, measures=list(data["measures"]), site=data["site"], cohort=data["cohort"]
        )
        return stays.Batch(stays=family.stays, refused=[], warnings=family.warnings)
    return stays.stays_allocate_many(
        actor=actor, measures=list(data["measures"]), site=data["site"], cohort=data["cohort"]
    )


MESSAGES_SHOWN = 5


def _allocation_messages(request: HttpRequest, done: stays.Batch) -> None:
    messages.success(request, _("%(n)s persons allocated a room.") % {"n": len(done.stays)})
    reasons: dict[str, int] = {}
    for _measure, why in done.refused:
        reasons[why] = reasons.get(why, 0) + 1
    for why, n in reasons.items():
        messages.error(request, _("%(n)s not allocated: %(why)s") % {"n": n, "why": why})
    for warning in done.warnings[:MESSAGES_SHOWN]:
        messages.warning(request, warning)
    if len(done.warnings) > MESSAGES_SHOWN:
        more = len(done.warnings) - MESSAGES_SHOWN
        messages.warning(request, _("… and %(n)s more rooms near other cohorts") % {"n": more})


def _site_context(actor: User, site: Site, room_id: int | None, **extra: Any) -> dict[str, Any]:
    board = sel.site_board(actor=actor, site=site)
    arrivals = sel.stay_list(actor=actor, site=site, state="allocated")
    room = None
    if room_id is not None:
        room = sel.room_get_qs(actor=actor).filter(site=site, pk=room_id).first()
    inst = site.institution
    return {
        "site": site,
        "board": board,
        "state_label": SiteState(site.state).label,
        "moves": [(s, SiteState(s).label) for s in sites.SITE_MOVES.get(site.state, ())],
        "arrivals": [(s, mask_name(s.person.name)) for s in arrivals[:ARRIVALS_SHOWN]],
        "arrivals_count": arrivals.count(),
        "room": room,
        "room_panel": _room_panel(actor, room) if room is not None else None,
        "may_manage": allowed(actor, "quarantine.site.manage", region=site.region_path),
        "may_stay": allowed(actor, "quarantine.stay", region=site.region_path, institution=inst),
        "may_room": allowed(
            actor, "quarantine.room.state", region=site.region_path, institution=inst
        ),
        "may_allocate": allowed(actor, "quarantine.allocate", region=site.region_path),
        "state_form": extra.pop("state_form", None) or qf.RoomStateForm(),
        "room_states": RoomState.choices,
        **extra,
    }


def _room_panel(actor: User, room: Room) -> dict[str, Any]:
    occupants = sel.stay_list(actor=actor, site=room.site, open_only=True).filter(room=room)
    return {
        "occupants": [(s, mask_name(s.person.name)) for s in occupants],
        "events": [
            (e, label_of(RoomState, e.from_state), label_of(RoomState, e.to_state))
            for e in room.events.order_by("-at", "-id")[:10]
        ],
        "moves": sites.ROOM_MOVES.get(room.state, ()),
    }


@scoped
@login_required
@require_GET
def site_detail(request: HttpRequest, site_id: int) -> HttpResponse:
    actor = actor_of(request)
    site = _site(request, site_id)
    context = _site_context(actor, site, int_param(request.GET.get("room")))
    return render(request, "quarantine/site.html", context)


def _refused_on_site(
    request: HttpRequest, site: Site, exc: Exception, **extra: Any
) -> HttpResponse:
    room_id = extra.pop("room_id", None)
    context = _site_context(actor_of(request), site, room_id, error=error_text(exc), **extra)
    return render(request, "quarantine/site.html", context, status=refused_status(exc))


def _back(site: Site, room_id: int | None = None) -> HttpResponseRedirect:
    url = reverse("quarantine:site", args=[site.pk])
    return HttpResponseRedirect(f"{url}?room={room_id}" if room_id else url)


@scoped
@login_required
@require_POST
def site_state(request: HttpRequest, site_id: int) -> HttpResponse:
    site = _site(request, site_id)
    form = qf.SiteStateForm(request.POST)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    try:
        sites.site_set_state(actor=actor_of(request), site=site, state=state)
    except DOMAIN_ERRORS as exc:
        return _refused_on_site(request, site, exc)
    messages.success(request, _("Site state changed."))
    return _back(site)


@scoped
@login_required
@require_POST
@upload_limit(room_import.MAX_BYTES)
def rooms_import(request: HttpRequest, site_id: int) -> HttpResponse:
    """Upload a room list; the worker adds it whole or reports every bad row."""
    site = _site(request, site_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise FieldError("file", _("Upload an .xlsx or .csv file"))
        job = room_import.rooms_import_submit(
            actor=actor_of(request), site=site, filename=upload.name or "", content=upload
        )
    except DOMAIN_ERRORS as exc:
        return _refused_on_site(request, site, exc)
    return HttpResponseRedirect(reverse("web:file_job", args=[job.pk]))


@scoped
@login_required
@require_POST
def room_state(request: HttpRequest, room_id: int) -> HttpResponse:
    actor = actor_of(request)
    room = get_scoped_or_404(sel.room_get_qs(actor=actor), pk=room_id)
    # the room is in scope: a role that may not change it is refused before its form is read
    authorize(
        actor, "quarantine.room.state", region=room.region_path, institution=room.site.institution
    )
    form = qf.RoomStateForm(request.POST)
    if not form.is_valid():
        context = _site_context(actor, room.site, room.pk, state_form=form)
        return render(request, "quarantine/site.html", context, status=422)
    try:
        sites.room_set_state(actor=actor, room=room, **form.cleaned_data)
    except DOMAIN_ERRORS as exc:
        return _refused_on_site(request, room.site, exc, room_id=room.pk, state_form=form)
    messages.success(request, _("Room %(room)s: state changed.") % {"room": room})
    return _back(room.site, room.pk)


# what the page says after each action (the services ask the table)
STAY_ACTIONS = {
    "check-in": gettext_lazy("Checked in."),
    "check-out": gettext_lazy("Checked out; the room awaits disinfection."),
    "cancel": gettext_lazy("Allocation cancelled; the room is free again."),
}


def _stay_apply(actor: User, stay: Stay, action: str, reason: str) -> Stay:
    if action == "check-in":
        return stays.stay_check_in(actor=actor, stay=stay)
    if action == "check-out":
        return stays.stay_check_out(actor=actor, stay=stay, note=reason)
    return stays.stay_cancel(actor=actor, stay=stay, reason=reason)


@scoped
@login_required
@require_POST
def stay_action(request: HttpRequest, stay_id: int, action: str) -> HttpResponse:
    if action not in STAY_ACTIONS:
        raise Http404()
    actor = actor_of(request)
    stay = get_scoped_or_404(sel.stay_get_qs(actor=actor), pk=stay_id)
    form = qf.StayNoteForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    room_id = int_param(request.POST.get("room"))
    try:
        _stay_apply(actor, stay, action, reason)
    except DOMAIN_ERRORS as exc:
        return _refused_on_site(request, stay.site, exc, room_id=room_id)
    messages.success(request, str(STAY_ACTIONS[action]))
    return _back(stay.site, room_id)
