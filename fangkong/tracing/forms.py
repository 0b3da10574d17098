"""Forms of the tracing pages. They check the shape of the input; the services check meaning
(dates in order, choices, who may write) and their FieldErrors land on the named field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core import selectors as core_selectors
from fangkong.core.models import RegionLevel, User
from fangkong.people.models import IdType
from fangkong.tracing.models import (
    CaseKind,
    CaseSource,
    CaseStatus,
    ExposureContext,
    Severity,
    TraceStatus,
)

NEW_CASE_STATUSES = [
    (CaseStatus.REPORTED.value, CaseStatus.REPORTED.label),
    (CaseStatus.CONFIRMED.value, CaseStatus.CONFIRMED.label),
]


def date_input() -> forms.DateInput:
    # the browser's date picker takes ISO dates whatever the page language
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PickedPerson(forms.IntegerField):
    """The id of a person chosen from the picker's results (a POST body, never a URL)."""

    def __init__(self, *, required: bool = True) -> None:
        super().__init__(
            required=required,
            min_value=1,
            widget=forms.HiddenInput,
            error_messages={"required": _("search for the person and choose one")},
        )


class CaseReportForm(forms.Form):
    person = PickedPerson()
    kind = forms.ChoiceField(label=_("Classification"), choices=CaseKind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=NEW_CASE_STATUSES)
    onset_date = forms.DateField(label=_("Onset date"), required=False, widget=date_input())
    sampling_date = forms.DateField(label=_("Sampling date"), required=False, widget=date_input())
    report_date = forms.DateField(label=_("Report date"), widget=date_input())
    source = forms.ChoiceField(label=_("Source"), choices=CaseSource.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, required=False)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"report_date": timezone.localdate()})
        super().__init__(*args, **kwargs)


def new_person_regions(actor: User) -> list[tuple[str, str]]:
    """Where a new contact may be registered: the caller's communities (and grids for a town
    or below), indented under their parents."""
    home = actor.region.level if actor.region else 0
    deepest = RegionLevel.GRID if home >= RegionLevel.TOWN else RegionLevel.COMMUNITY
    rows = (
        core_selectors.region_list(actor=actor)
        .filter(level__gte=max(home, RegionLevel.TOWN), level__lte=deepest)
        .values_list("code", "name", "level")
    )
    return [("", "—")] + [
        (code, "\u3000" * max(level - max(home, RegionLevel.TOWN), 0) + f"{name} ({code})")
        for code, name, level in rows
    ]


class ExposureForm(forms.Form):
    """One exposure of the case's person (or of one of its contacts) with a contact who is
    either chosen from the jurisdiction or entered as a new person."""

    source = forms.TypedChoiceField(label=_("Exposed person"), coerce=int, required=False)
    contact = PickedPerson(required=False)
    name = forms.CharField(label=pgettext_lazy("person", "Name"), required=False, max_length=64)
    id_type = forms.ChoiceField(
        label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID, required=False
    )
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=40)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    region = forms.ChoiceField(label=_("Registered in"), required=False)
    context = forms.ChoiceField(
        label=pgettext_lazy("exposure", "Context"), choices=ExposureContext.choices
    )
    day = forms.DateField(label=pgettext_lazy("exposure", "Day"), widget=date_input())
    place = forms.CharField(
        label=pgettext_lazy("exposure", "Place"), required=False, max_length=200
    )

    def __init__(
        self,
        *args: Any,
        sources: list[tuple[int, str]],
        regions: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {"day": timezone.localdate()})
        super().__init__(*args, **kwargs)
        source = self.fields["source"]
        assert isinstance(source, forms.TypedChoiceField)
        source.choices = [("", _("The case's person")), *sources]
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = regions
        for name in ("id_number", "phone"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("contact"):
            return data
        if not (data.get("id_number") or "").strip():
            raise forms.ValidationError(
                _("choose the contact from the search, or enter a new person with an ID number")
            )
        if not (data.get("name") or "").strip():
            self.add_error("name", _("name is required"))
        if not data.get("region"):
            self.add_error("region", _("choose where the new person is registered"))
        return data

    def item(self) -> dict[str, Any]:
        """The item `exposures_record` takes."""
        data = self.cleaned_data
        contact: dict[str, Any]
        if data.get("contact"):
            contact = {"person_id": data["contact"]}
        else:
            contact = {
                "name": data["name"],
                "id_type": data["id_type"] or IdType.RESIDENT_ID,
                "id_number": data["id_number"],
                "phone": data["phone"],
                "region_code": data["region"],
            }
        return {
            "person": {"person_id": data["source"]} if data.get("source") else None,
            "contact": contact,
            "context": data["context"],
            "day": data["day"],
            "place": data["place"],
        }


class TraceForm(forms.Form):
    trace_status = forms.ChoiceField(label=_("Tracing"), choices=TraceStatus.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class CaseStatusForm(forms.Form):
    status = forms.ChoiceField(choices=CaseStatus.choices)
