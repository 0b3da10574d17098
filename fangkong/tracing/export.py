"""协查函 out: a case's contacts who live outside our jurisdiction, as an assistance list.

The file uses the screening module's assistance-request layout (one place defines it), so the
receiving jurisdiction loads it with the same importer we use for theirs. It carries what our
own staff entered for each contact (name, ID number, phone, address typed on the exposure),
never the other jurisdiction's registry record: exporting it is a reveal, allowed to the
reveal roles only, with a reason and an audit row naming every person sent. Exported
contacts are marked as handed to another jurisdiction, which counts as traced for the
investigation deadline.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core import vault
from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.screening.assistance_layout import layout_workbook
from fangkong.tracing.models import Case, CaseContact, Exposure, TraceStatus
from fangkong.tracing.selectors import elsewhere_contacts
from fangkong.tracing.services.cases import ENTERED_PURPOSE

# The list goes to another jurisdiction's importer, which reads these terms whatever language
# our operator's screen is in, so they are data rather than interface text.
RISK_TYPES = {1: "密接", 2: "次密接", 3: "三代密接"}


def _ancestors(contacts: list[CaseContact]) -> dict[str, Region]:
    """Every region named on the persons' paths, in one query."""
    codes = {code for c in contacts for code in c.person.region_path.strip("/").split("/")}
    return {r.code: r for r in Region.objects.filter(code__in=codes)}


def _entered(case: Case) -> dict[int, dict[str, str]]:
    """What the case's recorders typed for contacts matched outside their jurisdiction."""
    found: dict[int, dict[str, str]] = {}
    tokens = Exposure.objects.filter(case=case).exclude(entered_ct="")
    for token in tokens.values_list("entered_ct", flat=True):
        for pk, values in json.loads(vault.decrypt(token, purpose=ENTERED_PURPOSE)).items():
            merged = found.setdefault(int(pk), {})
            merged.update({k: v for k, v in values.items() if v})
    return found


def _row(
    contact: CaseContact, regions: dict[str, Region], case: Case, entered: dict[str, str]
) -> dict[str, Any]:
    """One line: the coarse place (for routing) and only what our own staff entered.

    The person lives outside the exporter's jurisdiction; their registry record (ID, phone,
    address, even the registered name) belongs to the other jurisdiction and is never
    decrypted here. A contact reached through someone else's records, with nothing entered
    by us, goes out with blank details and a note to route it through the command office.
    """
    person = contact.person
    by_level = {
        regions[code].level: regions[code].name
        for code in person.region_path.strip("/").split("/")
        if code in regions
    }
    note = f"{case.region.name} 病例#{case.pk} 协查 {timezone.localdate():%Y-%m-%d}"
    if not entered.get("id_number"):
        note += " 身份信息请经指挥部核对"
    return {
        "name": entered.get("name", ""),
        "id_number": entered.get("id_number", ""),
        "phone": entered.get("phone", ""),
        "address": entered.get("address", ""),
        "district": by_level.get(2, ""),
        "town": by_level.get(3, ""),
        "community": by_level.get(4, ""),
        "risk_type": RISK_TYPES.get(contact.generation, f"{contact.generation}代密接"),
        "note": note,
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
    entered = _entered(case)
    rows = [_row(c, regions, case, entered.get(c.person_id, {})) for c in contacts]
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
