"""Writes of the campaign board: the audited export of the not-yet-sampled list."""

from __future__ import annotations

import io

import openpyxl
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.sheets import append_row
from fangkong.masstesting.board.selectors import coverage_root, not_sampled_list, not_sampled_row
from fangkong.masstesting.models import Campaign

EXPORT_LIMIT = 100_000


@transaction.atomic
def not_sampled_export(
    *, actor: User, campaign: Campaign, region: Region | None = None, client_ip: str = ""
) -> tuple[bytes, str]:
    """The "not yet sampled" list as xlsx (masked values, as on screen); an export of personal
    data, so it writes one audit row naming the region and how many people it listed."""
    root = coverage_root(actor=actor, campaign=campaign, region=region)
    authorize(actor, "not_sampled.export", region=root)
    rows = [
        not_sampled_row(p)
        for p in not_sampled_list(actor=actor, campaign=campaign, region=root)[:EXPORT_LIMIT]
    ]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Not yet sampled")[:31])
    append_row(ws, [_("Name"), _("ID number"), _("Phone"), _("Address"), _("Grid"), _("Key group")])
    for row in rows:
        append_row(
            ws,
            [
                row["name"],
                row["id_number"],
                row["phone"],
                row["address"],
                row["region_name"],
                row["key_group"],
            ],
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    audit_record(
        actor=actor,
        action="masstesting.not_sampled_export",
        object_type="campaign",
        object_id=campaign.pk,
        client_ip=client_ip,
        details={"region": root.code, "rows": len(rows)},
    )
    return buffer.getvalue(), f"not-sampled-{campaign.pk}-{root.code}.xlsx"
