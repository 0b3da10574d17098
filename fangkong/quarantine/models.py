"""Quarantine sites, their rooms, and the stays that put a person under a centralised
quarantine measure into a room.

One person per room (单人单间) is kept by the database, not only by the allocator: an open stay
takes a slot of its room, slots are unique per room among open stays, and a stay that is not
part of an explicitly allocated family can only take slot 1. A person has at most one open
stay, so nobody is in two rooms.
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
from fangkong.people.measures_models import IN_FORCE_STATES, MeasureState


class SiteState(models.TextChoices):
    RESERVE = "reserve", _("Reserve")
    ACTIVE = "active", _("Active")
    CLOSING = "closing", _("Closing")
    STOOD_DOWN = "stood_down", _("Stood down")


class Site(models.Model):
    """A quarantine site (hotel, dormitory, field site): an institution of kind
    quarantine_site with what a command centre needs to run it."""

    institution = models.OneToOneField(
        Institution, on_delete=models.PROTECT, related_name="quarantine_site"
    )
    grid = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_path = models.CharField(max_length=255, editable=False)
    contact_name = models.CharField(_("contact"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=SiteState.choices, default=SiteState.RESERVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "institution"

    class Meta:
        ordering = ["region_path", "institution__name"]
        indexes = [
            models.Index(
                fields=["region_path"], name="qsite_region_path", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.institution.name


class RoomState(models.TextChoices):
    AVAILABLE = "available", pgettext_lazy("room state", "Available")
    OCCUPIED = "occupied", pgettext_lazy("room state", "Occupied")
    DISINFECTION = "disinfection", pgettext_lazy("room state", "Awaiting disinfection")
    OUT_OF_SERVICE = "out_of_service", pgettext_lazy("room state", "Out of service")


class Room(models.Model):
    """A room of a site. Rooms face each other across a corridor when they share building,
    floor, corridor and position on opposite sides (A / B); the allocator keeps arrival
    cohorts off shared corridors and facing doors when it can."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    region_path = models.CharField(max_length=255, editable=False)
    building = models.CharField(_("building"), max_length=32)
    floor = models.SmallIntegerField(_("floor"))
    number = models.CharField(pgettext_lazy("room", "number"), max_length=16)
    corridor = models.CharField(_("corridor"), max_length=16, blank=True)
    side = models.CharField(_("side"), max_length=1, blank=True)  # "A" / "B" / ""
    position = models.PositiveSmallIntegerField(_("position"), null=True, blank=True)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)
    accessible = models.BooleanField(_("accessible"), default=False)
    child_friendly = models.BooleanField(_("child-friendly"), default=False)
    negative_pressure = models.BooleanField(_("negative pressure"), default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=RoomState.choices, default=RoomState.AVAILABLE
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "site__institution"

    class Meta:
        ordering = ["site", "building", "floor", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "building", "number"], name="qroom_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=6), name="qroom_capacity_range"
            ),
            models.CheckConstraint(condition=Q(side__in=["", "A", "B"]), name="qroom_side"),
        ]
        indexes = [models.Index(fields=["site", "state"], name="qroom_site_state")]

    def __str__(self) -> str:
        return f"{self.building}-{self.number}"

    @property
    def corridor_key(self) -> tuple[str, int, str]:
        return (self.building, self.floor, self.corridor)


class RoomEvent(models.Model):
    """History of a room's state: every change, who and why."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]


def label_of(choices: type[models.TextChoices], value: str) -> str:
    """A state's label for a person to read; an unknown value as it is."""
    return str(choices(value).label) if value in choices.values else value


class StayState(models.TextChoices):
    ALLOCATED = "allocated", _("Allocated")
    CHECKED_IN = "checked_in", _("Checked in")
    CHECKED_OUT = "checked_out", _("Checked out")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STAY_STATES = ("allocated", "checked_in")
# the measures that may hold a room: proposed (the room is readied) or in force
ALLOCATABLE_MEASURES = (MeasureState.PROPOSED, *IN_FORCE_STATES)


