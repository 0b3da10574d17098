"""Forms of the screening pages. They check shape and give per-field errors; the services
validate meaning (and repeat every check, so the API gets the same answers)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import RegionLevel
from fangkong.core.validators import FieldError, normalize_id_number, normalize_phone
from fangkong.people.measures_models import MeasurePlan
from fangkong.people.models import IdType
from fangkong.screening.models import (
    OriginLevel,
    RiskAreaKind,
    RiskLevel,
    ScreeningSource,
    ScreeningStatus,
    TravelMode,
    ZoneKind,
)

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
_ROUTE_LINE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})?[\s,，、]*(\d{6}(?:\d{3}){0,2}(?!\d))?[\s,，、]*(.*)$"
)
STAFF_SOURCES = [c for c in ScreeningSource.choices if c[0] != ScreeningSource.SELF_DECLARATION]


class NoEchoInput(forms.TextInput):
    """A text input that is never filled in from submitted data: a page that comes back with
    errors does not carry the ID or phone number typed (pages show such numbers masked only)."""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        return super().get_context(name, None, attrs)


def _when(label: Any, *, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, required=required, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )


def parse_route(text: str) -> list[dict[str, str]]:
    """One stop a line: "2022-05-01 310115 上海市浦东新区" (date and code optional)."""
    stops = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        found = _ROUTE_LINE.match(line)
        day, code, place = found.groups() if found else ("", "", line)
        if day:
            try:
                year, month, mday = (int(p) for p in re.split(r"[-/.]", day))
                day = dt.date(year, month, mday).isoformat()
            except ValueError:
                raise forms.ValidationError(
                    _("line %(n)s: the date is not a date"), params={"n": number}
                ) from None
        stops.append({"date": day or "", "code": code or "", "place": (place or "").strip()})
    return stops


def route_text(route: list[dict[str, str]]) -> str:
    return "\n".join(
        " ".join(p for p in (s.get("date", ""), s.get("code", ""), s.get("place", "")) if p)
        for s in route
    )


def _choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def community_choices(regions: Any) -> list[tuple[str, Any]]:
    """Communities grouped under "district · town" headings, for a plain <select>."""
    rows = regions.filter(level=RegionLevel.COMMUNITY).select_related("parent", "parent__parent")
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in rows.order_by("path"):
        town = c.parent
        district = town.parent if town is not None else None
        heading = " · ".join(r.name for r in (district, town) if r is not None)
        groups.setdefault(heading, []).append((c.code, c.name))
    return [("", _("Choose the community")), *groups.items()]


class ArrivalForm(forms.Form):
    """Identity, origin and journey of an arrival: shared by the public and the staff form."""

    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=64)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial="resident_id")
    id_number = forms.CharField(
        label=_("ID number"), max_length=32, widget=NoEchoInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=NoEchoInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    origin_place = forms.CharField(
        label=_("Coming from"),
        max_length=200,
        help_text=_("province, city, district and town, e.g. 上海市浦东新区张江镇"),
    )
    origin_code = forms.CharField(
        label=_("Division code of the origin (optional)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    route_text = forms.CharField(
        label=_("Itinerary in the last 14 days"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "2022-05-01 上海市浦东新区\n2022-05-03 南京市玄武区"}
        ),
        help_text=_("one place a line, with the date first"),
    )
    arrival_at = _when(_("Arrival time"), required=True)
    travel_mode = forms.ChoiceField(
        label=_("Travel mode"), choices=[("", "—"), *TravelMode.choices], required=False
    )
    address = forms.CharField(
        label=_("Address at the destination"),
        max_length=255,
        required=False,
        help_text=_("building, unit and room"),
    )

    def clean_id_number(self) -> str:
        value = self.cleaned_data.get("id_number", "")
        try:
            return normalize_id_number(self.data.get("id_type") or "resident_id", value)
        except FieldError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""))
        except FieldError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_origin_code(self) -> str:
        value = (self.cleaned_data.get("origin_code") or "").strip()
        if value and not re.fullmatch(r"\d{6}|\d{9}|\d{12}", value):
            raise forms.ValidationError(_("a division code has 6, 9 or 12 digits"))
        return value

    def clean_route_text(self) -> list[dict[str, str]]:
        return parse_route(self.cleaned_data.get("route_text", ""))


class SelfDeclarationForm(ArrivalForm):
    destination = forms.ChoiceField(label=_("Community you are going to"))
    promise = forms.BooleanField(
        label=_("I promise that the information above is true and complete."), required=True
    )
    field_order = [
        "name",
        "id_type",
        "id_number",
        "phone",
        "origin_place",
        "origin_code",
        "route_text",
        "arrival_at",
        "travel_mode",
        "destination",
        "address",
        "promise",
    ]

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "destination", community_choices(communities))


class StaffScreeningForm(ArrivalForm):
    source = forms.ChoiceField(label=_("Source"), choices=STAFF_SOURCES, initial="checkpoint")
    destination = forms.ChoiceField(label=_("Destination"))
    note = forms.CharField(label=_("Note"), max_length=255, required=False)
    confirm = forms.BooleanField(label=_("Confirm and classify now"), required=False, initial=False)
    field_order = ["source", *SelfDeclarationForm.field_order[:-3], "destination", "address"]

    def __init__(self, *args: Any, destinations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = False
        rows = destinations.filter(level__lte=RegionLevel.COMMUNITY).order_by("path")
        _choices(
            self,
            "destination",
            [
                ("", "—"),
                *[
                    (r.code, "\u3000" * max(r.level - RegionLevel.TOWN, 0) + r.name)
                    for r in rows.only("code", "name", "level")
                ],
            ],
        )

    def clean_phone(self) -> str:
        if not (self.cleaned_data.get("phone") or "").strip():
            return ""
        return super().clean_phone()


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *ScreeningStatus.choices],
    )
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("All sources")), *ScreeningSource.choices],
    )
    page = forms.IntegerField(required=False, min_value=1)

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = self.cleaned_data
        return {"status": data.get("status") or "", "source": data.get("source") or ""}


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejecting"),
        min_length=2,
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. duplicate declaration")}),
    )


class TokenLookupForm(forms.Form):
    token = forms.CharField(
        label=_("Declaration code"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("scan or type")}),
    )


class RiskAreaForm(forms.Form):
    division_code = forms.CharField(label=_("Division code"), max_length=12, required=False)
    name = forms.CharField(label=_("Place"), max_length=200, required=False)
    level = forms.ChoiceField(label=_("Risk level"), choices=RiskLevel.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=RiskAreaKind.choices, initial="area")
    valid_from = _when(_("Valid from"))
    valid_to = _when(_("Valid to"))
    source = forms.CharField(label=_("Source / notice"), max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("division_code") and not (data.get("name") or "").strip():
            raise forms.ValidationError(_("Give the place name or its division code."))
        return data


class RiskAreaFilterForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Risk level"), required=False, choices=[("", _("All levels")), *RiskLevel.choices]
    )
    q = forms.CharField(label=_("Place or code"), required=False, max_length=100)
    history = forms.BooleanField(label=_("Include ended and replaced versions"), required=False)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        return {
            "level": data.get("level") or None,
            "q": (data.get("q") or "").strip() or None,
            "history": bool(data.get("history")),
        }


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("List (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.csv"}),
    )


class AssistanceUploadForm(UploadForm):
    from_jurisdiction = forms.CharField(label=_("Requesting jurisdiction"), max_length=120)
    reference_number = forms.CharField(label=_("Reference number"), max_length=64, required=False)
    received_at = _when(_("Received at"))
    deadline = _when(_("Deadline"))
    field_order = ["from_jurisdiction", "reference_number", "received_at", "deadline", "file"]


class ZoneForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Zone kind"), choices=ZoneKind.choices)
    grids = forms.MultipleChoiceField(
        label=_("Grids"), required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )
    polygon = forms.CharField(
        label=_("Or a polygon (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"type": "Polygon", ...}'}),
    )
    region = forms.ChoiceField(label=_("Region (for a polygon)"), required=False)
    valid_from = _when(_("Valid from"))
    valid_to = _when(_("Valid to"))
    notice = forms.CharField(label=_("Notice"), max_length=255, required=False)

    def __init__(self, *args: Any, regions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grids = regions.filter(level=RegionLevel.GRID).select_related("parent").order_by("path")
        _choices(self, "grids", [(g.code, f"{g.parent.name} · {g.name}") for g in grids])
        above = regions.filter(level__lt=RegionLevel.GRID).order_by("path")
        indented = [
            (r.code, "\u3000" * (r.level - 1) + r.name) for r in above.only("code", "name", "level")
        ]
        _choices(self, "region", [("", "—"), *indented])

    def clean_polygon(self) -> Any:
        text = (self.cleaned_data.get("polygon") or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("the polygon is not valid JSON")) from None


class RuleForm(forms.Form):
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=999_999)
    name = forms.CharField(label=_("Name"), max_length=120)
    origin_level = forms.ChoiceField(
        label=_("Origin risk level"), choices=OriginLevel.choices, required=False
    )
    within_days = forms.IntegerField(
        label=_("Within days"), min_value=0, max_value=365, required=False
    )
    itinerary_hits_risk = forms.BooleanField(
        label=_("Itinerary includes a risk area or a place visited by a case"), required=False
    )
    sources = forms.MultipleChoiceField(
        label=_("Only for these sources (none: any)"),
        choices=ScreeningSource.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    plan_key = forms.ChoiceField(label=_("Measure to propose"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False)
    valid_from = _when(_("Valid from"), required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plans = MeasurePlan.objects.filter(active=True).order_by("key")
        _choices(
            self,
            "plan_key",
            [("", _("No measure (record only)")), *[(p.key, p.name) for p in plans]],
        )

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["plan_key"] = data.get("plan_key") or ""
        data["origin_level"] = data.get("origin_level") or ""
        return data
