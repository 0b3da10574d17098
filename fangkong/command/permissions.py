"""Who may keep the command structure, issue orders and directives, and work the ledger.

A grant here says which roles may act over a unit's region. Acting for a unit also needs
membership of it (the owner unit works an obligation, the issuing unit verifies it): that is
the data of who belongs where, checked in the services, not a role."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import COMMAND, DECIDERS, Reach, Rule, grant

ISSUERS = DECIDERS
# the market regulator is the 市场监管局's own department role: its unit works and reports too
WORKERS = (*DECIDERS, "department", "market_regulator", "community")
INSPECTORS = ("inspector", *DECIDERS)

RULES = (
    Rule(
        "command.unit.manage",
        grant(COMMAND, Reach.SUBTREE),
        _("Keep the command structure: units, their duties, superiors and members"),
        _("only the command office keeps the command structure"),
    ),
    Rule(
        "command.issue",
        grant(ISSUERS, Reach.SUBTREE),
        _("Issue an order or a meeting's directives to units, with deadlines; cancel one"),
        _("your role may not issue orders"),
    ),
    Rule(
        "command.obligation.work",
        grant(WORKERS, Reach.SUBTREE),
        _("Acknowledge, report progress on and complete an obligation of one's own unit"),
        _("your role may not work on the command ledger"),
    ),
    Rule(
        "command.obligation.verify",
        grant(ISSUERS, Reach.SUBTREE),
        _("Verify a completed obligation, send it back or reopen it (the issuing unit)"),
        _("your role may not verify obligations"),
    ),
    Rule(
        "command.report.template",
        grant(ISSUERS, Reach.SUBTREE),
        _("Set up daily report templates for the units below: who reports, fields, cut-off"),
        _("your role may not set up daily reports"),
    ),
    Rule(
        "command.report.submit",
        grant(WORKERS, Reach.SUBTREE),
        _("Submit one's own unit's daily report or zero report"),
        _("your role may not submit daily reports"),
    ),
    Rule(
        "command.problem.catalogue",
        grant(COMMAND, Reach.SUBTREE),
        _("Keep the catalogue of problem kinds inspectors record, with their time limits"),
        _("only the command office keeps the problem catalogue"),
    ),
    Rule(
        "command.problem.record",
        grant(INSPECTORS, Reach.SUBTREE),
        _(
            "Record a supervision problem for a unit to rectify; verify, close or reopen it, "
            "draw closed problems for re-inspection"
        ),
        _("your role may not record or close supervision problems"),
    ),
)
