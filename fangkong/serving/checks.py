"""Production start check: refuse to run production with demo accounts or with DEBUG on.

Registered as a Django system check (tag "security"), so every management command that runs
checks refuses too; `fangkong serve` also calls it directly so `--skip-checks` cannot bypass it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError
from django.utils.translation import gettext as _

from fangkong.core.services import demo_accounts_present


def production_start_problems() -> list[CheckMessage]:
    if settings.MODE != "production":
        return []
    problems: list[CheckMessage] = []
    if settings.DEBUG:
        problems.append(
            Error(
                _("production mode refuses to run with DEBUG on"),
                hint=_("unset FANGKONG_DEBUG (debug pages show settings and personal data)"),
                id="fangkong.E101",
            )
        )
    try:
        has_demo = demo_accounts_present()
    except DatabaseError:
        # before the first migrate there is no user table, hence no demo account either
        has_demo = False
    if has_demo:
        problems.append(
            Error(
                _("production mode refuses to run while demo accounts exist"),
                hint=_(
                    "delete the demo accounts first: users marked is_demo have passwords "
                    "written in plain text to demo-accounts.json"
                ),
                id="fangkong.E102",
            )
        )
    return problems


@register(Tags.security)
def production_start_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return production_start_problems()
