"""Forms of the command pages: shape only; the services judge meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.command.models import Unit

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class DeadlineInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=LOCAL_INPUT, **kwargs)


def _choices(units: Sequence[Unit]) -> list[tuple[int, str]]:
    return [(u.pk, u.name) for u in units]


class OrderForm(forms.Form):
    issuer = forms.TypedChoiceField(label=_("Issued by"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("What must be done"), max_length=4000, required=False, widget=forms.Textarea
    )
    evidence_expected = forms.CharField(
        label=_("Evidence expected"), max_length=500, required=False
    )
    deadline = forms.DateTimeField(
        label=_("Deadline"), widget=DeadlineInput(), input_formats=[LOCAL_INPUT]
    )
    lead = forms.TypedMultipleChoiceField(
        label=_("Units"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    support = forms.TypedMultipleChoiceField(
        label=_("Supporting units"), coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args: Any, issuers: Sequence[Unit], units: Sequence[Unit], **kw: Any):
        super().__init__(*args, **kw)
        self.fields["issuer"].choices = _choices(issuers)  # type: ignore[attr-defined]
        self.fields["lead"].choices = _choices(units)  # type: ignore[attr-defined]
        self.fields["support"].choices = _choices(units)  # type: ignore[attr-defined]


class MinutesForm(forms.Form):
    issuer = forms.TypedChoiceField(label=_("Issued by"), coerce=int)
    title = forms.CharField(label=_("Meeting"), max_length=200)
    held_on = forms.DateField(label=_("Held on"), widget=forms.DateInput(attrs={"type": "date"}))
    minutes = forms.CharField(label=_("Minutes"), max_length=100_000, widget=forms.Textarea)

    def __init__(self, *args: Any, issuers: Sequence[Unit], **kw: Any):
        super().__init__(*args, **kw)
        self.fields["issuer"].choices = _choices(issuers)  # type: ignore[attr-defined]
