"""Risk areas and zones, screening records of arrivals, the classification rule table, the
self-declaration throttle and assistance requests (协查) from other jurisdictions.

History is kept by versioning rows, never by overwriting: revising a risk area or a zone closes
the current row (`valid_to`) and opens a new one pointing back at it (`previous`).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet, scope_of


class SharedConfigQuerySet(ScopedQuerySet[Any]):
    """City-wide reference data (notices, the rule table): every member of staff with a scope
    reads all of it; nobody without one (anonymous, a user with no region) reads any."""

    def visible_to(self, user: Any) -> Self:
        scope = scope_of(user)
        qs = self.none() if scope.empty else self.all()
        qs._scoped_for = getattr(user, "pk", 0) or 0
        return qs


def current_q(at: Any) -> Q:
    """Rows in force at `at`: started and not yet ended."""
    return Q(valid_from__lte=at) & (Q(valid_to__isnull=True) | Q(valid_to__gt=at))


# ---------------------------------------------------------------- risk areas and zones


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class RiskAreaKind(models.TextChoices):
    AREA = "area", _("Risk area")
    CASE_PLACE = "case_place", _("Place visited by a case")


class RiskArea(models.Model):
    """A medium/high (or low) risk area elsewhere, as published in a notice.

    Matched by division code prefix (an arrival from 110105001 is inside area 110105) or, for
    areas without a code, by the place name appearing in the arrival's place text.
    """

    division_code = models.CharField(_("division code"), max_length=12, blank=True)
    name = models.CharField(_("place"), max_length=200)
    level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    kind = models.CharField(
        _("kind"), max_length=16, choices=RiskAreaKind.choices, default=RiskAreaKind.AREA
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source / notice"), max_length=255, blank=True)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SharedConfigQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("risk area")
        verbose_name_plural = _("risk areas")
        indexes = [
            models.Index(fields=["division_code"], name="riskarea_code"),
            models.Index(fields=["valid_from", "valid_to"], name="riskarea_validity"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="riskarea_valid_to_after_from",
            ),
            models.CheckConstraint(
                condition=~Q(division_code="") | ~Q(name=""), name="riskarea_code_or_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"

    def is_current(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.valid_from <= at and (self.valid_to is None or self.valid_to > at)


class ZoneKind(models.TextChoices):
    LOCKDOWN = "lockdown", _("Lockdown zone")
    CONTROL = "control", _("Control zone")
    PRECAUTION = "precaution", _("Precaution zone")


class Zone(models.Model):
    """A lockdown / control / precaution zone inside our jurisdiction, over grids or a polygon.

    `region` is the lowest region containing every grid of the zone (or the one chosen for a
    polygon), so the town whose grids are locked down sees its own zone.
    """

    name = models.CharField(pgettext_lazy("entity", "name"), max_length=200)
    kind = models.CharField(_("zone kind"), max_length=16, choices=ZoneKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    grids = models.ManyToManyField(Region, blank=True, related_name="zones")
    polygon = models.JSONField(_("polygon (GeoJSON)"), null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    notice = models.CharField(_("notice"), max_length=255, blank=True)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-valid_from", "-id"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        indexes = [
            models.Index(
                fields=["region_path"], name="zone_region_path", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    def is_current(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.valid_from <= at and (self.valid_to is None or self.valid_to > at)


# ---------------------------------------------------------------- the rule table


class OriginLevel(models.TextChoices):
    ANY = "", _("Any origin")
    HIGH = "high", _("High-risk origin")
    MEDIUM = "medium", _("Medium-risk origin")
    LOW = "low", _("Low-risk origin (not medium or high)")


class ClassificationRule(models.Model):
    """One row of the rule table: data, edited by the command office, never code.

    The first active rule (lowest priority number) whose every condition holds classifies a
    screening record and names the plan to propose. Each edit bumps `version`; a
    classification stores a snapshot of the rule and plan it used, so edits only ever change
    classifications made afterwards.
    """

    priority = models.PositiveIntegerField(_("priority"))
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=120)
    origin_level = models.CharField(
        _("origin risk level"), max_length=8, choices=OriginLevel.choices, blank=True, default=""
    )
    within_days = models.PositiveSmallIntegerField(
        _("within days"),
        null=True,
        blank=True,
        help_text=_("the stay counts only if it ended at most this many days before the start"),
    )
    itinerary_hits_risk = models.BooleanField(
        _("itinerary includes a risk area or a place visited by a case"), default=False
    )
    sources = models.JSONField(_("screening sources (empty: any)"), default=list, blank=True)
    plan = models.ForeignKey(
        "people.MeasurePlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("measure plan"),
    )
    active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = SharedConfigQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("classification rule")
        verbose_name_plural = _("classification rules")

    def __str__(self) -> str:
        return f"{self.priority}. {self.name}"

    @property
    def source_labels(self) -> list[str]:
        labels = dict(ScreeningSource.choices)
        return [str(labels.get(s, s)) for s in self.sources or []]


# ---------------------------------------------------------------- screening records


class ScreeningSource(models.TextChoices):
    CHECKPOINT = "checkpoint", _("Checkpoint")
    SELF_DECLARATION = "self_declaration", _("Self-declaration")
    DOOR_TO_DOOR = "door_to_door", _("Door-to-door")
    ASSISTANCE_REQUEST = "assistance_request", _("Assistance request")
    BIG_DATA = "big_data", _("Big-data push")
    FEVER_CLINIC = "fever_clinic", _("Fever clinic")
    PHARMACY = "pharmacy", _("Pharmacy")
    WORKPLACE = "workplace", _("Workplace")


class ScreeningStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("screening", "Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    CLASSIFIED = "classified", _("Classified")
    REJECTED = "rejected", _("Rejected")


class TravelMode(models.TextChoices):
    TRAIN = "train", _("Train")
    FLIGHT = "flight", _("Flight")
    CAR = "car", _("Car")
    BUS = "bus", _("Coach")
    SHIP = "ship", _("Ship")
    OTHER = "other", _("Other")


def new_token() -> str:
    """22 url-safe characters of randomness; carries no personal data."""
    return secrets.token_urlsafe(16)


class ScreeningRecord(models.Model):
    """One screening of one person (排查): where they came from and what follows.

    The person's identity is kept here in vault form until the record is confirmed, when it
    is matched to (or becomes) a Person by blind index; a pending self-declaration therefore
    creates no person.
    """

    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    source = models.CharField(_("source"), max_length=24, choices=ScreeningSource.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ScreeningStatus.choices,
        default=ScreeningStatus.PENDING,
    )
    name = models.CharField(_("name"), max_length=64)
    id_type = models.CharField(_("ID type"), max_length=24)
    id_number_ct = models.TextField()
    id_number_bidx = models.CharField(max_length=40, db_index=True)
    id_number_mask = models.CharField(_("ID number"), max_length=40)
    phone_ct = models.TextField(blank=True)
    phone_mask = models.CharField(_("phone"), max_length=24, blank=True)
    address_ct = models.TextField(blank=True)
    address_mask = models.CharField(_("address"), max_length=64, blank=True)
    origin_code = models.CharField(_("origin division code"), max_length=12, blank=True)
    origin_place = models.CharField(_("origin"), max_length=200, blank=True)
    # itinerary: [{"place": str, "code": str, "date": "YYYY-MM-DD" | ""}]
    route = models.JSONField(_("itinerary"), default=list, blank=True)
    arrival_at = models.DateTimeField(_("arrival time"), null=True, blank=True)
    travel_mode = models.CharField(
        _("travel mode"), max_length=12, choices=TravelMode.choices, blank=True
    )
    destination = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("destination")
    )
    destination_path = models.CharField(max_length=255, editable=False)
    note = models.CharField(_("note"), max_length=255, blank=True)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        ClassificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # snapshot of what classified it: rule (with version), plan, matched areas, dates
    classification = models.JSONField(default=dict, blank=True)
    measure = models.ForeignKey(
        "people.ControlMeasure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assistance_item = models.OneToOneField(
        "screening.AssistanceItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="screening",
    )
    reject_reason = models.CharField(_("reason for rejection"), max_length=255, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "destination_path"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("screening record")
        verbose_name_plural = _("screening records")
        indexes = [
            models.Index(
                fields=["destination_path"],
                name="screening_dest_path",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["status", "created_at"], name="screening_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_mask}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.destination_path = self.destination.path
        super().save(*args, **kwargs)


class DeclarationHit(models.Model):
    """One POST to the public self-declaration page, keyed by a keyed hash of the address."""

    client_key = models.CharField(max_length=40)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["client_key", "at"], name="declhit_key_at"),
            models.Index(fields=["at"], name="declhit_at"),
        ]


# ---------------------------------------------------------------- assistance requests (协查)


class AssistanceRequest(models.Model):
    """A list of people another jurisdiction asks us to find and put under control."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_jurisdiction = models.CharField(_("requesting jurisdiction"), max_length=120)
    reference_number = models.CharField(_("reference number"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received at"))
    deadline = models.DateTimeField(_("deadline"))
    # the importing unit: scopes the request and is the queue for rows it could not place
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    filename = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    total_rows = models.PositiveIntegerField(default=0)
    assigned_count = models.PositiveIntegerField(default=0)
    unplaced_count = models.PositiveIntegerField(default=0)
    created_persons = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-received_at", "-created_at"]
        verbose_name = _("assistance request")
        verbose_name_plural = _("assistance requests")
        indexes = [
            models.Index(
                fields=["region_path"], name="assist_region_path", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class AssistanceItem(models.Model):
    """One listed person, assigned to the town responsible for them (or the importer's queue)."""

    request = models.ForeignKey(AssistanceRequest, on_delete=models.CASCADE, related_name="items")
    row = models.PositiveIntegerField(_("row"))
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # where the item is worked: the community or town named, else the importer's queue
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    # the responsible town; empty while the item waits in the importer's queue
    town = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    placed = models.BooleanField(_("placed in a town"), default=True)
    risk_type = models.CharField(_("risk type"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    deadline = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["row"]
        constraints = [
            models.UniqueConstraint(fields=["request", "row"], name="assist_item_unique_row"),
        ]
        indexes = [
            models.Index(
                fields=["region_path"], name="assist_item_path", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class AssistanceRowError(models.Model):
    request = models.ForeignKey(
        AssistanceRequest, on_delete=models.CASCADE, related_name="row_errors"
    )
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=64)
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["row", "id"]
