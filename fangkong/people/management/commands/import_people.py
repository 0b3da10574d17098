"""`fangkong import_people FILE --as USERNAME`: import a person list in-process, with progress."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fangkong.core.models import User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.people.models import ImportJob, ImportStatus
from fangkong.people.services.imports import (
    ImportProgress,
    import_errors_xlsx,
    import_job_create,
    import_job_run,
)


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # evaluated when argparse renders it, so it follows the active language
        return _(
            "Import a person list (xlsx or csv) as the given user, synchronously, and write "
            "the row error report next to the file."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help=_("the .xlsx or .csv file"))
        parser.add_argument(
            "--as",
            dest="as_user",
            required=True,
            metavar="USERNAME",
            help=_("import with this user's jurisdiction"),
        )
        parser.add_argument(
            "--region",
            default=None,
            metavar="CODE",
            help=_(
                "community or grid code for rows that name none (default: the user's own "
                "community or grid)"
            ),
        )
        parser.add_argument(
            "--errors",
            type=Path,
            default=None,
            metavar="PATH",
            help=_("where to write the error report (default: FILE.errors.xlsx)"),
        )

    def handle(
        self,
        *args: Any,
        file: Path,
        as_user: str,
        errors: Path | None,
        region: str | None,
        **opts: Any,
    ) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        actor = User.objects.select_related("region").filter(username=as_user).first()
        if actor is None or not actor.is_active:
            raise CommandError(_("no active user with that username"))
        if not file.is_file():
            raise CommandError(_("file not found: %(path)s") % {"path": file})
        try:
            with file.open("rb") as handle:
                job = import_job_create(
                    actor=actor,
                    filename=file.name,
                    content=handle,
                    enqueue=False,
                    region_code=region,
                )
        except (FieldError, Forbidden) as exc:
            raise CommandError(str(exc)) from None
        job = self._run(console, job)
        self._summary(console, job)
        report = errors or file.with_name(f"{file.stem}.errors.xlsx")
        if job.error_count or job.status == ImportStatus.FAILED or errors is not None:
            report.write_bytes(import_errors_xlsx(job=job))
            console.print(_("Error report: %(path)s") % {"path": report})
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message)

    def _run(self, console: Console, job: ImportJob) -> ImportJob:
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(_("Importing"), total=None)

            def show(counts: ImportProgress) -> None:
                bar.update(task, completed=counts.processed, total=counts.total or None)

            job = import_job_run(job_id=job.pk, progress=show)
            bar.update(task, completed=job.processed_rows, total=job.processed_rows)
        return job

    def _summary(self, console: Console, job: ImportJob) -> None:
        table = Table(title=_("Import %(id)s") % {"id": job.pk}, show_header=False)
        table.add_row(_("Status"), str(job.get_status_display()))
        table.add_row(_("Rows read"), str(job.processed_rows))
        table.add_row(_("Created"), str(job.created_count))
        table.add_row(_("Already registered"), str(job.existing_count))
        table.add_row(_("Rejected rows"), str(job.error_count))
        if job.message:
            table.add_row(_("Message"), job.message)
        console.print(table)
