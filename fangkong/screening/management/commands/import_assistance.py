"""`fangkong import_assistance FILE --as USERNAME --from "..."`: import an assistance request."""

from __future__ import annotations

import datetime as dt
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
from fangkong.screening import selectors
from fangkong.screening.services.assistance import (
    RequestInfo,
    assistance_errors_xlsx,
    assistance_import,
)


def _when(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(_("not a date and time: %(text)s") % {"text": text}) from None


class Command(BaseCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # argparse renders it lazily
        "Import another jurisdiction's assistance-request list, assign each person to the "
        "responsible town and write the row error report next to the file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help=_("the .xlsx or .csv file"))
        parser.add_argument("--as", dest="as_user", required=True, metavar="USERNAME")
        parser.add_argument("--from", dest="source", required=True, metavar="JURISDICTION")
        parser.add_argument("--reference", default="", metavar="NUMBER")
        parser.add_argument("--deadline", default=None, metavar="ISO-DATETIME")

    def handle(
        self,
        *args: Any,
        file: Path,
        as_user: str,
        source: str,
        reference: str,
        deadline: str | None,
        **opts: Any,
    ) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        actor = User.objects.select_related("region").filter(username=as_user).first()
        if actor is None or not actor.is_active:
            raise CommandError(_("no active user with that username"))
        if not file.is_file():
            raise CommandError(_("file not found: %(path)s") % {"path": file})
        info = RequestInfo(
            from_jurisdiction=source,
            reference_number=reference,
            deadline=_when(deadline) if deadline else None,
        )
        try:
            with file.open("rb") as handle:
                request = assistance_import(
                    actor=actor, info=info, filename=file.name, content=handle
                )
        except (FieldError, Forbidden) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from None
        console.print(
            _(
                "%(rows)s rows: %(assigned)s assigned to towns, %(unplaced)s in your queue, "
                "%(errors)s rejected"
            )
            % {
                "rows": request.total_rows,
                "assigned": request.assigned_count,
                "unplaced": request.unplaced_count,
                "errors": request.error_count,
            }
        )
        table = Table(_("Town"), _("People"))
        for row in selectors.assistance_town_counts(actor=actor, request_id=request.pk):
            table.add_row(row["town__name"] or _("your queue"), str(row["n"]))
        console.print(table)
        if request.error_count:
            target = file.with_name(file.stem + ".errors.xlsx")
            target.write_bytes(assistance_errors_xlsx(request=request))
            console.print(_("error report: %(path)s") % {"path": target})
