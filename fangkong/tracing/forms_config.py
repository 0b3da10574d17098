"""Forms of the tracing configuration: the active disease profile and the measure plans.

They check the shape of the input; `disease_profile_update` and `measure_plan_save` check the
meaning (known plans, generations within the maximum, phases and test days that fit).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.people.measures_models import DiseaseProfile, MeasureKind, MeasurePlan
from fangkong.people.services.measures import MAX_EXTENSION_DAYS

GENERATION_FIELDS = 5  # plan selects shown; a profile may trace fewer generations
PHASE_ROWS = 4


class ProfileForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("entity", "name"), max_length=100)
    incubation_days = forms.IntegerField(
        label=_("incubation period (days)"), min_value=1, max_value=60
    )
    lookback_days = forms.IntegerField(
        label=_("look-back period (days)"),
        min_value=0,
        max_value=60,
        help_text=_("exposures count from this many days before onset (or sampling)"),
    )
    max_generation = forms.IntegerField(
        label=_("maximum contact generation"), min_value=1, max_value=GENERATION_FIELDS
    )
    investigation_hours = forms.IntegerField(
        label=_("hours to trace close and secondary contacts"), min_value=1, max_value=720
    )

    def __init__(self, *args: Any, plans: list[MeasurePlan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("No measure")), *((p.key, p.name) for p in plans)]
        for g in range(1, GENERATION_FIELDS + 1):
            self.fields[f"plan_g{g}"] = forms.ChoiceField(
                label=_("Generation %(g)s") % {"g": g}, choices=choices, required=False
            )

    @classmethod
    def initial_of(cls, profile: DiseaseProfile) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(profile, name)
            for name in (
                "name",
                "incubation_days",
                "lookback_days",
                "max_generation",
                "investigation_hours",
            )
        }
        for g, key in (profile.generation_plans or {}).items():
            initial[f"plan_g{g}"] = key
        return initial

    def plan_fields(self) -> list[forms.BoundField]:
        return [self[f"plan_g{g}"] for g in range(1, GENERATION_FIELDS + 1)]

    def changes(self) -> dict[str, Any]:
        """The profile fields for `disease_profile_update`; plans past the maximum drop."""
        data = self.cleaned_data
        changes = {
            k: data[k]
            for k in (
                "name",
                "incubation_days",
                "lookback_days",
                "max_generation",
                "investigation_hours",
            )
        }
        changes["generation_plans"] = {
            str(g): data[f"plan_g{g}"]
            for g in range(1, data["max_generation"] + 1)
            if data.get(f"plan_g{g}")
        }
        return changes


def parse_days(text: str) -> list[int]:
    """ "1, 2, 3、5 7" -> [1, 2, 3, 5, 7]; anything but whole numbers is an error."""
    parts = [p for p in re.split(r"[\s,，、;；]+", text or "") if p]
    if any(not p.isdigit() for p in parts):
        raise forms.ValidationError(_("write the test days as day numbers, e.g. 1, 3, 7"))
    return [int(p) for p in parts]


class PlanForm(forms.Form):
    key = forms.SlugField(
        label=_("key"),
        max_length=48,
        help_text=_("letters, digits and underscores; fixed once saved"),
    )
    name = forms.CharField(label=pgettext_lazy("entity", "name"), max_length=100)
    active = forms.BooleanField(label=_("active"), required=False, initial=True)
    test_days = forms.CharField(
        label=_("Test days"),
        required=False,
        max_length=300,
        help_text=_("day numbers from 1 (the first day of the measure), e.g. 1, 2, 3, 5, 7, 10"),
    )

    def __init__(self, *args: Any, fixed_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = [("", "—"), *MeasureKind.choices]
        for i in range(1, PHASE_ROWS + 1):
            self.fields[f"kind_{i}"] = forms.ChoiceField(
                label=_("Phase %(n)s") % {"n": i}, choices=kinds, required=i == 1
            )
            self.fields[f"days_{i}"] = forms.IntegerField(
                label=_("days"), min_value=1, max_value=MAX_EXTENSION_DAYS, required=False
            )
        if fixed_key:
            self.fields["key"].disabled = True
            self.initial["key"] = fixed_key

    @classmethod
    def initial_of(cls, plan: MeasurePlan) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "key": plan.key,
            "name": plan.name,
            "active": plan.active,
            "test_days": ", ".join(str(n) for n in plan.test_offsets),
        }
        for i, phase in enumerate(plan.phases[:PHASE_ROWS], start=1):
            initial[f"kind_{i}"], initial[f"days_{i}"] = phase["kind"], phase["days"]
        return initial

    def phase_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"kind_{i}"], self[f"days_{i}"]) for i in range(1, PHASE_ROWS + 1)]

    def clean_test_days(self) -> list[int]:
        return parse_days(self.cleaned_data.get("test_days", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(1, PHASE_ROWS + 1):
            if data.get(f"kind_{i}") and not data.get(f"days_{i}"):
                self.add_error(f"days_{i}", _("how many days?"))
        return data

    def phases(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        return [
            {"kind": data[f"kind_{i}"], "days": data[f"days_{i}"]}
            for i in range(1, PHASE_ROWS + 1)
            if data.get(f"kind_{i}") and data.get(f"days_{i}")
        ]
