"""`fangkong audit verify`: prove the audit log's hash chain is intact.

Meant for a cron job or an inspector's spot check: the exit status alone says whether the log
was edited or truncated behind the application's back (the ORM refuses both, raw SQL does not).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.audit import verify_chain
from fangkong.core.models import AuditEvent


class Command(BaseCommand):
    help = "Audit-log tools. `audit verify` checks the hash chain and exits 1 if it is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        sub.required = True
        sub.add_parser("verify", help="check every row's hash and its link to the previous row")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify()

    def _verify(self) -> None:
        problems = list(verify_chain())
        if not problems:
            count = AuditEvent.objects.count()
            self.stdout.write(self.style.SUCCESS(f"OK: audit chain intact, {count} rows"))
            return
        for problem in problems:
            self.stderr.write(f"row {problem.seq}: {problem.problem}")
        # CommandError makes the process exit non-zero with a one-line summary
        raise CommandError(f"audit chain is BROKEN: {len(problems)} problem(s) found")
