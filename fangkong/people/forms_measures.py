"""Forms of the control-measure pages. They check input shape; the services check meaning."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core import selectors as core_selectors
from fangkong.core.models import RegionLevel, User
from fangkong.people.measures_models import MeasureKind, MeasurePlan, MeasureState
from fangkong.people.services.measures import CONVERSION_TARGETS, MAX_EXTENSION_DAYS


def date_input() -> forms.DateInput:
    # the browser's date picker takes ISO dates whatever the page language
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


STATE_CHOICES = [
    ("active", _("In force (incl. extended)")),
    ("", _("All states")),
    *MeasureState.choices,
]
OVERDUE_CHOICES = [
    ("", _("All")),
    ("any", _("Any overdue")),
    ("release", _("Release overdue")),
    ("test", _("Test overdue")),
]


def sub_region_choices(actor: User) -> list[tuple[str, str]]:
    """The actor's visible sub-regions down to communities (grids too for towns and below)."""
    home_level = actor.region.level if actor.region else 0
    deepest = RegionLevel.GRID if home_level >= RegionLevel.TOWN else RegionLevel.COMMUNITY
    rows = (
        core_selectors.region_list(actor=actor)
        .filter(level__gt=home_level, level__lte=deepest)
        .values_list("code", "name", "level")
    )
    choices = [("", str(_("All regions")))]
    for code, name, level in rows:
        choices.append((code, "\u3000" * max(level - home_level - 1, 0) + f"{name} ({code})"))
    return choices


class MeasureFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Measure"), required=False, choices=[("", _("All")), *MeasureKind.choices]
    )
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    region = forms.CharField(label=_("Region"), required=False, max_length=20)
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=OVERDUE_CHOICES)
    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data: Any, *, actor: User) -> None:
        # the list opens on measures in force: that is who is under control today
        data = data.copy()
        data.setdefault("state", "active")
        super().__init__(data)
        self.fields["region"].widget = forms.Select(choices=sub_region_choices(actor))

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data  # only the fields that validated; bad values are dropped
        return {
            "kind": data.get("kind") or None,
            "state": data.get("state") or None,
            "region_code": data.get("region") or None,
            "overdue": data.get("overdue") or None,
            "person_id": data.get("person") or None,
        }


class ReasonField(forms.CharField):
    def __init__(self, *, required: bool = True) -> None:
        super().__init__(
            label=pgettext_lazy("measure", "Reason"),
            required=required,
            max_length=255,
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
        )


class StartForm(forms.Form):
    start = forms.DateField(label=_("Start date"), required=False, widget=date_input())


class ExtendForm(forms.Form):
    days = forms.IntegerField(
        label=_("Extend by (days)"), min_value=1, max_value=MAX_EXTENSION_DAYS, initial=3
    )
    reason = ReasonField()


class ReleaseForm(forms.Form):
    on = forms.DateField(label=_("Release date"), required=False, widget=date_input())
    reason = ReasonField(required=False)


class ConvertForm(forms.Form):
    to = forms.ChoiceField(
        label=_("Convert to"),
        choices=[(k, v) for k, v in CONVERSION_TARGETS.items() if k != "superseded"],
    )
    reason = ReasonField()


class CancelForm(forms.Form):
    reason = ReasonField()


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "start": StartForm,
    "extend": ExtendForm,
    "release": ReleaseForm,
    "convert": ConvertForm,
    "cancel": CancelForm,
}


class ProposeForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=MeasurePlan.objects.none(), to_field_name="key"
    )
    start = forms.DateField(label=_("Start date"), widget=date_input())
    reason = ReasonField(required=False)

    def __init__(self, *args: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = plans
