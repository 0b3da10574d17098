"""Control measures: the single truth of who is under control, with full history.

Durations, tests and which measure each contact generation gets are data (MeasurePlan,
DiseaseProfile), not code, so the same system serves any respiratory outbreak.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import Institution, Region
from fangkong.core.scoping import ScopedQuerySet


class MeasureKind(models.TextChoices):
    CENTRALISED_QUARANTINE = "centralised_quarantine", _("Centralised quarantine")
    HOME_QUARANTINE = "home_quarantine", _("Home quarantine")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring")
    TESTING = "testing", _("Tests on schedule")


class MeasureState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    IN_FORCE = "in_force", _("In force")
    EXTENDED = "extended", _("Extended")
    RELEASED = "released", _("Released")
    CONVERTED = "converted", _("Converted")
    CANCELLED = "cancelled", _("Cancelled")


IN_FORCE_STATES = ("in_force", "extended")


class MeasurePlan(models.Model):
    """A named plan such as "7+3": phases [{"kind": ..., "days": N}], tests on day offsets."""

    key = models.SlugField(_("key"), max_length=48, unique=True)
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=100)
    phases = models.JSONField(_("phases"), default=list)
    test_offsets = models.JSONField(_("test days (offsets from start)"), default=list)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("measure plan")

    def __str__(self) -> str:
        return self.name

    @property
    def total_days(self) -> int:
        return sum(int(p["days"]) for p in self.phases)


class DiseaseProfile(models.Model):
    """Outbreak configuration; exactly one is active at a time."""

    key = models.SlugField(max_length=32, unique=True)
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=100)
    active = models.BooleanField(default=False)
    incubation_days = models.PositiveSmallIntegerField(_("incubation period (days)"), default=7)
    lookback_days = models.PositiveSmallIntegerField(_("look-back period (days)"), default=4)
    max_generation = models.PositiveSmallIntegerField(_("maximum contact generation"), default=3)
    investigation_hours = models.PositiveSmallIntegerField(
        _("hours to trace close and secondary contacts"), default=24
    )
    # {"1": "<plan key>", "2": ..., "3": ...}: the measure proposed for each generation
    generation_plans = models.JSONField(_("measure per generation"), default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_disease_profile"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ControlMeasure(models.Model):
    """One control measure of one person.

    `kind` is the plan's first phase (the headline measure: "7+3" is a centralised
    quarantine); the phase a given day falls in comes from `measures.measure_current_phase`.
    Dates follow one rule, documented in fangkong.people.measures.
    """

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="measures")
    # responsible unit: the person's region when proposed (usually their grid)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    plan = models.ForeignKey(MeasurePlan, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("measure"), max_length=32, choices=MeasureKind.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=MeasureState.choices, default=MeasureState.PROPOSED
    )
    phases = models.JSONField(default=list)  # copied from the plan, then extended in place
    start_date = models.DateField(_("start"))
    planned_end = models.DateField(_("planned end"))
    actual_end = models.DateField(_("actual end"), null=True, blank=True)
    test_days = models.JSONField(default=list)  # ISO dates on which a test is due
    source_type = models.CharField(max_length=32)  # screening / case_contact / case / manual
    source_id = models.CharField(max_length=64, blank=True)
    generation = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    converted_to = models.CharField(max_length=32, blank=True)
    # set when a stronger measure replaced this one (converted_to == "superseded")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # integration point for the quarantine module: where a centralised measure is served
    site = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-id"]
        constraints = [
            # the database itself guarantees at most one measure in force per person
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=IN_FORCE_STATES),
                name="one_measure_in_force_per_person",
            ),
            models.UniqueConstraint(
                fields=["person", "source_type", "source_id"],
                name="one_measure_per_person_and_source",
            ),
        ]
        indexes = [
            models.Index(
                fields=["region_path"],
                name="measure_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["state", "planned_end"], name="measure_state_end"),
        ]


class MeasureEvent(models.Model):
    """History of a measure: every transition, who and why."""

    measure = models.ForeignKey(ControlMeasure, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]


class MeasureTestResult(models.TextChoices):
    PENDING = "", _("Pending")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid sample")


class MeasureTest(models.Model):
    """A test due on one day of a measure, and its result once known.

    A row per scheduled day is written when the measure's dates are set, so "a past test day
    without a result" is one indexed EXISTS at query time rather than JSON arithmetic.
    Mass testing records results through `measure_record_test`; unplanned tests add rows.
    """

    measure = models.ForeignKey(ControlMeasure, on_delete=models.CASCADE, related_name="tests")
    day = models.DateField(_("test day"))
    planned = models.BooleanField(default=True)
    result = models.CharField(
        _("result"), max_length=16, choices=MeasureTestResult.choices, blank=True, default=""
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "day"], name="one_test_per_measure_day"),
        ]
        indexes = [models.Index(fields=["day", "result"], name="measure_test_day_result")]
