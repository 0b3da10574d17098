"""Twice-daily health checks of persons under control: at a site by its staff, at home by the
grid worker, or by the person through their own link (no account; the link's secret is the
credential). A check is one per measure, day and slot: a second report of the same slot
replaces the first, so a retry never makes two.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import IN_FORCE_STATES
from fangkong.people.models import ControlMeasure
from fangkong.quarantine.health import CHECKED_KINDS, slot_at
from fangkong.quarantine.models import (
    CheckSlot,
    CheckVia,
    HealthCheck,
    Stay,
    StayState,
    Symptom,
)

LOWEST, HIGHEST = Decimal("34.0"), Decimal("43.0")


def _temperature(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise FieldError("temperature", _("give the temperature in °C, e.g. 36.5")) from None
    if not LOWEST <= value <= HIGHEST:
        raise FieldError(
            "temperature",
            _("a temperature of %(t)s °C cannot be right; measure again") % {"t": value},
        )
    return value


def _symptoms(raw: list[str]) -> list[str]:
    unknown = sorted(set(raw) - set(Symptom.values))
    if unknown:
        raise FieldError("symptoms", _("unknown symptom: %(s)s") % {"s": ", ".join(unknown)})
    return [s for s in Symptom.values if s in raw]


def health_check_record(
    *,
    actor: User | None,
    measure: ControlMeasure,
    temperature: object,
    symptoms: list[str],
    via: str,
    slot: str | None = None,
) -> HealthCheck:
    """Record this slot's check of a person under a measure in force. `actor` None is the
    person themself through their link (the caller has checked the link)."""
    if measure.kind not in CHECKED_KINDS:
        raise FieldError("measure_id", _("this measure has no daily health checks"))
    stay = (
        Stay.objects.filter(measure=measure, state=StayState.CHECKED_IN)
        .select_related("site__institution")
        .first()
    )
    if actor is not None:
        authorize(
            actor, "quarantine.health.record", region=measure.region_path,
            institution=stay.site.institution if stay else None,
        )  # fmt: skip
    if measure.state not in IN_FORCE_STATES:
        raise Conflict(_("the measure is not in force; there is nothing to check"))
    if via not in CheckVia.values:
        raise FieldError("via", _("unknown way of reporting"))
    now = timezone.now()
    slot = slot or slot_at(now)
    if slot not in CheckSlot.values:
        raise FieldError("slot", _("the check is the morning or the evening one"))
    check, _created = HealthCheck.objects.update_or_create(
        measure=measure,
        day=timezone.localdate(now),
        slot=slot,
        defaults={
            "person_id": measure.person_id,
            "region_path": measure.region_path,
            "site": stay.site if stay else None,
            "temperature": _temperature(temperature),
            "symptoms": _symptoms(list(symptoms or [])),
            "via": via,
            "by": actor,
            "at": now,
        },
    )
    return check
