"""The supervision ledger (督查督导, 问题清单, 限时办结, 挂账销号).

An inspector records a `Problem` found at a site: its kind from a configurable catalogue
(`ProblemKind`), severity, photos, place and time. It is issued to the responsible unit as an
`Issue` of kind "problem" with one `Obligation`, so it is rectified, verified, reopened and
escalated in the same ledger as orders: the problem's state is its obligation's state. The
photos are the evidence of the "issued" event. A `Reinspection` is a closed problem drawn at
random to be looked at again; when the problem is back, the obligation is reopened.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet


class Severity(models.TextChoices):
    MINOR = "minor", pgettext_lazy("problem severity", "Minor")
    MAJOR = "major", pgettext_lazy("problem severity", "Major")
    CRITICAL = "critical", pgettext_lazy("problem severity", "Critical")


class ProblemKind(models.Model):
    """One entry of the catalogue of problems inspectors record, with its time limit."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    days = models.PositiveSmallIntegerField(_("days to rectify"), default=3)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("problem kind")
        verbose_name_plural = _("problem kinds")

    def __str__(self) -> str:
        return self.name


class Problem(models.Model):
    issue = models.OneToOneField("command.Issue", on_delete=models.PROTECT, related_name="problem")
    obligation = models.OneToOneField(
        "command.Obligation", on_delete=models.PROTECT, related_name="problem"
    )
    kind = models.ForeignKey(
        ProblemKind, on_delete=models.PROTECT, related_name="problems", verbose_name=_("kind")
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    site = models.CharField(_("site"), max_length=200)
    # the site's name folded (spaces, case, full-width) so that recurrences are counted
    site_key = models.CharField(max_length=200, editable=False)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)  # where it was found
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    observed_at = models.DateTimeField(_("found at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # the recording device's own key for this problem: a retried upload finds it again
    ref = models.CharField(max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-observed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recorded_by", "ref"], condition=~models.Q(ref=""), name="problem_ref_once"
            ),
        ]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        indexes = [
            models.Index(fields=["region_path", "observed_at"], name="problem_scope"),
            models.Index(fields=["site_key", "kind"], name="problem_recurrence"),
        ]

    def __str__(self) -> str:
        return f"{self.site}: {self.kind}"


class Reinspection(models.Model):
    """A closed problem drawn to be inspected again; `held` is None until it has been."""

    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="reinspections")
    region_path = models.CharField(max_length=255, editable=False)  # the problem's
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drawn_at = models.DateTimeField(_("drawn at"))
    held = models.BooleanField(_("rectification held"), null=True)
    note = models.TextField(_("note"), blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-drawn_at", "-pk"]
        constraints = [
            # a problem is in at most one sample still to be inspected
            models.UniqueConstraint(
                fields=["problem"], condition=models.Q(held__isnull=True),
                name="reinspection_one_pending",
            ),
        ]  # fmt: skip
