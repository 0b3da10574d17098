"""Who may screen arrivals, decide on them, and change the rules that classify them."""

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
        "screening.create",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Record an arrival screening"),
        _("your role may not screen or decide on arrivals"),
    ),
    Rule(
        "screening.decide",
        grant(REVEALERS, Reach.SUBTREE),
        _("Confirm or reject a screening (starts the control measure)"),
        _("your role may not screen or decide on arrivals"),
    ),
    Rule(
        "classification.configure",
        grant(COMMAND, Reach.ANYWHERE),
        _("Change the classification rule table"),
        _("only the command office may change the rule table"),
    ),
    Rule(
        # Risk areas classify every district's arrivals: a city-wide decision.
        "risk_area.change",
        grant(COMMAND, Reach.CITY),
        _("Create, revise, close or import risk areas (city-wide)"),
        _("only the command office may change risk areas"),
    ),
    Rule(
        "zone.change",
        grant(("command_office", "district"), Reach.SUBTREE),
        _("Create, revise or close lockdown, control and precaution zones"),
        _("only the command office and districts may change zones in their jurisdiction"),
    ),
    Rule(
        "assistance.import",
        grant(DECIDERS, Reach.SUBTREE),
        _("Import an assistance request (协查) list"),
        _("your role may not import assistance requests"),
    ),
    Rule(
        "assistance.assign",
        grant(DECIDERS, Reach.SUBTREE),
        _("Assign assistance request items to a region"),
        _("your role may not assign assistance requests"),
    ),
)
