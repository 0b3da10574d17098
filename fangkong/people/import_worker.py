"""Entry points of import worker processes.

Workers are started with "spawn" (a clean interpreter: no inherited database connections,
locks or threads), so this module must be importable before Django is set up: everything
Django-dependent is imported inside the functions.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any


def key_fingerprint() -> str:
    """Identifies the vault keys in use, so a worker process can prove it has the same ones."""
    from django.conf import settings

    keys = settings.KEYS
    return hashlib.sha256(keys.blind_index_key + keys.active_key_id.encode()).hexdigest()


def worker_init(settings_module: str, language: str, fingerprint: str) -> None:
    if settings_module:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django
    from django.utils import translation

    django.setup()
    translation.activate(language)
    if key_fingerprint() != fingerprint:
        # blind indexes computed with another key would defeat de-duplication
        raise RuntimeError("import worker does not see the same personal-data keys")


def check_batch(batch: list[Any], created_by_id: int | None) -> list[Any]:
    from fangkong.people.import_rows import check_rows

    return check_rows(batch, created_by_id)
