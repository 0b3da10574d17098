"""Models of the mass-testing domain: campaigns, sampling points, registration codes, tubes,
scans and the scan batches that make uploads exactly-once.

Exactly-once rests on two unique keys, not on application checks: (campaign, person) on
`Scan` (one sample per person per campaign, the first one wins) and (point, key) on
`ScanBatch` (a retried upload finds its stored answer). A tube's member count is kept on the
tube row, which the ingest locks, so a pool never grows past the campaign's pool size.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import Institution, Region
from fangkong.core.scoping import ScopedQuerySet
from fangkong.people.models import Person


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Closed")


POOL_SIZES = (1, 5, 10, 20)


class Campaign(models.Model):
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="campaigns")
    pool_size = models.PositiveSmallIntegerField(
        _("pool size"), choices=[(n, f"{n}-in-1") for n in POOL_SIZES], default=10
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.RUNNING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region__path"

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class SamplingPoint(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="points")
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="sampling_points")
    # The sampling-point institution whose samplers work here; they see only this point.
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grids = models.ManyToManyField(Region, blank=True, related_name="served_by_points")
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    hourly_capacity = models.PositiveIntegerField(_("hourly capacity"), default=0)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region__path"
    scope_institution_field: ClassVar[str] = "institution"

    class Meta:
        ordering = ["campaign_id", "name"]
        verbose_name = _("sampling point")
        verbose_name_plural = _("sampling points")

    def __str__(self) -> str:
        return self.name


class RegistrationCode(models.Model):
    """A person's stable 核酸码: an opaque random token, nothing personal in it."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="reg_code")
    token = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "person__region_path"

    class Meta:
        verbose_name = _("registration code")
        verbose_name_plural = _("registration codes")


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    RECEIVED = "received", _("Received by lab")
    RESULTED = "resulted", _("Resulted")


class Tube(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tubes")
    barcode = models.CharField(_("barcode"), max_length=64)
    point = models.ForeignKey(SamplingPoint, on_delete=models.PROTECT, related_name="tubes")
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    members = models.PositiveSmallIntegerField(_("members"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=TubeStatus.choices, default=TubeStatus.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[str] = "point__institution"

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("tube")
        verbose_name_plural = _("tubes")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "barcode"], name="tube_unique_barcode"),
            models.CheckConstraint(
                condition=models.Q(members__lte=models.F("capacity")), name="tube_not_overfull"
            ),
        ]

    def __str__(self) -> str:
        return self.barcode


class ScanBatch(models.Model):
    """One upload; its stored answer is what a retry with the same key gets back."""

    point = models.ForeignKey(SamplingPoint, on_delete=models.PROTECT, related_name="batches")
    idempotency_key = models.CharField(max_length=128)
    body_hash = models.CharField(max_length=64)
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)
    results = models.JSONField(default=list)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[str] = "point__institution"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["point", "idempotency_key"], name="scanbatch_unique_key"
            ),
        ]


class Scan(models.Model):
    # Every index costs each of millions of inserts: campaign is covered by the unique
    # (campaign, person) index and nothing looks scans up by sampler, so neither gets its own.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="scans")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=32)
    point = models.ForeignKey(SamplingPoint, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(ScanBatch, on_delete=models.PROTECT, related_name="scans")
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    scanned_at = models.DateTimeField(_("scanned at"))

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[str] = "point__institution"

    class Meta:
        ordering = ["-scanned_at", "-id"]
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="scan_one_per_person"),
        ]
