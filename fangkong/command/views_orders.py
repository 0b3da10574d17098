"""Order pages under /command/orders/ — the orders issued in the caller's jurisdiction with
their progress, a new order to many units at once, one order unit by unit — and the meeting
page that reads pasted minutes into directives for the office to edit and confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from fangkong.command import selectors as sel
from fangkong.command.forms import LOCAL_INPUT, MinutesForm, OrderForm
from fangkong.command.minutes import Proposal, propose
from fangkong.command.models import Issue, IssueKind, ObligationRole, Unit
from fangkong.command.services import directives as dirs
from fangkong.command.services import ledger
from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    form_refused,
    get_scoped_or_404,
    int_param,
    page_number,
    page_slice,
    scoped,
)
from fangkong.core.permissions import allowed
from fangkong.core.validators import FieldError

PAGE = 50


@scoped
@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    kind = request.GET.get("kind") or None
    qs = sel.issue_list(actor=actor, now=timezone.now(), kind=kind if kind in IssueKind else None)
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=PAGE)
    context = {
        "rows": rows, "count": count, "page": page, "page_size": size, "kind": kind,
        "may_issue": allowed(actor, "command.issue"), "kinds": IssueKind.choices,
    }  # fmt: skip
    return render(request, "command/orders.html", context)


def _order_form(request: HttpRequest, data: QueryDict | None = None) -> OrderForm:
    actor = actor_of(request)
    issuers = list(sel.my_units(actor=actor))
    units = list(sel.unit_list(actor=actor).filter(active=True))
    initial = {"deadline": timezone.localtime() + dt.timedelta(days=3)}
    return OrderForm(data, issuers=issuers, units=units, initial=initial)


def _units_by_pk(request: HttpRequest) -> dict[int, Unit]:
    return {u.pk: u for u in sel.unit_list(actor=actor_of(request))}


@scoped
@login_required
@acts("command.issue")
def order_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "command/order_new.html", {"form": _order_form(request)})
    form = _order_form(request, request.POST)
    status = 422
    if form.is_valid():
        data, units = form.cleaned_data, _units_by_pk(request)
        support = [pk for pk in data["support"] if pk not in data["lead"]]
        parts = [ledger.Part(unit=units[pk]) for pk in data["lead"]]
        parts += [ledger.Part(unit=units[pk], role=ObligationRole.SUPPORT) for pk in support]
        try:
            issue = ledger.issue_create(
                actor=actor_of(request), issuer=units[data["issuer"]], kind=IssueKind.ORDER,
                title=data["title"], body=data["body"], deadline=data["deadline"],
                evidence_expected=data["evidence_expected"], parts=parts,
            )  # fmt: skip
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc, fields={"units": "lead"})
        else:
            messages.success(request, _("%(number)s issued.") % {"number": issue.number})
            return HttpResponseRedirect(reverse("command:order", args=[issue.pk]))
    return render(request, "command/order_new.html", {"form": form}, status=status)


@scoped
@login_required
@require_GET
def order_detail(request: HttpRequest, issue_id: int) -> HttpResponse:
    actor, now = actor_of(request), timezone.now()
    issue: Issue = get_scoped_or_404(sel.issue_get_qs(actor=actor, now=now), pk=issue_id)
    rows = sel.obligation_list(actor=actor, now=now, issue=issue).order_by("role", "unit__code")
    return render(request, "command/order.html", {"issue": issue, "rows": list(rows)})


# -- meeting minutes → directives ------------------------------------------------------------


def _minutes_form(request: HttpRequest, data: QueryDict | None = None) -> MinutesForm:
    issuers = list(sel.my_units(actor=actor_of(request)))
    return MinutesForm(data, issuers=issuers, initial={"held_on": timezone.localdate()})


def _render_minutes(
    request: HttpRequest, form: MinutesForm, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"form": form, "units": sel.unit_names(actor=actor_of(request)), **extra}
    return render(request, "command/minutes.html", context, status=status)


def _local(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime(LOCAL_INPUT) if value else ""


def _count(post: QueryDict) -> int:
    return min(int_param(post.get("count")) or 0, dirs.MAX_ITEMS)


def _items_from(post: QueryDict, units: dict[int, Unit]) -> list[dirs.Directive]:
    items = []
    for n in range(1, _count(post) + 1):
        if post.get(f"item-{n}-include") != "on":
            continue
        raw = post.get(f"item-{n}-deadline", "")
        try:
            deadline = timezone.make_aware(dt.datetime.strptime(raw, LOCAL_INPUT)) if raw else None
        except ValueError:
            raise FieldError(
                f"items.{n}.deadline",
                _("item %(n)d: the deadline is not a date and time") % {"n": n},
            ) from None

        def pick(part: str, n: int = n) -> list[Unit]:
            ids = [int(v) for v in post.getlist(f"item-{n}-{part}") if v.isdigit()]
            return [units[pk] for pk in ids if pk in units]

        items.append(dirs.Directive(duty=post.get(f"item-{n}-duty", ""), lead=pick("lead"),
                                    support=pick("support"), deadline=deadline))  # fmt: skip
    return items


@scoped
@login_required
@acts("command.issue")
def minutes(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_minutes(request, _minutes_form(request))
    form = _minutes_form(request, request.POST)
    if not form.is_valid():
        return _render_minutes(request, form, 422)
    data = form.cleaned_data
    if request.POST.get("step") != "confirm":
        proposals = propose(data["minutes"], sel.unit_names(actor=actor_of(request)),
                            timezone.now())  # fmt: skip
        return _render_minutes(request, form, proposals=_rows(proposals))
    units = _units_by_pk(request)
    try:
        issued = dirs.directives_confirm(
            actor=actor_of(request), issuer=units[data["issuer"]], title=data["title"],
            held_on=data["held_on"], minutes=data["minutes"],
            directives=_items_from(request.POST, units),
        )  # fmt: skip
    except DOMAIN_ERRORS as exc:
        return _render_minutes(request, form, 422, proposals=_posted_rows(request.POST),
                               refusal=str(exc))  # fmt: skip
    messages.success(request, _("%(n)d directives issued.") % {"n": len(issued)})
    return HttpResponseRedirect(reverse("command:orders") + "?kind=directive")


def _rows(proposals: list[Proposal]) -> list[dict[str, Any]]:
    return [
        {"n": n, "include": True, "duty": p.duty, "lead": p.lead, "support": p.support,
         "deadline": _local(p.deadline), "deadline_text": p.deadline_text,
         "needs_deadline": p.needs_deadline}
        for n, p in enumerate(proposals, start=1)
    ]  # fmt: skip


def _posted_rows(post: QueryDict) -> list[dict[str, Any]]:
    """The rows as the office last edited them, shown again with the refusal."""
    return [
        {"n": n, "include": post.get(f"item-{n}-include") == "on",
         "duty": post.get(f"item-{n}-duty", ""),
         "lead": [int(v) for v in post.getlist(f"item-{n}-lead") if v.isdigit()],
         "support": [int(v) for v in post.getlist(f"item-{n}-support") if v.isdigit()],
         "deadline": post.get(f"item-{n}-deadline", ""), "deadline_text": "",
         "needs_deadline": not post.get(f"item-{n}-deadline")}
        for n in range(1, _count(post) + 1)
    ]  # fmt: skip
