"""Who may register and confirm cases, record exposures and run investigations."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import (
    DECIDERS,
    JURISDICTION_STAFF,
    REVEALERS,
    Reach,
    Rule,
    grant,
)

RULES = (
    Rule(
        "case.register",
        grant(DECIDERS, Reach.SUBTREE),
        _("Register, confirm or change a case"),
        _("your role may not register or confirm cases"),
    ),
    Rule(
        "exposure.record",
        grant(REVEALERS, Reach.SUBTREE),
        _("Record a case's exposures (contacts)"),
        _("your role may not record exposures"),
    ),
    Rule(
        "investigation.run",
        grant(DECIDERS, Reach.SUBTREE),
        _("Mark an investigation traced, close it, recompute generations"),
        _("your role may not run investigations"),
    ),
    Rule(
        "contact.trace",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Mark a contact unreachable or handed to another jurisdiction"),
        _("your role may not trace contacts"),
    ),
    Rule(
        "assistance.export",
        grant(REVEALERS, Reach.SUBTREE),
        _("Export the assistance request (协查函) for contacts living elsewhere (audited)"),
        _("your role may not reveal personal data"),
    ),
)
