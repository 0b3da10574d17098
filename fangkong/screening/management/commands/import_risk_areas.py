"""`fangkong import_risk_areas FILE --as USERNAME`: load a risk-area list (xlsx or csv)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rich.console import Console
from rich.table import Table

from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.screening.services.areas import area_field_label, risk_areas_import


class Command(BaseCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # argparse renders it lazily
        "Import a risk-area list (地区代码/地区名称/风险等级/开始时间/结束时间) as the given user; "
        "a place already listed is revised, never overwritten."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help=_("the .xlsx or .csv file"))
        parser.add_argument(
            "--as",
            dest="as_user",
            required=True,
            metavar="USERNAME",
            help=_("a command office or district account"),
        )

    def handle(self, *args: Any, file: Path, as_user: str, **opts: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        actor = User.objects.select_related("region").filter(username=as_user).first()
        if actor is None or not actor.is_active:
            raise CommandError(_("no active user with that username"))
        if not file.is_file():
            raise CommandError(_("file not found: %(path)s") % {"path": file})
        try:
            with file.open("rb") as handle:
                report = risk_areas_import(actor=actor, filename=file.name, content=handle)
        except (FieldError, Forbidden) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from None
        console.print(
            _(
                "%(rows)s rows: %(created)s new, %(revised)s revised, %(unchanged)s unchanged, "
                "%(errors)s rejected"
            )
            % {
                "rows": report.rows,
                "created": report.created,
                "revised": report.revised,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            }
        )
        if report.errors:
            table = Table(_("Row"), _("Field"), _("Reason"))
            for row, field, reason in report.errors:
                table.add_row(str(row), area_field_label(field), reason)
            console.print(table)
