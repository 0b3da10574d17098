"""Cases, investigations (流调), exposures (contact edges) and computed contact generations.

Every row carries the region path of the jurisdiction that owns it, so the foundation's
scoping applies: a case and everything recorded for it (its investigation, its exposures, its
computed contacts) belong to the region of the case's person at report time.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet


class CaseKind(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed case")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic infection")


class CaseSource(models.TextChoices):
    LOCAL = "local", _("Local")
    IMPORTED = "imported", _("Imported")
    SCREENING = "screening", _("Found in screening")
    MASS_TESTING = "mass_testing", _("Found in mass testing")


class Severity(models.TextChoices):
    NONE = "", _("Not assessed")
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")
    CRITICAL = "critical", _("Critical")


class CaseStatus(models.TextChoices):
    # A report is verified before tracing starts; confirming it computes the generations.
    REPORTED = "reported", _("Reported, awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    RECOVERED = "recovered", _("Recovered and discharged")
    DECEASED = "deceased", _("Deceased")
    RULED_OUT = "ruled_out", _("Ruled out")


# Statuses in which the person counts as a case: tracing stops at them and they are no contact.
CASE_STATUSES = ("confirmed", "recovered", "deceased")


class Case(models.Model):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(_("classification"), max_length=16, choices=CaseKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.REPORTED
    )
    onset_date = models.DateField(_("onset date"), null=True, blank=True)
    sampling_date = models.DateField(_("sampling date"), null=True, blank=True)
    report_date = models.DateField(_("report date"))
    source = models.CharField(_("source"), max_length=16, choices=CaseSource.choices)
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, blank=True, default=""
    )
    # the person's region when reported: the case stays with that jurisdiction if they move
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    generations_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-report_date", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            # one live case per person; a ruled-out report does not block a later real one
            models.UniqueConstraint(
                fields=["person"], condition=~Q(status="ruled_out"), name="one_case_per_person"
            ),
        ]
        indexes = [
            models.Index(
                fields=["region_path"], name="case_region_path", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["status", "report_date"], name="case_status_report"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def anchor_date(self) -> dt.date:
        """Day the look-back window counts back from: onset, else sampling, else report."""
        return self.onset_date or self.sampling_date or self.report_date


class Investigation(models.Model):
    """The epidemiological investigation of one case, with its tracing deadline."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="investigation")
    region_path = models.CharField(max_length=255, editable=False)
    opened_at = models.DateTimeField(_("opened"))
    deadline = models.DateTimeField(_("deadline"))
    # set by the investigator when every close and secondary contact is traced
    contacts_traced_at = models.DateTimeField(_("contacts traced"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(
                fields=["region_path"],
                name="investigation_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["closed_at", "deadline"], name="investigation_open_deadline"),
        ]


class ExposureContext(models.TextChoices):
    HOUSEHOLD = "household", _("Household")
    WORKPLACE = "workplace", _("Workplace")
    VEHICLE = "vehicle", _("Vehicle")
    VENUE = "venue", _("Venue")
    COMPANION = "companion", _("Spatiotemporal companion")
    OTHER = "other", _("Other")


class Exposure(models.Model):
    """An undirected contact edge; stored with person_a_id < person_b_id.

    Unique per (pair, context, day), so entering the same contact again changes nothing.
    """

    person_a = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    person_b = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    context = models.CharField(_("context"), max_length=16, choices=ExposureContext.choices)
    day = models.DateField(_("day"))
    started_at = models.DateTimeField(_("from"), null=True, blank=True)
    ended_at = models.DateTimeField(_("to"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="exposures"
    )
    # What the recorder typed for a contact matched by ID number outside their jurisdiction
    # (vault-encrypted JSON {person pk: {name, id_number, phone, address}}): the 协查 export
    # sends this, never the other jurisdiction's registry record.
    entered_ct = models.TextField(blank=True, default="")
    region_path = models.CharField(max_length=255, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["day", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_a", "person_b", "context", "day"], name="one_exposure_per_day"
            ),
            models.CheckConstraint(
                condition=Q(person_a__lt=models.F("person_b")), name="exposure_ordered_pair"
            ),
        ]
        indexes = [
            # the unique constraint serves lookups by person_a; this one serves person_b
            models.Index(fields=["person_b", "day"], name="exposure_person_b_day"),
            models.Index(
                fields=["region_path"],
                name="exposure_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
        ]


class TraceStatus(models.TextChoices):
    PENDING = "pending", _("To be traced")
    UNREACHABLE = "unreachable", _("Unreachable")
    ELSEWHERE = "elsewhere", _("Handed to another jurisdiction")


class CaseContact(models.Model):
    """A person reached from a case through exposures, with the lowest generation found."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    generation = models.PositiveSmallIntegerField(_("generation"))
    # the person one generation nearer the case through whom this one was reached
    parent = models.ForeignKey(
        "people.Person", null=True, on_delete=models.PROTECT, related_name="+"
    )
    # copied from the case: the contact list is part of the case's file
    region_path = models.CharField(max_length=255, editable=False)
    # the measure proposed for this contact (the stronger one after a move to a nearer
    # generation); "traced" is derived from its state at query time
    measure = models.ForeignKey(
        "people.ControlMeasure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trace_status = models.CharField(
        _("tracing"), max_length=16, choices=TraceStatus.choices, default=TraceStatus.PENDING
    )
    trace_note = models.CharField(_("note"), max_length=255, blank=True)
    computed_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["generation", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="one_contact_row_per_case"),
        ]
        indexes = [
            models.Index(fields=["case", "generation"], name="contact_case_generation"),
            models.Index(fields=["person"], name="contact_person"),
        ]
