"""`fangkong purge_uploads`: delete stored person and assistance lists no job still needs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from fangkong.people.services.imports import uploads_purge


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _("Delete uploaded lists (personal data) that no queued or running job needs")

    def handle(self, *args: Any, **options: Any) -> None:
        removed = uploads_purge()
        self.stdout.write(_("%(n)d uploaded files deleted") % {"n": removed})
