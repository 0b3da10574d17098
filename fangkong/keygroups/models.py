"""Models of key-group routine testing: which key groups are tested how often where, and who
is enrolled. The tables keep their mass-testing names (masstesting_keygroup*) from before the
app was split out, so no data moved."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.models import Institution, Region
from fangkong.core.scoping import ScopedQuerySet
from fangkong.masstesting.models import POOL_SIZE_CHOICES
from fangkong.people.models import Person


class KeyGroupRegime(models.Model):
    """Routine testing of a key group: how often its members must be tested, per region."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    key_group = models.CharField(_("key group"), max_length=24)
    every_days = models.PositiveSmallIntegerField(_("test every (days)"))
    pool_size = models.PositiveSmallIntegerField(
        _("pool size"), choices=POOL_SIZE_CHOICES, default=1
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    scope_path_field: ClassVar[str] = "region__path"

    class Meta:
        db_table = "masstesting_keygroupregime"
        ordering = ["region_id", "key_group"]
        verbose_name = _("key-group testing regime")
        verbose_name_plural = _("key-group testing regimes")
        constraints = [
            models.UniqueConstraint(fields=["region", "key_group"], name="regime_unique_group"),
        ]


class KeyGroupMember(models.Model):
    """A person enrolled in a key group's routine testing, with the unit that employs them."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    region_path = models.CharField(max_length=255, editable=False)
    key_group = models.CharField(_("key group"), max_length=24)
    unit = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit_name = models.CharField(_("unit"), max_length=200, blank=True)
    enrolled_on = models.DateField(_("enrolled on"))
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    holds_personal_data: ClassVar[bool] = True
    scope_path_field: ClassVar[str] = "region_path"

    class Meta:
        db_table = "masstesting_keygroupmember"
        ordering = ["key_group", "unit_name", "id"]
        verbose_name = _("key-group member")
        verbose_name_plural = _("key-group members")
        constraints = [
            models.UniqueConstraint(fields=["person", "key_group"], name="member_unique_group"),
        ]
        indexes = [
            models.Index(
                fields=["region_path"], name="member_region_path", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["key_group", "active"], name="member_group_active"),
        ]
