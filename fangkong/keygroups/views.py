"""Operator pages of key-group routine testing: regimes, members with due dates, and the
weekly bulletin (一周一通报) with its xlsx export.

Reads go through the group selectors (scoped to the actor); writes through the group services,
which check the planner role and the jurisdiction and write the audit rows.
"""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fangkong.core.bodylimit import upload_limit
from fangkong.core.http import (
    DOMAIN_ERRORS,
    actor_of,
    acts,
    error_text,
    form_status,
    get_scoped_or_404,
    int_param,
    page_number,
    refused_status,
    scoped,
    xlsx_response,
)
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.selectors import region_roots
from fangkong.keygroups import selectors as sel
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupRegime
from fangkong.keygroups.sheets import LOW_COMPLIANCE, bulletin_export, bulletin_title
from fangkong.masstesting.planning import services
from fangkong.masstesting.planning.selectors import region_list
from fangkong.masstesting.planning.views import GROUPS, POOL_CHOICES

PAGE_SIZE = 50
LAGGARDS_SHOWN = 100  # the rest are in the xlsx export


class RegimeForm(forms.Form):
    region: forms.ModelChoiceField[Region] = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("Region")
    )
    key_group = forms.ChoiceField(choices=GROUPS, label=gettext_lazy("Key group"))
    every_days = forms.IntegerField(
        label=gettext_lazy("Test every (days)"), min_value=1, max_value=groups.MAX_EVERY_DAYS
    )
    pool_size = forms.TypedChoiceField(
        choices=POOL_CHOICES, coerce=int, label=gettext_lazy("Pooling")
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Planners set regimes for their own region and the districts/towns below it.
        self.fields["region"].queryset = region_list(actor=actor).filter(level__lte=3)  # type: ignore[attr-defined]


class RegimeEditForm(forms.Form):
    every_days = forms.IntegerField(
        label=gettext_lazy("Test every (days)"), min_value=1, max_value=groups.MAX_EVERY_DAYS
    )
    pool_size = forms.TypedChoiceField(
        choices=POOL_CHOICES, coerce=int, label=gettext_lazy("Pooling")
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)


@scoped
@login_required
@acts("keygroup.manage")
def regimes(request: HttpRequest) -> HttpResponse:
    """The entry page: the regimes of the jurisdiction, a form for a new one, and the sync."""
    actor = actor_of(request)
    form = RegimeForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            groups.regime_create(actor=actor, **form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Regime saved."))
            return HttpResponseRedirect(reverse("keygroups:groups"))
    rules = sel.rules_for(actor=actor)
    members = sel.member_list(actor=actor)
    overdue = sel.member_list(actor=actor, overdue=True, rules=rules)
    regime_rows = list(sel.regime_list(actor=actor))
    member_count, overdue_count = members.count(), overdue.count()
    context = {
        "regimes": [(r, sel.group_label(r.key_group)) for r in regime_rows],
        "active_count": sum(1 for r in regime_rows if r.active),
        "form": form,
        "may_plan": services.may_plan(actor),
        "member_count": member_count,
        "overdue_count": overdue_count,
        "on_time": member_count - overdue_count,
        "roots": list(region_roots(actor=actor)),
    }
    return render(request, "keygroups/groups.html", context, status=form_status(request))


def _regime(request: HttpRequest, regime_id: int) -> KeyGroupRegime:
    return get_scoped_or_404(sel.regime_list(actor=actor_of(request)), pk=regime_id)


@scoped
@login_required
def regime_edit(request: HttpRequest, regime_id: int) -> HttpResponse:
    actor = actor_of(request)
    regime = _regime(request, regime_id)
    if request.method == "POST":
        authorize(actor, "keygroup.manage", region=regime.region)
    initial = {
        "every_days": regime.every_days,
        "pool_size": regime.pool_size,
        "active": regime.active,
    }
    form = RegimeEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            groups.regime_update(actor=actor, regime=regime, **form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Regime saved."))
            return HttpResponseRedirect(reverse("keygroups:groups"))
    context = {
        "regime": regime,
        "label": sel.group_label(regime.key_group),
        "form": form,
        "may_plan": services.may_plan(actor),
    }
    return render(
        request, "keygroups/groups_regime_edit.html", context, status=form_status(request)
    )


@scoped
@login_required
@require_POST
def regime_round(request: HttpRequest, regime_id: int) -> HttpResponse:
    actor = actor_of(request)
    regime = _regime(request, regime_id)
    authorize(actor, "keygroup.manage", region=regime.region)
    try:
        hours = int(request.POST.get("hours", "24"))
        campaign = groups.routine_round_start(actor=actor, regime=regime, hours=hours)
    except ValueError:
        messages.error(request, _("Give the window in whole hours."))
    except DOMAIN_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Routine round started: %(name)s.") % {"name": campaign.name})
    return HttpResponseRedirect(reverse("keygroups:groups"))


@scoped
@login_required
@require_POST
def members_sync(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    region_id = int_param(request.POST.get("region"))
    if region_id is None:
        messages.error(request, _("Choose a region."))
        return HttpResponseRedirect(reverse("keygroups:groups_members"))
    region = get_scoped_or_404(region_list(actor=actor), pk=region_id)
    authorize(actor, "keygroup.manage", region=region)
    try:
        count = groups.members_sync(actor=actor, region=region)
    except DOMAIN_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("%(n)d people enrolled from the registry.") % {"n": count})
    return HttpResponseRedirect(reverse("keygroups:groups_members"))


@scoped
@login_required
@acts("keygroup.manage")
@require_POST
@upload_limit(groups.MAX_IMPORT_BYTES)
def members_import(request: HttpRequest) -> HttpResponse:
    """Upload a member list (身份证号, 重点人群, 单位); the worker reads it and its page shows
    the good rows kept and the bad ones listed."""
    upload = request.FILES.get("file")
    status = 422
    if upload is None:
        error = _("Upload an .xlsx or .csv file")
    else:
        try:
            job = groups.members_import_submit(
                actor=actor_of(request), filename=upload.name or "", content=upload
            )
        except DOMAIN_ERRORS as exc:
            error, status = error_text(exc), refused_status(exc)
        else:
            return HttpResponseRedirect(reverse("web:file_job", args=[job.pk]))
    context = {"error": error, "columns": groups.IMPORT_COLUMNS}
    return render(request, "keygroups/groups_import.html", context, status=status)


@scoped
@login_required
@require_GET
def members(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    key_group = request.GET.get("key_group", "")
    unit = request.GET.get("unit", "")
    overdue = {"1": True, "0": False}.get(request.GET.get("overdue", ""))
    rules = sel.rules_for(actor=actor)
    qs = sel.member_list(actor=actor, key_group=key_group, unit=unit, overdue=overdue, rules=rules)
    count = qs.count()
    num_pages = max(1, math.ceil(count / PAGE_SIZE))
    page = min(page_number(request), num_pages)
    rows = sel.member_rows(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], rules=rules)
    context = {
        "rows": rows,
        "count": count,
        "page": page,
        "num_pages": num_pages,
        "key_group": key_group,
        "unit": unit,
        "overdue": request.GET.get("overdue", ""),
        "groups": GROUPS,
        "units": sel.member_units(actor=actor),
        "may_plan": services.may_plan(actor),
        "roots": list(region_roots(actor=actor)),
        "today": timezone.localdate(),
    }
    return render(request, "keygroups/groups_members.html", context)


def _week_of(request: HttpRequest) -> tuple[int, int]:
    try:
        return sel.parse_week(request.GET.get("week", "") or request.POST.get("week", ""))
    except ValueError:
        return sel.last_complete_week()


def _region_of(request: HttpRequest, actor: User) -> Region | None:
    raw = request.GET.get("region", "") or request.POST.get("region", "")
    if not raw.isdigit():
        return None
    return get_scoped_or_404(region_list(actor=actor), pk=int(raw))


@scoped
@login_required
@require_GET
def bulletin(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    year, week = _week_of(request)
    region = _region_of(request, actor)
    c = sel.weekly_compliance(actor=actor, year=year, week=week, region=region)
    weeks = sel.week_choices()
    if c.label not in {v for v, _l in weeks}:
        weeks.insert(0, (c.label, c.label))
    context = {
        "c": c,
        "title": bulletin_title(c),
        "weeks": weeks,
        "region": region,
        "regions": list(region_list(actor=actor).filter(level__lte=3)[:200]),
        "low": LOW_COMPLIANCE,
        "laggards": c.laggards[:LAGGARDS_SHOWN],
        "laggards_more": max(0, len(c.laggards) - LAGGARDS_SHOWN),
    }
    return render(request, "keygroups/groups_bulletin.html", context)


@scoped
@login_required
@require_POST
def bulletin_xlsx(request: HttpRequest) -> HttpResponse:
    """POST, not GET: the workbook lists people, so each export is an audited act."""
    actor = actor_of(request)
    year, week = _week_of(request)
    filename, data = bulletin_export(
        actor=actor, year=year, week=week, region=_region_of(request, actor)
    )
    return xlsx_response(data, f"{filename}")
