"""Campaign planning pages: the campaign list, a new campaign (region, pooling, window, key
groups with their own pool sizes), a campaign's points with the grids they serve, their hours,
capacity and teams, and the grids no point serves yet. Writes go through the services."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.core.http import (
    Conflict,
    actor_of,
    acts,
    error_text,
    form_status,
    get_scoped_or_404,
    page_number,
    page_slice,
    scoped,
)
from fangkong.core.models import InstitutionKind, RegionLevel, User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import POOL_SIZES, Campaign, CampaignStatus, SamplingPoint
from fangkong.masstesting.planning import selectors, services
from fangkong.people.models import KeyGroup

POOL_CHOICES: list[tuple[int, Any]] = [
    (n, f"{n}:1" if n > 1 else gettext_lazy("single tube")) for n in POOL_SIZES
]
DT_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
GROUPS = [(v, label) for v, label in KeyGroup.choices if v]


def _model_choice(label: Any, *, many: bool = False, **kw: Any) -> Any:
    """A model choice field whose queryset each form sets for its actor in __init__."""
    cls: Any = forms.ModelMultipleChoiceField if many else forms.ModelChoiceField
    return cls(label=label, queryset=None, **kw)


def _set_choices(form: forms.Form, name: str, qs: Any) -> None:
    field: Any = form.fields[name]
    field.queryset = qs


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    region = _model_choice(gettext_lazy("Region"))
    pool_size = forms.TypedChoiceField(
        label=gettext_lazy("Pooling ratio"), choices=POOL_CHOICES, coerce=int, initial=10
    )
    starts_at = forms.DateTimeField(label=gettext_lazy("Starts at"), widget=DT_WIDGET)
    ends_at = forms.DateTimeField(label=gettext_lazy("Ends at"), widget=DT_WIDGET)
    key_groups = forms.MultipleChoiceField(
        label=gettext_lazy("Key groups only (leave empty for every resident)"),
        choices=GROUPS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regions = selectors.region_list(actor=actor).filter(level__lte=RegionLevel.COMMUNITY)
        _set_choices(self, "region", regions)
        for value, label in GROUPS:
            self.fields[f"pool_{value}"] = forms.TypedChoiceField(
                label=label,
                choices=[("", _("as the campaign")), *POOL_CHOICES],
                coerce=int,
                required=False,
                empty_value=None,
            )

    def group_rows(self) -> list[tuple[str, Any, Any, bool]]:
        chosen = set(self["key_groups"].value() or [])
        return [(v, label, self[f"pool_{v}"], v in chosen) for v, label in GROUPS]

    def group_pool_sizes(self) -> dict[str, int]:
        return {
            v: self.cleaned_data[f"pool_{v}"]
            for v, _label in GROUPS
            if self.cleaned_data.get(f"pool_{v}")
        }


class PointForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    region = _model_choice(gettext_lazy("Community"))
    institution = _model_choice(gettext_lazy("Sampling institution"), required=False)
    grids = _model_choice(
        gettext_lazy("Grids served"),
        many=True,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )
    opening_hours = forms.CharField(
        label=gettext_lazy("Opening hours"), max_length=200, required=False, initial="07:00-21:00"
    )
    hourly_capacity = forms.IntegerField(
        label=gettext_lazy("People per hour"), min_value=0, initial=120
    )

    def __init__(self, *args: Any, actor: User, campaign: Campaign, edit: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        inside = selectors.region_list(actor=actor).filter(path__startswith=campaign.region.path)
        _set_choices(self, "grids", inside.filter(level=RegionLevel.GRID))
        if edit:
            for name in ("name", "region", "institution"):
                del self.fields[name]
            return
        _set_choices(self, "region", inside.filter(level=RegionLevel.COMMUNITY))
        institutions = selectors.institution_list(actor=actor)
        _set_choices(self, "institution", institutions.filter(kind=InstitutionKind.SAMPLING_POINT))


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    shift = forms.CharField(
        label=gettext_lazy("Shift"), max_length=100, required=False, initial="07:00-14:00"
    )
    size = forms.IntegerField(
        label=gettext_lazy("Team size"), min_value=1, max_value=100, initial=4
    )
    samplers = _model_choice(
        gettext_lazy("Samplers"), many=True, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, actor: User, point: SamplingPoint, **kw: Any) -> None:
        super().__init__(*args, **kw)
        samplers = selectors.sampler_list(actor=actor, institution=point.institution)
        _set_choices(self, "samplers", samplers)


def _apply(form: forms.Form, request: HttpRequest, call: Any) -> Any:
    """Run a service; its field errors land on the form, a conflict becomes a message. A
    refusal (Forbidden) is not caught: the page answers 403."""
    try:
        return call()
    except FieldError as exc:
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, exc.message)
    except Conflict as exc:
        messages.error(request, error_text(exc))
    return None


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    return get_scoped_or_404(selectors.campaign_list(actor=actor_of(request)), pk=campaign_id)


def _point(request: HttpRequest, point_id: int) -> SamplingPoint:
    return get_scoped_or_404(selectors.point_list(actor=actor_of(request)), pk=point_id)


@scoped
@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    qs = selectors.campaign_list(actor=actor).order_by("-starts_at", "-id")
    count, page, size, rows = page_slice(qs, page=page_number(request), page_size=30)
    context = {
        "campaigns": rows,
        "count": count,
        "page": page,
        "num_pages": max(1, math.ceil(count / size)),
        "may_plan": services.may_plan(actor),
    }
    return render(request, "masstesting/plan_list.html", context)


@scoped
@login_required
@acts("campaign.plan")
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.method == "POST":
        form = CampaignForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            campaign = _apply(
                form,
                request,
                lambda: services.campaign_create(
                    actor=actor,
                    name=data["name"],
                    region=data["region"],
                    pool_size=data["pool_size"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    key_groups=data["key_groups"],
                    group_pool_sizes=form.group_pool_sizes(),
                ),
            )
            if campaign is not None:
                messages.success(request, _("Campaign created. Now add its sampling points."))
                return redirect("masstesting:campaign_detail", campaign_id=campaign.pk)
    else:
        now = timezone.localtime().replace(minute=0, second=0, microsecond=0)
        form = CampaignForm(
            actor=actor,
            initial={"starts_at": now, "ends_at": now + dt.timedelta(hours=24)},
        )
    context = {"form": form, "may_plan": services.may_plan(actor)}
    return render(request, "masstesting/plan_new.html", context, status=form_status(request))


@scoped
@login_required
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = _campaign(request, campaign_id)
    summary = selectors.assignment_summary(actor=actor, campaign=campaign)
    labels = dict(KeyGroup.choices)
    context = {
        "campaign": campaign,
        "summary": summary,
        "may_plan": services.may_plan(actor),
        # a town may add its own points to the city's campaign, but only the city closes it
        "may_close": allowed(actor, "campaign.plan", region=campaign.region),
        "is_open": campaign.status != CampaignStatus.CLOSED,
        "groups": [labels.get(g, g) for g in campaign.key_groups],
        "group_pools": [(labels.get(g, g), n) for g, n in campaign.group_pool_sizes.items()],
    }
    return render(request, "masstesting/plan_detail.html", context)


@scoped
@login_required
@require_POST
def campaign_close(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    authorize(actor_of(request), "campaign.plan", region=campaign.region)
    try:
        services.campaign_close(actor=actor_of(request), campaign=campaign)
        messages.success(request, _("The campaign is closed; no more samples are accepted."))
    except Conflict as exc:
        messages.error(request, error_text(exc))
    return redirect("masstesting:campaign_detail", campaign_id=campaign.pk)


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def point_new(request: HttpRequest, campaign_id: int) -> HttpResponse:
    actor = actor_of(request)
    campaign = _campaign(request, campaign_id)
    if request.method == "POST":  # the point's own region is a field: the service checks it
        authorize(actor, "campaign.plan")
    form = PointForm(request.POST or None, actor=actor, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        point = _apply(
            form,
            request,
            lambda: services.point_create(
                actor=actor,
                campaign=campaign,
                name=data["name"],
                region=data["region"],
                institution=data["institution"],
                grids=list(data["grids"]),
                opening_hours=data["opening_hours"],
                hourly_capacity=data["hourly_capacity"],
            ),
        )
        if point is not None:
            messages.success(request, _("Sampling point added."))
            return redirect("masstesting:campaign_detail", campaign_id=campaign.pk)
    context = {"form": form, "campaign": campaign, "point": None}
    return render(request, "masstesting/plan_point.html", context, status=form_status(request))


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def point_edit(request: HttpRequest, point_id: int) -> HttpResponse:
    actor = actor_of(request)
    point = _point(request, point_id)
    if request.method == "POST":
        authorize(actor, "campaign.plan", region=point.region)
    initial = {
        "grids": list(point.grids.all()),
        "opening_hours": point.opening_hours,
        "hourly_capacity": point.hourly_capacity,
    }
    form = PointForm(
        request.POST or None, actor=actor, campaign=point.campaign, edit=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _apply(
            form,
            request,
            lambda: services.point_update(
                actor=actor,
                point=point,
                grids=list(data["grids"]),
                opening_hours=data["opening_hours"],
                hourly_capacity=data["hourly_capacity"],
            ),
        )
        if done is not None:
            messages.success(request, _("Sampling point updated."))
            return redirect("masstesting:campaign_detail", campaign_id=point.campaign_id)
    context = {"form": form, "campaign": point.campaign, "point": point}
    return render(request, "masstesting/plan_point.html", context, status=form_status(request))


@scoped
@login_required
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest, point_id: int) -> HttpResponse:
    actor = actor_of(request)
    point = _point(request, point_id)
    if request.method == "POST":
        authorize(actor, "campaign.plan", region=point.region)
    form = TeamForm(request.POST or None, actor=actor, point=point)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team = _apply(
            form,
            request,
            lambda: services.team_create(
                actor=actor,
                point=point,
                name=data["name"],
                shift=data["shift"],
                size=data["size"],
                samplers=list(data["samplers"]),
            ),
        )
        if team is not None:
            messages.success(request, _("Team added."))
            return redirect("masstesting:campaign_detail", campaign_id=point.campaign_id)
    context = {"form": form, "campaign": point.campaign, "point": point}
    return render(request, "masstesting/plan_team.html", context, status=form_status(request))
