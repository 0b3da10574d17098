"""The capacity planner page: can a campaign finish in its window, and what is missing?

The page recomputes through htmx on every change (GET: nothing is written). The only data it
reads is the population of the user's jurisdiction, through the region selectors, as the
form's default.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from fangkong.core.http import actor_of, scoped
from fangkong.core.models import User
from fangkong.core.selectors import region_list, region_roots
from fangkong.core.validators import FieldError
from fangkong.masstesting.capacity.planner import (
    CampaignInputs,
    CampaignPlan,
    DorfmanTable,
    campaign_plan,
    dorfman_table,
    reference_scenarios,
)

POOL_CHOICES = [(1, "1:1"), (5, "5:1"), (10, "10:1"), (20, "20:1")]
EXAMPLE_POPULATION = 150_000
DEFAULTS: dict[str, Any] = {
    "pool_size": 10,
    "prevalence_pct": 0.1,
    "lab_tubes_per_day": "2200",
    "sampling_points": 100,
    "persons_per_hour": 120,
    "hours_per_day": 12,
    "window_hours": 168,
}


class CapacityForm(forms.Form):
    population = forms.IntegerField(label=gettext_lazy("People to test"), min_value=1)
    pool_size = forms.TypedChoiceField(
        label=gettext_lazy("Pooling ratio"), choices=POOL_CHOICES, coerce=int
    )
    prevalence_pct = forms.FloatField(
        label=gettext_lazy("Expected prevalence (%)"), min_value=0, max_value=99.99
    )
    lab_tubes_per_day = forms.CharField(
        label=gettext_lazy("Lab capacity (tubes/day, one per lab, comma-separated)"),
        max_length=2000,
    )
    sampling_points = forms.IntegerField(label=gettext_lazy("Sampling points"), min_value=1)
    persons_per_hour = forms.IntegerField(
        label=gettext_lazy("People per hour per point"), min_value=1
    )
    hours_per_day = forms.IntegerField(
        label=gettext_lazy("Opening hours per day"), min_value=1, max_value=24
    )
    window_hours = forms.IntegerField(label=gettext_lazy("Time window (hours)"), min_value=1)

    def clean_lab_tubes_per_day(self) -> tuple[int, ...]:
        raw = self.cleaned_data["lab_tubes_per_day"].replace("，", ",")
        parts = [p.strip().replace("_", "") for p in raw.split(",") if p.strip()]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise forms.ValidationError(_("Enter whole numbers separated by commas.")) from None

    def inputs(self) -> CampaignInputs:
        data = self.cleaned_data
        return CampaignInputs(
            population=data["population"],
            pool_size=data["pool_size"],
            prevalence=data["prevalence_pct"] / 100,
            lab_tubes_per_day=data["lab_tubes_per_day"],
            sampling_points=data["sampling_points"],
            persons_per_hour=data["persons_per_hour"],
            hours_per_day=data["hours_per_day"],
            window_hours=data["window_hours"],
        )


# capacity.py names its fields after CampaignInputs; the form shows prevalence in percent
_FORM_FIELD = {"prevalence": "prevalence_pct"}


def jurisdiction_population(*, actor: User) -> int:
    """The registered population of what the actor may see, from the region selectors.

    The home region's own figure when it is filled in; otherwise the sum over its children,
    since some trees record population only at the lower levels.
    """
    roots = region_roots(actor=actor)
    total = roots.aggregate(total=Sum("population"))["total"] or 0
    if total:
        return int(total)
    codes = list(roots.values_list("code", flat=True)[:50])
    children = region_list(actor=actor).filter(parent__code__in=codes)
    return int(children.aggregate(total=Sum("population"))["total"] or 0)


def _chart_data(table: DorfmanTable) -> dict[str, Any]:
    return {
        "prevalence": table.prevalence,
        "k": [r.pool_size for r in table.curve],
        "e": [round(r.expected_tests, 5) for r in table.curve],
        "best": [table.best_overall.pool_size, round(table.best_overall.expected_tests, 5)],
        "labels": {"x": _("Pool size"), "y": _("Expected tests per person")},
    }


def _result_context(form: CapacityForm) -> dict[str, Any]:
    plan: CampaignPlan | None = None
    table: DorfmanTable | None = None
    if form.is_valid():
        try:
            inputs = form.inputs()
            plan = campaign_plan(inputs)
            table = dorfman_table(inputs.prevalence)
        except FieldError as exc:
            form.add_error(_FORM_FIELD.get(exc.field, exc.field), exc.message)
            plan = table = None
    return {
        "form": form,
        "plan": plan,
        "table": table,
        # an attribute, not a <script> block: htmx drops script tags from swapped fragments
        "chart_json": json.dumps(_chart_data(table)) if table else "",
    }


@scoped  # reads only the actor's visible regions (population default); computes the rest
@login_required
@require_GET
def capacity_planner(request: HttpRequest) -> HttpResponse:
    population = -1  # the user typed their own figure
    if request.GET.get("population") is not None:
        form = CapacityForm(request.GET)
    else:
        population = jurisdiction_population(actor=actor_of(request))
        # a tree without population figures still gets a working example: the seed county
        initial = {**DEFAULTS, "population": population or EXAMPLE_POPULATION}
        form = CapacityForm({k: str(v) for k, v in initial.items()})
    context = _result_context(form)
    context["population_known"] = population > 0
    if request.headers.get("HX-Request"):
        return render(request, "masstesting/capacity_result.html", context)
    context["scenarios"] = reference_scenarios()
    return render(request, "masstesting/capacity.html", context)
