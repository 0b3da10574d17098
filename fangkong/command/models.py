"""The command structure and its one ledger of obligations.

A `Unit` is a part of the command structure (HQ, office, working group, department, town) in
a region, with its superior and its duties. An `Issue` is what was issued — an order, or a
directive agreed at a meeting — and it becomes one `Obligation` per owner unit: the ledger row
that is acknowledged, worked on, completed and verified. Whether it is due soon, overdue or
escalated is derived from its deadline when read (`ladder.py`), never stored.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Region
from fangkong.core.scoping import ScopedQuerySet


class UnitKind(models.TextChoices):
    HQ = "hq", _("Command HQ")
    OFFICE = "office", _("Command office")
    WORKING_GROUP = "working_group", _("Working group")
    DEPARTMENT = "department", _("Department")
    TOWN = "town", _("Town / street")
    COMMUNITY = "community", _("Community")


class Unit(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    superior = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subordinates",
        verbose_name=_("superior unit"),
    )
    # {"tracing": "…", "transport": "…"}: what the unit answers for, per domain
    duties = models.JSONField(_("duties"), default=dict, blank=True)
    # other names the minutes use for it ("县交通局", "交通运输局"), matched when parsing
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="UnitMember", related_name="command_units"
    )

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region__path"

    class Meta:
        ordering = ["region__path", "kind", "code"]
        verbose_name = _("command unit")
        verbose_name_plural = _("command units")

    def __str__(self) -> str:
        return self.name


class UnitMember(models.Model):
    """A user who acts for a unit (acknowledges, reports, verifies in its name)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "user"], name="unit_member_once"),
        ]


class IssueKind(models.TextChoices):
    ORDER = "order", _("Order")
    DIRECTIVE = "directive", _("Meeting directive")
    PROBLEM = "problem", _("Supervision problem")


class Meeting(models.Model):
    """A command meeting whose minutes were turned into directives."""

    title = models.CharField(_("meeting"), max_length=200)
    held_on = models.DateField(_("held on"))
    minutes = models.TextField(_("minutes"))
    issuer = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-held_on", "-pk"]


class Issue(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=IssueKind.choices)
    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    evidence_expected = models.CharField(_("evidence expected"), max_length=500, blank=True)
    issuer = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="issued", verbose_name=_("issued by")
    )
    region_path = models.CharField(max_length=255, editable=False)  # the issuer's
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="directives"
    )
    deadline = models.DateTimeField(_("deadline"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"))

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ObligationState(models.TextChoices):
    OPEN = "open", _("Not acknowledged")
    ACKNOWLEDGED = "acknowledged", _("In hand")
    COMPLETED = "completed", _("Awaiting verification")
    VERIFIED = "verified", _("Verified and closed")
    CANCELLED = "cancelled", _("Cancelled")


class Stage(models.TextChoices):
    """Where an obligation stands on the escalation ladder; derived when read (ladder.py)."""

    ON_TRACK = "on_track", _("On track")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Escalated")
    AWAITING = "awaiting", _("Awaiting verification")
    CLOSED = "closed", _("Closed")


WORKING_STATES = (ObligationState.OPEN, ObligationState.ACKNOWLEDGED)
CLOSED_STATES = (ObligationState.VERIFIED, ObligationState.CANCELLED)


class ObligationRole(models.TextChoices):
    LEAD = "lead", _("Lead")
    SUPPORT = "support", _("Supporting")


class Obligation(models.Model):
    """One owner unit's part of an issue: the row of the ledger."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="obligations")
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="obligations", verbose_name=_("unit")
    )
    region_path = models.CharField(max_length=255, editable=False)  # the owner unit's
    role = models.CharField(
        _("part"), max_length=8, choices=ObligationRole.choices, default=ObligationRole.LEAD
    )
    duty = models.TextField(_("duty"))
    deadline = models.DateTimeField(_("deadline"))
    state = models.CharField(
        _("state"), max_length=16, choices=ObligationState.choices, default=ObligationState.OPEN
    )
    issued_at = models.DateTimeField(_("issued at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    times_returned = models.PositiveSmallIntegerField(default=0)
    times_reopened = models.PositiveSmallIntegerField(default=0)
    # annotated by every selector (ladder.with_stage); not columns
    stage: str
    late: bool

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["deadline", "pk"]
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        constraints = [
            models.UniqueConstraint(fields=["issue", "unit"], name="obligation_once_per_unit"),
        ]
        indexes = [
            models.Index(fields=["unit", "state", "deadline"], name="obligation_queue"),
            models.Index(fields=["region_path", "state"], name="obligation_scope"),
        ]

    def get_stage_display(self) -> str:
        return str(Stage(self.stage).label)


class EventKind(models.TextChoices):
    ISSUED = "issued", _("Issued")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    NOTE = "note", _("Progress note")
    COMPLETED = "completed", _("Reported complete")
    VERIFIED = "verified", _("Verified")
    RETURNED = "returned", _("Sent back")
    REOPENED = "reopened", _("Reopened")
    CANCELLED = "cancelled", _("Cancelled")


class ObligationEvent(models.Model):
    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")  # acted for
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    # a record in this system the evidence points at: a path of this site ("/quarantine/…")
    link = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]


class Evidence(models.Model):
    """A file (photo, scan, spreadsheet) attached to a progress note or a completion."""

    event = models.ForeignKey(ObligationEvent, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "event__obligation__region_path"


# Daily reports and the supervision ledger live beside the ledger in their own modules;
# Django finds models through this one.
from fangkong.command.reports_models import DailyReport, ReportTemplate  # noqa: E402
from fangkong.command.supervision_models import (  # noqa: E402
    Problem,
    ProblemKind,
    Reinspection,
    Severity,
)

__all__ = [
    "CLOSED_STATES",
    "WORKING_STATES",
    "DailyReport",
    "EventKind",
    "Evidence",
    "Issue",
    "IssueKind",
    "Meeting",
    "Obligation",
    "ObligationEvent",
    "ObligationRole",
    "ObligationState",
    "Problem",
    "ProblemKind",
    "Reinspection",
    "ReportTemplate",
    "Severity",
    "Stage",
    "Unit",
    "UnitKind",
    "UnitMember",
]