class Stay(models.Model):
    """A person's place in a room under a centralised quarantine measure."""

    measure = models.ForeignKey(
        "people.ControlMeasure", on_delete=models.PROTECT, related_name="stays"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # the person's region: a town sees its residents wherever they are quarantined
    region_path = models.CharField(max_length=255, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stays")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="stays")
    slot = models.PositiveSmallIntegerField(default=1)
    # persons allocated together into one family room share this; null for everyone else
    family = models.UUIDField(null=True, blank=True)
    cohort = models.CharField(_("cohort"), max_length=64)
    state = models.CharField(
        _("state"), max_length=16, choices=StayState.choices, default=StayState.ALLOCATED
    )
    allocated_at = models.DateTimeField(auto_now_add=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "site__institution"

    class Meta:
        ordering = ["-allocated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=OPEN_STAY_STATES),
                name="qstay_one_open_per_person",
            ),
            models.UniqueConstraint(
                fields=["room", "slot"],
                condition=Q(state__in=OPEN_STAY_STATES),
                name="qstay_one_per_room_slot",
            ),
            # outside an explicit family, a stay takes slot 1: one person per room
            models.CheckConstraint(
                condition=Q(family__isnull=False) | Q(slot=1), name="qstay_single_slot_one"
            ),
        ]
        indexes = [
            models.Index(fields=["site", "state"], name="qstay_site_state"),
            models.Index(
                fields=["region_path"], name="qstay_region_path", opclasses=["varchar_pattern_ops"]
            ),
        ]


class ReservePolicy(models.Model):
    """The room reserve a jurisdiction holds itself to: rooms per 10,000 registered residents
    (the national standard is at least 20) and the free rooms below which the command office
    is alarmed. A region without its own policy follows the nearest one above it, and the
    deployment's defaults (FANGKONG_QUARANTINE_ROOMS_PER_10K, …_MIN_FREE_ROOMS) above all."""

    region = models.OneToOneField(Region, on_delete=models.CASCADE, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    rooms_per_10k = models.PositiveSmallIntegerField(_("rooms per 10,000 residents"))
    min_free_rooms = models.PositiveIntegerField(_("alarm below this many free rooms"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"


class PlaceKind(models.TextChoices):
    CHECKPOINT = "checkpoint", _("Checkpoint")
    STATION = "station", _("Station or airport")
    HOME = "home", pgettext_lazy("place", "Home")
    SITE = "site", _("Quarantine site")
    HOSPITAL = "hospital", _("Hospital")


class TransferState(models.TextChoices):
    DISPATCHED = "dispatched", _("Dispatched")
    UNDER_WAY = "under_way", _("Under way")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_TRANSFER_STATES = (TransferState.DISPATCHED, TransferState.UNDER_WAY)


class Transfer(models.Model):
    """A point-to-point closed-loop transfer (点对点闭环转运): one vehicle carrying one or more
    persons from a pickup to a destination by a deadline, each handover scanned."""

    code = models.CharField(_("transfer number"), max_length=32, unique=True)
    # the dispatching jurisdiction: the transport group and the units above it see it
    region_path = models.CharField(max_length=255, editable=False)
    pickup_kind = models.CharField(_("pickup"), max_length=16, choices=PlaceKind.choices)
    # a place a crew can find (a checkpoint's name, a station's gate); never a home address
    pickup_place = models.CharField(_("pickup place"), max_length=128)
    destination_kind = models.CharField(_("destination"), max_length=16, choices=PlaceKind.choices)
    destination_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_in"
    )
    destination_place = models.CharField(_("destination place"), max_length=128, blank=True)
    vehicle = models.CharField(_("vehicle"), max_length=32)
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    escort = models.CharField(_("medical escort"), max_length=64)
    deadline = models.DateTimeField(_("deadline"))
    state = models.CharField(
        _("state"), max_length=16, choices=TransferState.choices,
        default=TransferState.DISPATCHED,
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "destination_site__institution"

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["state", "deadline"], name="qtransfer_state_deadline"),
            models.Index(
                fields=["region_path"], name="qtransfer_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.code


class LegState(models.TextChoices):
    WAITING = "waiting", _("Waiting for pickup")
    ON_BOARD = "on_board", _("On board")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_LEG_STATES = (LegState.WAITING, LegState.ON_BOARD)


class TransferLeg(models.Model):
    """One person on a transfer. A person is on at most one open leg: never in two places."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="legs")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    measure = models.ForeignKey(
        "people.ControlMeasure", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    state = models.CharField(
        _("state"), max_length=16, choices=LegState.choices, default=LegState.WAITING
    )
    # legs hold no personal field (names are read masked through the person): the crew and
    # the transport group work from them without seeing health data
    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "transfer__region_path"
    scope_institution_field: ClassVar[str] = "transfer__destination_site__institution"

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=OPEN_LEG_STATES),
                name="qleg_one_open_per_person",
            ),
        ]


class HandoverKind(models.TextChoices):
    PICKUP = "pickup", _("Picked up")
    DELIVERY = "delivery", _("Delivered")


class Handover(models.Model):
    """A link of the chain of custody: the receiving side scanned the person's code."""

    leg = models.ForeignKey(TransferLeg, on_delete=models.CASCADE, related_name="handovers")
    kind = models.CharField(max_length=16, choices=HandoverKind.choices)
    at = models.DateTimeField()
    place = models.CharField(_("place"), max_length=128)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["leg", "kind"], name="qhandover_once_per_kind"),
        ]


class Symptom(models.TextChoices):
    FEVER = "fever", _("Feeling feverish")
    COUGH = "cough", _("Cough")
    SORE_THROAT = "sore_throat", _("Sore throat")
    FATIGUE = "fatigue", _("Fatigue")
    TASTE_SMELL = "taste_smell", _("Loss of taste or smell")
    DIARRHOEA = "diarrhoea", _("Diarrhoea")
    BREATHING = "breathing", _("Shortness of breath")


class CheckSlot(models.TextChoices):
    MORNING = "am", _("Morning")
    EVENING = "pm", _("Evening")


class CheckVia(models.TextChoices):
    STAFF = "staff", _("Site staff")
    GRID = "grid", _("Grid worker")
    SELF = "self", _("The person, by their link")


FEVER_FROM = 37.3  # °C, axillary: the threshold the site doctor is called at


class HealthCheck(models.Model):
    """One of the twice-daily checks of a person under control: temperature and symptoms,
    at a site or at home. One per measure, day and slot; a second report replaces the first
    (a corrected reading), so a retried submission never makes two."""

    measure = models.ForeignKey(
        "people.ControlMeasure", on_delete=models.CASCADE, related_name="health_checks"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="health_checks"
    )
    day = models.DateField(_("day"))
    slot = models.CharField(_("check"), max_length=2, choices=CheckSlot.choices)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    via = models.CharField(max_length=8, choices=CheckVia.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "site__institution"

    class Meta:
        ordering = ["day", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "day", "slot"], name="qhealth_one_per_measure_slot"
            ),
        ]
        indexes = [models.Index(fields=["site", "day"], name="qhealth_site_day")]

    @property
    def flagged(self) -> bool:
        return float(self.temperature) >= FEVER_FROM or bool(self.symptoms)


class DoorSensor(models.Model):
    """A door sensor (门磁) on the home of a person under home quarantine, by its device id
    on the vendor's platform."""

    device_id = models.CharField(_("device id"), max_length=64, unique=True)
    measure = models.ForeignKey(
        "people.ControlMeasure", on_delete=models.PROTECT, related_name="door_sensors"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    installed_at = models.DateTimeField(auto_now_add=True)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"


class DoorEventKind(models.TextChoices):
    OPENED = "opened", _("Door opened")
    OFFLINE = "offline", _("Sensor offline")
    BATTERY = "battery_low", _("Battery low")


class DoorEvent(models.Model):
    """What a sensor reported; an alert for the grid worker until handled."""

    sensor = models.ForeignKey(DoorSensor, on_delete=models.CASCADE, related_name="events")
    # the platform's own id of the event: a retried delivery is recognised, never doubled
    event_id = models.CharField(max_length=64)
    kind = models.CharField(_("event"), max_length=16, choices=DoorEventKind.choices)
    at = models.DateTimeField(_("time"))
    received_at = models.DateTimeField(auto_now_add=True)
    region_path = models.CharField(max_length=255, editable=False)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_note = models.CharField(_("note"), max_length=255, blank=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["sensor", "event_id"], name="qdoor_event_once"),
        ]
        indexes = [
            models.Index(
                fields=["region_path"], name="qdoor_region_path", opclasses=["varchar_pattern_ops"]
            ),
        ]


class ReleaseState(models.TextChoices):
    PROPOSED = "proposed", pgettext_lazy("release", "Awaiting confirmation")
    CONFIRMED = "confirmed", pgettext_lazy("release", "Released")
    RETURNED = "returned", _("Sent back")
    REVOKED = "revoked", _("Notice revoked")


# a measure has at most one release on the way or done; a sent-back one may be proposed again
LIVE_RELEASE_STATES = (ReleaseState.PROPOSED, ReleaseState.CONFIRMED)


class Release(models.Model):
    """A site's proposal to release a person whose measure's conditions are met, the
    confirmation by a unit that decides measures, and the release notice (解除隔离告知书) that
    follows. The notice's public token opens only "valid / not valid" and the dates.

    A plan whose centralised phase is followed by home monitoring ("7+3") releases the person
    from the site into that phase (`ends_measure` false): the measure goes on at home."""

    measure = models.ForeignKey(
        "people.ControlMeasure", on_delete=models.PROTECT, related_name="releases"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="releases")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="releases")
    # the person's region, as for stays: their town sees the release wherever they stayed
    region_path = models.CharField(max_length=255, editable=False)
    state = models.CharField(
        _("state"), max_length=16, choices=ReleaseState.choices, default=ReleaseState.PROPOSED
    )
    # what the conditions were when proposed (the notice states them)
    quarantine_from = models.DateField(_("quarantined from"))
    quarantine_until = models.DateField(_("quarantined until"))
    days_served = models.PositiveSmallIntegerField(_("days served"))
    tests_negative = models.PositiveSmallIntegerField(_("negative tests"))
    ends_measure = models.BooleanField(default=True)
    monitor_until = models.DateField(_("home monitoring until"), null=True, blank=True)
    proposed_at = models.DateTimeField(auto_now_add=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(_("reason"), max_length=255, blank=True)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    notice_no = models.CharField(
        _("notice number"), max_length=32, unique=True, null=True, blank=True
    )
    # the secret in the notice's QR code; random, so notices cannot be enumerated
    token = models.CharField(max_length=48, unique=True, null=True, blank=True, editable=False)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"
    scope_institution_field: ClassVar[str] = "site__institution"

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure"],
                condition=Q(state__in=LIVE_RELEASE_STATES),
                name="qrelease_one_live_per_measure",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "state"], name="qrelease_site_state"),
            models.Index(
                fields=["region_path"], name="qrelease_region_path",
                opclasses=["varchar_pattern_ops"],
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.notice_no or f"#{self.pk}"
