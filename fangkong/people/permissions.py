"""Who may do what to persons and control measures (see core.permissions)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import (
    COMMAND,
    DECIDERS,
    JURISDICTION_STAFF,
    REVEALERS,
    Reach,
    Rule,
    grant,
)

RULES = (
    Rule(
        "person.create",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Register a person in the jurisdiction"),
        _("your role may not register or change persons"),
    ),
    Rule(
        "person.update",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Change a person's record"),
        _("your role may not register or change persons"),
    ),
    Rule(
        "person.reveal",
        grant(REVEALERS, Reach.SUBTREE),
        _("Reveal a person's ID number, phone or address (audited)"),
        _("your role may not reveal personal data"),
    ),
    Rule(
        "person.search",
        grant(REVEALERS, Reach.SUBTREE),
        _("Search persons by ID number or phone (audited)"),
        _("your role may not search by ID number or phone"),
    ),
    Rule(
        "person.import",
        grant(REVEALERS, Reach.SUBTREE),
        _("Import a person list"),
        _("your role may not import person lists"),
    ),
    Rule(
        "measure.propose",
        grant(JURISDICTION_STAFF, Reach.ANYWHERE),
        _("Propose a control measure (also for contacts living elsewhere)"),
        _("your role may not propose control measures"),
    ),
    Rule(
        "measure.decide",
        grant(DECIDERS, Reach.SUBTREE),
        _("Start, extend, release, convert or cancel a measure; assign a quarantine site"),
        _("your role may not decide on control measures"),
    ),
    Rule(
        "measure.configure",
        grant(COMMAND, Reach.ANYWHERE),
        _("Change measure plans and the disease profile"),
        _("only the command office may change measure plans and the profile"),
    ),
)
