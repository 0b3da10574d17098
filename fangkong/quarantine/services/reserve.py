"""Setting a jurisdiction's room reserve standard and free-room alarm."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.quarantine.models import ReservePolicy

MAX_ROOMS_PER_10K = 1_000
MAX_MIN_FREE = 1_000_000


def reserve_policy_set(
    *, actor: User, region: Region, rooms_per_10k: int, min_free_rooms: int
) -> ReservePolicy:
    """The region's own standard and alarm threshold; the regions below it follow it unless
    they set their own."""
    authorize(actor, "quarantine.reserve.set", region=region.path)
    if not 1 <= rooms_per_10k <= MAX_ROOMS_PER_10K:
        raise FieldError(
            "rooms_per_10k", _("give a number from 1 to %(max)s") % {"max": MAX_ROOMS_PER_10K}
        )
    if not 0 <= min_free_rooms <= MAX_MIN_FREE:
        raise FieldError(
            "min_free_rooms", _("give a number from 0 to %(max)s") % {"max": MAX_MIN_FREE}
        )
    with transaction.atomic():
        policy, _created = ReservePolicy.objects.update_or_create(
            region=region,
            defaults={
                "region_path": region.path,
                "rooms_per_10k": rooms_per_10k,
                "min_free_rooms": min_free_rooms,
                "updated_by": actor,
            },
        )
        audit_record(
            actor=actor,
            action="quarantine.reserve.set",
            object_type="region",
            object_id=region.pk,
            details={"rooms_per_10k": rooms_per_10k, "min_free_rooms": min_free_rooms},
        )
    return policy
