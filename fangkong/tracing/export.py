"""协查函 out: a case's contacts who live outside our jurisdiction, as an assistance list.

The file uses the screening module's assistance-request layout (one place defines it), so the
receiving jurisdiction loads it with the same importer we use for theirs. It carries full ID
numbers, phones and addresses: exporting it is a reveal, allowed to the reveal roles only,
with a reason and an audit row naming every person sent. Exported contacts are marked as
handed to another jurisdiction, which counts as traced for the investigation deadline.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.people.services import ADDRESS_PURPOSE, ID_PURPOSE, PHONE_PURPOSE
from fangkong.screening.assistance_layout import layout_workbook
from fangkong.tracing.models import Case, CaseContact, TraceStatus
from fangkong.tracing.selectors import elsewhere_contacts

# The list goes to another jurisdiction's importer, which reads these terms whatever language
# our operator's screen is in, so they are data rather than interface text.
RISK_TYPES = {1: "密接", 2: "次密接", 3: "三代密接"}


def _ancestors(contacts: list[CaseContact]) -> dict[str, Region]:
    """Every region named on the persons' paths, in one query."""
    codes = {code for c in contacts for code in c.person.region_path.strip("/").split("/")}
    return {r.code: r for r in Region.objects.filter(code__in=codes)}


def _row(contact: CaseContact, regions: dict[str, Region], case: Case) -> dict[str, Any]:
    person = contact.person
    by_level = {
        regions[code].level: regions[code].name
        for code in person.region_path.strip("/").split("/")
        if code in regions
    }
    return {
        "name": person.name,
        "id_number": vault.decrypt(person.id_number_ct, purpose=ID_PURPOSE),
        "phone": vault.decrypt(person.phone_ct, purpose=PHONE_PURPOSE) if person.phone_ct else "",
        "address": (
            vault.decrypt(person.address_ct, purpose=ADDRESS_PURPOSE) if person.address_ct else ""
        ),
        "district": by_level.get(2, ""),
        "town": by_level.get(3, ""),
        "community": by_level.get(4, ""),
        "risk_type": RISK_TYPES.get(contact.generation, f"{contact.generation}代密接"),
        "note": f"{case.region.name} 病例#{case.pk} 协查 {timezone.localdate():%Y-%m-%d}",
    }


@transaction.atomic
def assistance_export(
    *, actor: User, case: Case, reason: str, client_ip: str = ""
) -> tuple[bytes, str]:
    """(xlsx bytes, file name) of the case's contacts living outside the actor's jurisdiction."""
    authorize(actor, "assistance.export", region=case.region_path)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise FieldError("reason", _("give the reason for revealing (at least 4 characters)"))
    contacts = list(elsewhere_contacts(actor=actor, case=case))
    regions = _ancestors(contacts)
    rows = [_row(c, regions, case) for c in contacts]
    audit_record(
        actor=actor,
        action="tracing.assistance_export",
        object_type="case",
        object_id=case.pk,
        reason=reason,
        client_ip=client_ip,
        details={"persons": [c.person_id for c in contacts], "count": len(contacts)},
    )
    pending = [c.pk for c in contacts if c.trace_status == TraceStatus.PENDING]
    if pending:
        CaseContact.objects.filter(pk__in=pending).update(
            trace_status=TraceStatus.ELSEWHERE,
            trace_note=_("assistance request sent"),
            updated_at=timezone.now(),
        )
    name = f"assistance-case{case.pk}-{timezone.localdate():%Y%m%d}.xlsx"
    return layout_workbook(rows), name
