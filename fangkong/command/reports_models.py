"""Daily reports and zero reports (日报告、零报告).

A `ReportTemplate` says which kinds of unit in a jurisdiction must report, on which weekdays,
by what cut-off time, and which fields the report has; a field may name a figure the system
already knows (`figures.py`), which is pre-filled and only confirmed. A `DailyReport` is one
unit's report for one day — a zero report when there was nothing. Which reports are missing
is derived when read (the expected unit × day pairs without a report once the cut-off has
passed), never scheduled: silence is never an implied zero.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.command.models import Unit
from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet


def _every_day() -> list[int]:
    return [0, 1, 2, 3, 4, 5, 6]


class ReportTemplate(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # the jurisdiction it applies in: units of `unit_kinds` in this region's subtree report
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    unit_kinds = models.JSONField(_("who reports"), default=list)
    cutoff = models.TimeField(_("cut-off time"))
    weekdays = models.JSONField(_("days"), default=_every_day)  # Monday = 0
    # [{"key": "arrivals", "label": "…", "figure": "arrivals_screened" or ""}]
    fields = models.JSONField(_("fields"), default=list)
    starts_on = models.DateField(_("first day"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["region_path", "code"]
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")

    def __str__(self) -> str:
        return self.name

    def due_at(self, day: dt.date) -> dt.datetime:
        """The cut-off of one day's report, local time."""
        return timezone.make_aware(dt.datetime.combine(day, self.cutoff))

    def is_reporting_day(self, day: dt.date) -> bool:
        return day >= self.starts_on and day.weekday() in self.weekdays

    def applies_to(self, unit: Unit) -> bool:
        return unit.kind in self.unit_kinds and unit.region.path.startswith(self.region_path)


class DailyReport(models.Model):
    template = models.ForeignKey(ReportTemplate, on_delete=models.PROTECT, related_name="reports")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="reports")
    region_path = models.CharField(max_length=255, editable=False)  # the unit's
    day = models.DateField(_("day"))
    zero = models.BooleanField(_("zero report"), default=False)
    values = models.JSONField(_("figures"), default=dict)
    # what the system counted when the report was filled, kept beside what was confirmed
    prefilled = models.JSONField(default=dict)
    note = models.TextField(_("note"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    on_time = models.BooleanField(_("on time"))
    revised_at = models.DateTimeField(_("revised at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-day", "region_path", "pk"]
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "unit", "day"], name="daily_report_once_per_day"
            ),
        ]
        indexes = [models.Index(fields=["region_path", "day"], name="daily_report_scope")]
