"""`fangkong audit verify`: prove the audit log's hash chain is intact.

Meant for a cron job or an inspector's spot check: the exit status alone says whether the log
was edited or truncated behind the application's back (the ORM refuses both, raw SQL does not).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fangkong.core.audit import ChainSummary, verify_chain


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
        summary: list[ChainSummary] = []
        problems = list(verify_chain(summary))
        s = summary[0]
        counts = f"{s.rows} rows ({s.legacy} legacy unkeyed, {s.rows - s.legacy} keyed)"
        # the head is worth writing down elsewhere: only a copy outside the database can reveal
        # a later rewind by someone who also holds the audit key
        head = f"head {s.head_seq} {s.head_hash[:16]}"
        if not problems:
            self.stdout.write(self.style.SUCCESS(f"OK: audit chain intact, {counts}; {head}"))
            return
        self.stdout.write(f"{counts}; {head}")
        for problem in problems:
            self.stderr.write(f"row {problem.seq}: {problem.problem}")
        # CommandError makes the process exit non-zero with a one-line summary
        raise CommandError(f"audit chain is BROKEN: {len(problems)} problem(s) found")
