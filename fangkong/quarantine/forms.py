"""Forms of the quarantine pages; choices come from the actor's selectors, so a form never
offers a region, site or measure the actor cannot see."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import Region, RegionLevel, User
from fangkong.people.models import ControlMeasure
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import PlaceKind, RoomState, Site, Symptom

ROOM_STATE_CHOICES = [
    (RoomState.AVAILABLE, _("Disinfected — available")),
    (RoomState.OUT_OF_SERVICE, _("Out of service")),
]


class SiteForm(forms.Form):
    prefix = "site"
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=128)
    region: forms.ModelChoiceField[Region] = forms.ModelChoiceField(
        queryset=Region.objects.none(), label=_("Region")
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    contact_name = forms.CharField(
        label=pgettext_lazy("site", "Contact"), max_length=64, required=False
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regions = sel.region_get_qs(actor=actor).filter(level__lte=RegionLevel.TOWN)
        self.fields["region"].queryset = regions.order_by("path")  # type: ignore[attr-defined]


class AllocateForm(forms.Form):
    prefix = "alloc"
    measures: forms.ModelMultipleChoiceField[ControlMeasure] = forms.ModelMultipleChoiceField(
        queryset=ControlMeasure.objects.none(), label=_("Persons")
    )
    site: forms.ModelChoiceField[Site] = forms.ModelChoiceField(
        queryset=Site.objects.none(), label=_("Site")
    )
    cohort = forms.CharField(
        label=_("Arrival cohort"),
        max_length=64,
        required=False,
        help_text=_("Empty: the measure's start date"),
    )
    family = forms.BooleanField(
        label=_("One family room for all of them"),
        required=False,
        help_text=_("A parent with a child, or carers: ticked persons share one room"),
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["measures"].queryset = sel.awaiting_room(actor=actor)  # type: ignore[attr-defined]
        self.fields["site"].queryset = sel.active_sites(actor=actor)  # type: ignore[attr-defined]


class RoomStateForm(forms.Form):
    state = forms.ChoiceField(label=_("New state"), choices=ROOM_STATE_CHOICES)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class SiteStateForm(forms.Form):
    state = forms.CharField(max_length=16)


class StayNoteForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class ReservePolicyForm(forms.Form):
    prefix = "policy"
    rooms_per_10k = forms.IntegerField(
        label=_("Rooms per 10,000 residents"), min_value=1, max_value=1000,
        help_text=_("The national standard is at least 20."),
    )  # fmt: skip
    min_free_rooms = forms.IntegerField(
        label=_("Alarm below this many free rooms"), min_value=0, max_value=1_000_000
    )


DEADLINE_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TransferForm(forms.Form):
    prefix = "transfer"
    measures: forms.ModelMultipleChoiceField[ControlMeasure] = forms.ModelMultipleChoiceField(
        queryset=ControlMeasure.objects.none(), label=_("Persons")
    )
    pickup_kind = forms.ChoiceField(label=_("Pickup"), choices=PlaceKind.choices)
    pickup_place = forms.CharField(
        label=_("Pickup place"), max_length=128,
        help_text=_("A checkpoint, a station exit, a compound gate — never a home address"),
    )  # fmt: skip
    destination_site: forms.ModelChoiceField[Site] = forms.ModelChoiceField(
        queryset=Site.objects.none(), label=_("Destination site")
    )
    vehicle = forms.CharField(label=_("Vehicle"), max_length=32)
    driver: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Driver")
    )
    escort = forms.CharField(label=_("Medical escort"), max_length=64)
    deadline = forms.DateTimeField(label=_("Deadline"), widget=DEADLINE_INPUT)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["measures"].queryset = sel.awaiting_transfer(actor=actor)  # type: ignore[attr-defined]
        fields["destination_site"].queryset = sel.active_sites(actor=actor)  # type: ignore[attr-defined]
        fields["driver"].queryset = sel.drivers(actor=actor)  # type: ignore[attr-defined]


class ScanForm(forms.Form):
    code = forms.CharField(label=_("Person's code"), max_length=64)
    place = forms.CharField(label=_("Handover place"), max_length=128)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


class HealthForm(forms.Form):
    temperature = forms.DecimalField(
        label=_("Temperature (°C)"), max_digits=3, decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )  # fmt: skip
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms"), choices=Symptom.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
