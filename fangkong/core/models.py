"""Regions, institutions, accounts, tokens, login attempts, the audit chain and file jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.core.scoping import ScopedQuerySet


class RegionLevel(models.IntegerChoices):
    CITY = 1, _("City")
    DISTRICT = 2, _("District / county")
    TOWN = 3, _("Town / street")
    COMMUNITY = 4, _("Community / village")
    GRID = 5, _("Grid")


class Region(models.Model):
    """A node of the jurisdiction tree; `path` lets "everything under X" be one prefix query."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    # GeoJSON geometry (Polygon) in WGS84; grids always carry one, others may
    polygon = models.JSONField(_("polygon"), null=True, blank=True)
    centroid_lat = models.FloatField(null=True, blank=True)
    centroid_lng = models.FloatField(null=True, blank=True)
    population = models.PositiveIntegerField(_("registered population"), default=0)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "path"

    class Meta:
        ordering = ["path"]
        indexes = [
            models.Index(
                fields=["path"], name="region_path_prefix", opclasses=["varchar_pattern_ops"]
            ),
        ]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.path = (self.parent.path if self.parent else "") + f"{self.code}/"
        super().save(*args, **kwargs)

    def is_within(self, other: Region) -> bool:
        return self.path.startswith(other.path)

    def child_code(self, path: str) -> str | None:
        """The code of the region directly below this one that holds `path` (a region path
        under this region), or None for this region's own path or one outside it."""
        if not path.startswith(self.path) or path == self.path:
            return None
        return path[len(self.path) :].split("/", 1)[0]


def ancestor_paths(path: str, *, include_self: bool = False) -> list[str]:
    """The paths of the regions above `path`, top first (and `path` itself at the end when
    `include_self`): "a/b/c/" → ["a/", "a/b/"]."""
    codes = path.strip("/").split("/")
    upto = len(codes) if include_self else len(codes) - 1
    return ["/".join(codes[: i + 1]) + "/" for i in range(upto)]


class InstitutionKind(models.TextChoices):
    FEVER_CLINIC = "fever_clinic", _("Fever clinic")
    CLINIC = "clinic", _("Clinic")
    HOSPITAL = "hospital", _("Hospital")
    PHARMACY = "pharmacy", _("Pharmacy")
    LAB = "lab", _("Testing laboratory")
    QUARANTINE_SITE = "quarantine_site", _("Quarantine site")
    SCHOOL = "school", _("School")
    ENTERPRISE = "enterprise", _("Enterprise")
    COLD_STORE = "cold_store", _("Cold store")
    WAREHOUSE = "warehouse", _("Warehouse")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    SAMPLING_POINT = "sampling_point", _("Sampling point")
    MARKET = "market", _("Market")


class Institution(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(pgettext_lazy("entity", "name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=InstitutionKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="institutions")
    address = models.CharField(pgettext_lazy("entity", "address"), max_length=255, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"), default=0)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region__path"
    scope_institution_field: ClassVar[str] = "pk"

    class Meta:
        ordering = ["region__path", "name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COMMAND_OFFICE = "command_office", _("Command office")
    WORKING_GROUP = "working_group", _("Working group")
    DISTRICT = "district", _("District / county")
    TOWN = "town", _("Town / street")
    COMMUNITY = "community", _("Community")
    GRID_WORKER = "grid_worker", _("Grid worker")
    SAMPLER = "sampler", _("Sampler")
    LAB = "lab", _("Laboratory")
    SENTINEL = "sentinel", _("Sentinel (clinic, pharmacy, school)")
    QUARANTINE_SITE = "quarantine_site", _("Quarantine site staff")
    DRIVER = "driver", _("Transfer driver")
    MARKET_REGULATOR = "market_regulator", _("Market regulator")
    INSPECTOR = "inspector", _("Inspector")
    DEPARTMENT = "department", _("Department (public security, transport, …)")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


class WorkingGroup(models.TextChoices):
    TRACING = "tracing", _("Tracing and isolation")
    TESTING = "testing", _("Testing")
    TRANSPORT = "transport", _("Transport")
    SUPPLIES = "supplies", _("Supplies")
    PUBLICITY = "publicity", _("Publicity")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    working_group = models.CharField(
        _("working group"), max_length=16, choices=WorkingGroup.choices, blank=True
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # Demo accounts carry a known password; production refuses to start while any exist.
    is_demo = models.BooleanField(default=False)

    objects: ClassVar[UserManager[User]] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 digest is stored.

    `auth_hash` is a keyed hash of the user's password hash when the token was issued, as
    Django's session auth hash: any password change, by whatever path, ends every token.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    auth_hash = models.CharField(max_length=64, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)


class LoginAttempt(models.Model):
    username = models.CharField(max_length=150, db_index=True)
    client_ip = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(db_index=True)
    success = models.BooleanField()


class AuditQuerySet(ScopedQuerySet["AuditEvent"]):
    def visible_to(self, user: Any) -> AuditQuerySet:
        # the whole log, for the command office only; it is not split by jurisdiction
        from fangkong.core.permissions import allowed as may

        allowed = may(user, "audit.view")
        qs = self.all() if allowed else self.none()
        qs._scoped_for = user.pk if allowed else 0
        return qs

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


class AuditEvent(models.Model):
    """One append-only, hash-chained audit record; see fangkong.core.audit."""

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    # no database constraint and no cascade: deleting a user must neither be blocked by the log
    # nor rewrite it (the actor id is part of each keyed row's hash)
    actor = models.ForeignKey(
        User, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    client_ip = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # 1: plain SHA-256, rows written before the keyed chain; 2: HMAC-SHA256 with the audit key
    chain_version = models.PositiveSmallIntegerField(default=2)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


# Set only inside fangkong.core.audit while it appends; any other write of the head is refused,
# because a head moved by hand could hide rows cut from the end of the log.
_head_writer: ContextVar[bool] = ContextVar("audit_head_writer", default=False)


@contextmanager
def audit_head_writes() -> Iterator[None]:
    token = _head_writer.set(True)
    try:
        yield
    finally:
        _head_writer.reset(token)


class AuditHeadQuerySet(models.QuerySet["AuditHead"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit head is written by the audit service only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit head is written by the audit service only")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditHead]:
        raise PermissionError("the audit head is written by the audit service only")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise PermissionError("the audit head is written by the audit service only")


class AuditHead(models.Model):
    """Single row locked while appending, so concurrent writers cannot fork the chain.

    Written only through `fangkong.core.audit.audit_record`; see `audit_head_writes`.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    # rows up to this seq are the unkeyed legacy prefix; the head's MAC seals this boundary too,
    # so a writer cannot relabel keyed rows as legacy ones and recompute them without the key
    legacy_through = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, blank=True, default="")

    objects = AuditHeadQuerySet.as_manager()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not _head_writer.get():
            raise PermissionError("the audit head is written by the audit service only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit head is written by the audit service only")


class FileJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class FileJob(models.Model):
    """An uploaded file read by the background worker (lab results, assistance lists), so a
    request never parses a spreadsheet. `kind` names the handler; `result` holds what the
    handler answered (counts, row errors as row/field/reason, ids), never a cell's value."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # who besides the uploader sees the job: the uploader's jurisdiction or institution
    region_path = models.CharField(max_length=255, null=True, blank=True)
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    file_sha256 = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=FileJobStatus.choices, default=FileJobStatus.QUEUED
    )
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "institution_id"

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_by", "kind", "file_sha256"])]

    @property
    def finished(self) -> bool:
        return self.status in (FileJobStatus.DONE, FileJobStatus.FAILED)
