"""`fangkong serve`: production start — refuse unsafe configuration, then gunicorn + worker."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

from fangkong.serving.checks import production_start_problems
from fangkong.serving.server import ServeOptions, default_workers, serve


class Command(BaseCommand):
    help = "Serve fangkong (gunicorn and the task worker) after the production start checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))
        parser.add_argument("--port", type=int, default=8000, help=_("port to listen on"))
        parser.add_argument(
            "--workers", type=int, default=default_workers(), help=_("web worker processes")
        )
        parser.add_argument("--threads", type=int, default=4, help=_("threads per worker"))
        parser.add_argument(
            "--migrate", action="store_true", help=_("apply pending migrations first")
        )
        parser.add_argument(
            "--access-log", action="store_true", help=_("log every request to stdout")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MODE_EXPLICIT:
            # unset means demo: keys generated on disk and demo accounts allowed; a server
            # must say which it is (`fangkong demo` is the way to run the demo)
            raise CommandError(
                _(
                    "`fangkong serve` needs FANGKONG_MODE set explicitly in the environment "
                    "(production, or demo for a trial run)"
                )
            )
        # called directly as well as through the system check, so --skip-checks cannot skip it
        problems = production_start_problems()
        if problems:
            raise CommandError(
                "\n".join(f"{p.id}: {p.msg}" + (f" ({p.hint})" if p.hint else "") for p in problems)
            )
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=1)
        else:
            pending = _pending_migrations()
            if pending:
                raise CommandError(
                    _(
                        "%(n)d database migrations are not applied; run `fangkong migrate` "
                        "or pass --migrate"
                    )
                    % {"n": pending}
                )
        self.stdout.write(
            _("Serving fangkong at http://%(host)s:%(port)s/")
            % {"host": options["host"], "port": options["port"]}
        )
        serve(
            ServeOptions(
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                threads=options["threads"],
                access_log=options["access_log"],
            )
        )


def _pending_migrations() -> int:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
