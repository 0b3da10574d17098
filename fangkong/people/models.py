"""The person registry and import jobs. Personal fields live only as vault triples:
ciphertext (`*_ct`), blind index (`*_bidx`) and a precomputed mask (`*_mask`)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAU_PERMIT = "hk_macau_permit", _("Hong Kong / Macau travel permit")
    TAIWAN_PERMIT = "taiwan_permit", _("Taiwan travel permit")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreigner permanent residence card")
    OTHER = "other", _("Other document")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "U", _("Unknown")


class KeyGroup(models.TextChoices):
    NONE = "", _("None")
    COLD_CHAIN = "cold_chain", _("Cold-chain worker")
    MEDICAL = "medical", _("Medical staff")
    DELIVERY = "delivery", _("Delivery rider")
    TRANSPORT = "transport", _("Public transport staff")
    PORT = "port", _("Port and customs staff")
    QUARANTINE_STAFF = "quarantine_staff", _("Quarantine site staff")
    MARKET = "market", _("Market vendor")
    SCHOOL = "school", _("School staff")
    ELDERLY_CARE = "elderly_care", _("Elderly-care staff")
    CONSTRUCTION = "construction", _("Construction worker")
    SERVICE = "service", _("Service industry staff")


class Person(models.Model):
    name = models.CharField(_("name"), max_length=64)
    id_type = models.CharField(_("ID type"), max_length=24, choices=IdType.choices)
    id_number_ct = models.TextField()
    id_number_bidx = models.CharField(max_length=40, db_index=True)
    id_number_mask = models.CharField(_("ID number"), max_length=40)
    phone_ct = models.TextField(blank=True)
    phone_bidx = models.CharField(max_length=40, blank=True, db_index=True)
    phone_mask = models.CharField(_("phone"), max_length=24, blank=True)
    address_ct = models.TextField(blank=True)
    address_mask = models.CharField(_("address"), max_length=64, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="persons")
    # Copy of region.path so "everyone under X" is one indexed prefix scan without a join.
    region_path = models.CharField(max_length=255, editable=False)
    occupation = models.CharField(_("occupation"), max_length=64, blank=True)
    key_group = models.CharField(
        _("key group"), max_length=24, choices=KeyGroup.choices, blank=True, default=""
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    source = models.CharField(max_length=16, default="manual")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["id_type", "id_number_bidx"], name="person_unique_document"
            ),
        ]
        indexes = [
            models.Index(
                fields=["region_path"],
                name="person_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["key_group"], name="person_key_group"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_mask}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded person list; progress is polled by the web page and printed by the CLI."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The importer's home region scopes who may see the job and which regions rows may name.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    # Where rows that name no community or grid go (a street's or community's own register
    # has no such column): chosen on the upload, by default the importer's own community/grid.
    default_region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    existing_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    # A job is a list of named people (the stored file, its row errors): only roles that work
    # with personal data see it, like Person itself.
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region__path"

    class Meta:
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=64)
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["row", "id"]


from fangkong.people.measures_models import (  # noqa: E402
    ControlMeasure,
    DiseaseProfile,
    MeasureEvent,
    MeasureKind,
    MeasurePlan,
    MeasureState,
)

__all__ = [
    "ControlMeasure",
    "DiseaseProfile",
    "IdType",
    "ImportJob",
    "ImportRowError",
    "KeyGroup",
    "MeasureEvent",
    "MeasureKind",
    "MeasurePlan",
    "MeasureState",
    "Person",
    "Sex",
]
