"""Forms of the people pages: the registry's filters and exact search, the audited reveal, and
the person-list upload. They check shape only; services check meaning."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core import selectors as core_selectors
from fangkong.core.models import RegionLevel, User
from fangkong.people.models import KeyGroup, Sex


def region_filter_choices(actor: User) -> list[tuple[str, str]]:
    """Regions below the actor's home, indented by depth, for the people filter.

    Grids are listed only for town users and below: a whole city has thousands of them,
    and the filter matches everything under the chosen region anyway.
    """
    home_level = actor.region.level if actor.region else 0
    deepest = RegionLevel.GRID if home_level >= RegionLevel.TOWN else RegionLevel.COMMUNITY
    rows = (
        core_selectors.region_list(actor=actor)
        .filter(level__gt=home_level, level__lte=deepest)
        .values_list("code", "name", "level")
    )
    choices = [("", str(_("All regions")))]
    for code, name, level in rows:
        indent = "\u3000" * max(level - home_level - 1, 0)
        choices.append((code, f"{indent}{name} ({code})"))
    return choices


class PersonFilterForm(forms.Form):
    # Any code is accepted here: the selector matches nothing outside the caller's scope.
    region = forms.CharField(label=_("Region"), required=False, max_length=20)
    key_group = forms.ChoiceField(
        label=_("Key group"),
        required=False,
        choices=[("", _("All key groups")), *[c for c in KeyGroup.choices if c[0]]],
    )
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=[("", _("All")), *Sex.choices])
    name = forms.CharField(label=_("Name starts with"), required=False, max_length=64)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region_choices = region_filter_choices(actor)
        self.fields["region"].widget = forms.Select(choices=self.region_choices)

    def filters(self) -> dict[str, str]:
        """Clean filter values for the selector; invalid ones are dropped, not guessed."""
        self.is_valid()
        data = self.cleaned_data  # holds only the fields that validated
        return {
            "region_code": data.get("region") or "",
            "key_group": data.get("key_group") or "",
            "sex": data.get("sex") or "",
            "name": (data.get("name") or "").strip(),
        }


class PersonSearchForm(forms.Form):
    """Exact lookup by ID number or phone; only ever sent as a POST body."""

    id_number = forms.CharField(label=_("ID number"), required=False, max_length=32)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("id_number") or "").strip() and not (data.get("phone") or "").strip():
            raise forms.ValidationError(_("Enter an ID number or a phone number."))
        return data


class RevealForm(forms.Form):
    FIELD_CHOICES = (
        ("id_number", _("ID number")),
        ("phone", _("Phone")),
        ("address", _("Address")),
    )
    fields_wanted = forms.MultipleChoiceField(
        label=_("Fields to reveal"),
        choices=FIELD_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["id_number", "phone", "address"],
    )
    reason = forms.CharField(
        label=pgettext_lazy("reveal", "Reason"),
        min_length=4,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit log with your name and the time."),
    )


class ImportUploadForm(forms.Form):
    # Type and size are checked by fangkong.people.services.imports, the one place that knows them.
    file = forms.FileField(
        label=_("Person list (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.csv"}),
    )
    # The importer checks the code against the jurisdiction; the choices only offer it.
    region_code = forms.ChoiceField(
        label=_("Community or grid for rows that name none"),
        required=False,
        help_text=_(
            "A street's or community's own register often has no community column: its rows "
            "go here. A community or grid column in the list overrides it per row."
        ),
    )

    def __init__(self, *args: Any, regions: list[tuple[str, str]], default: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["region_code"]
        assert isinstance(field, forms.ChoiceField)
        # Staff above a community have no own default: the empty choice means every row must
        # name its community or grid; below that, their own region is the default.
        none = [] if default else [("", _("— none: each row names its community —"))]
        field.choices = [*none, *regions]
        field.initial = default
