"""`fangkong permissions`: print the permission table, or `--write` it into docs/."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fangkong.core.permissions_doc import render, write_all


class Command(BaseCommand):
    help = "Print the permission table (role × action × jurisdiction) as Markdown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="write docs/permissions*.md")
        parser.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write"]:
            for path in write_all():
                self.stdout.write(f"wrote {path}")
            return
        self.stdout.write(render(options["language"]), ending="")
