"""Forms of the command pages: shape only; the services judge meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.command.models import Unit, UnitKind

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


WEEKDAYS = (
    (0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
    (6, _("Sun")),
)  # fmt: skip


class TemplateForm(forms.Form):
    region = forms.TypedChoiceField(label=_("Jurisdiction"), coerce=int)
    code = forms.CharField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=100)
    unit_kinds = forms.MultipleChoiceField(
        label=_("Who reports"), choices=UnitKind.choices, widget=forms.CheckboxSelectMultiple
    )
    cutoff = forms.TimeField(
        label=_("Cut-off time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple,
        initial=[d for d, _label in WEEKDAYS],
    )  # fmt: skip
    figures = forms.MultipleChoiceField(
        label=_("Figures the system fills in"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    typed = forms.CharField(
        label=_("Fields the unit types (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self, *args: Any, regions: Sequence[Any], figures: Sequence[tuple[str, Any]], **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"cutoff": "10:00"})
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.pk, r.name) for r in regions]  # type: ignore[attr-defined]
        self.fields["figures"].choices = list(figures)  # type: ignore[attr-defined]
