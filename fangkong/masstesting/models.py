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

from fangkong.core.idempotency import BatchRecord
from fangkong.core.models import Institution, Region
from fangkong.core.scoping import ScopedQuerySet
from fangkong.people.models import Person


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Closed")


POOL_SIZES = (1, 5, 10, 20)
# Spelled out so that each label is a message of its own (混采 is read "10合1" on a zh-Hans board).
POOL_SIZE_CHOICES = [
    (1, _("1-in-1")),
    (5, _("5-in-1")),
    (10, _("10-in-1")),
    (20, _("20-in-1")),
]


class Campaign(models.Model):
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="campaigns")
    pool_size = models.PositiveSmallIntegerField(
        _("pool size"), choices=POOL_SIZE_CHOICES, default=10
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.RUNNING
    )
    # Empty: every resident of the region should be tested. Otherwise only members of these
    # key groups (a routine round for cold-chain workers, say).
    key_groups = models.JSONField(_("key groups"), default=list, blank=True)
    # Pool size per key group where it differs from the campaign's (medical staff 1-in-1).
    group_pool_sizes = models.JSONField(_("pool size per key group"), default=dict, blank=True)
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


class SamplingTeam(models.Model):
    """A team that staffs a point in a shift; its samplers are users of the point's institution."""

    point = models.ForeignKey(SamplingPoint, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=100)
    shift = models.CharField(_("shift"), max_length=100, blank=True)
    size = models.PositiveSmallIntegerField(_("team size"), default=1)
    samplers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[str] = "point__institution"

    class Meta:
        ordering = ["point_id", "name"]
        verbose_name = _("sampling team")
        verbose_name_plural = _("sampling teams")

    def __str__(self) -> str:
        return self.name


class RegistrationCode(models.Model):
    """A person's stable 核酸码: an opaque random token, nothing personal in it."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="reg_code")
    token = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The self-service page (/hs/<secret>/) has its own secret, apart from the token that every
    # checkpoint sees in the QR; only its keyed hash is kept (codes.self_service_link_issue),
    # None while no link is issued or after it was revoked.
    link_hash = models.CharField(max_length=40, null=True, blank=True, unique=True)
    link_issued_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "person__region_path"

    class Meta:
        verbose_name = _("registration code")
        verbose_name_plural = _("registration codes")


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    BOXED = "boxed", _("In a transfer box")
    RECEIVED = "received", _("Received by lab")
    RESULTED = "resulted", _("Resulted")


class TubeKind(models.TextChoices):
    POOL = "pool", _("Pooled sample")
    RECHECK = "recheck", _("Single-tube recheck")


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


# Pool results that send every member to a single-tube recheck.
NEEDS_RECHECK = (TestResult.POSITIVE, TestResult.INVALID)


class BoxStatus(models.TextChoices):
    PACKED = "packed", _("Packed")
    HANDED_OVER = "handed_over", _("Handed over to the lab")
    RECEIVED = "received", _("Received by the lab")


class TransferBox(models.Model):
    """A cool box of closed tubes carried from a point to a lab; the lab sees what it is handed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="boxes")
    code = models.CharField(_("box code"), max_length=64)
    point = models.ForeignKey(SamplingPoint, on_delete=models.PROTECT, related_name="boxes")
    lab = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=BoxStatus.choices, default=BoxStatus.PACKED
    )
    tube_count = models.PositiveIntegerField(_("tubes declared"), default=0)
    received_count = models.PositiveIntegerField(_("tubes received"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[tuple[str, ...]] = ("point__institution", "lab")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer box")
        verbose_name_plural = _("transfer boxes")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="box_unique_code"),
        ]

    def __str__(self) -> str:
        return self.code


class ResultBatch(BatchRecord):
    """One upload of lab results; its stored answer is what a retry with the same key gets."""

    lab = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "lab__region__path"
    scope_institution_field: ClassVar[str] = "lab"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lab", "idempotency_key"], name="resultbatch_unique_key"
            ),
        ]


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
    kind = models.CharField(
        _("kind"), max_length=8, choices=TubeKind.choices, default=TubeKind.POOL
    )
    box = models.ForeignKey(
        TransferBox, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes"
    )
    # Set when the box is handed over: from then on the lab sees the tube.
    lab = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    result = models.CharField(
        _("result"), max_length=8, choices=TestResult.choices, blank=True, default=""
    )
    ct_value = models.FloatField(_("Ct value"), null=True, blank=True)
    resulted_at = models.DateTimeField(_("resulted at"), null=True, blank=True)
    result_batch = models.ForeignKey(
        ResultBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "point__region__path"
    scope_institution_field: ClassVar[tuple[str, ...]] = ("point__institution", "lab")

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
        # A lab uploads results by barcode among the tubes handed to it.
        indexes = [models.Index(fields=["lab", "barcode"], name="tube_lab_barcode")]

    def __str__(self) -> str:
        return self.barcode


class ScanBatch(BatchRecord):
    """One upload; its stored answer is what a retry with the same key gets back."""

    point = models.ForeignKey(SamplingPoint, on_delete=models.PROTECT, related_name="batches")
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

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


class RecheckReason(models.TextChoices):
    POSITIVE_POOL = "positive_pool", _("Positive pool")
    INVALID_POOL = "invalid_pool", _("Invalid pool")


class RecheckStatus(models.TextChoices):
    OPEN = "open", _("Awaiting resampling")
    SAMPLED = "sampled", _("Resampled, awaiting result")
    RESULTED = "resulted", _("Resulted")
    CANCELLED = "cancelled", _("Cancelled")


# Rechecks still to be done: nobody resampled yet, or the single tube awaits its result.
RECHECK_OUTSTANDING = (RecheckStatus.OPEN, RecheckStatus.SAMPLED)


class RecheckTask(models.Model):
    """Single-tube resampling of one person of a positive or invalid pool, for their grid."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rechecks")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    source_tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="rechecks")
    # The person's grid (their region), denormalised so a grid worker's list is one prefix scan.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    reason = models.CharField(_("reason"), max_length=16, choices=RecheckReason.choices)
    # Under a control measure: resample at home, not at a point.
    at_home = models.BooleanField(_("at home"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=RecheckStatus.choices, default=RecheckStatus.OPEN
    )
    sample_tube = models.ForeignKey(
        Tube, null=True, blank=True, on_delete=models.SET_NULL, related_name="recheck_of"
    )
    sampled_at = models.DateTimeField(_("resampled at"), null=True, blank=True)
    result = models.CharField(
        _("result"), max_length=8, choices=TestResult.choices, blank=True, default=""
    )
    resulted_at = models.DateTimeField(_("resulted at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recheck task")
        verbose_name_plural = _("recheck tasks")
        constraints = [
            # One task per person per pool: re-resolving the same result creates nothing new.
            models.UniqueConstraint(fields=["source_tube", "person"], name="recheck_one_per_pool"),
        ]
        indexes = [
            models.Index(fields=["region_path", "status"], name="recheck_region_status"),
            models.Index(
                fields=["region_path"],
                name="recheck_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
