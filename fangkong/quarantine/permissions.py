"""Who may run quarantine sites, allocate rooms and move people through them."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import DECIDERS, Reach, Rule, grant

SITE_KEEPERS = ("command_office", "working_group", "district")

RULES = (
    Rule(
        "quarantine.site.manage",
        grant(SITE_KEEPERS, Reach.SUBTREE),
        _("Register quarantine sites and their rooms, and change a site's activation state"),
        _("only the command office, working groups and districts keep quarantine sites"),
    ),
    Rule(
        "quarantine.reserve.set",
        grant(SITE_KEEPERS, Reach.SUBTREE),
        _("Set a jurisdiction's room reserve standard and its free-room alarm"),
        _("only the command office, working groups and districts set the room reserve"),
    ),
    Rule(
        "quarantine.allocate",
        grant(DECIDERS, Reach.SUBTREE),
        _("Allocate a room to a person under centralised quarantine, or cancel the allocation"),
        _("your role may not allocate quarantine rooms"),
    ),
    Rule(
        "quarantine.stay",
        {**grant(SITE_KEEPERS, Reach.SUBTREE), "quarantine_site": Reach.INSTITUTION},
        _("Check a person in, change their room, check them out"),
        _("only the site's staff and the units above it move people through a site"),
    ),
    Rule(
        "quarantine.room.state",
        {**grant(SITE_KEEPERS, Reach.SUBTREE), "quarantine_site": Reach.INSTITUTION},
        _("Mark a room disinfected, out of service or back in service"),
        _("only the site's staff and the units above it change a room's state"),
    ),
    Rule(
        "quarantine.release.propose",
        {**grant(SITE_KEEPERS, Reach.SUBTREE), "quarantine_site": Reach.INSTITUTION},
        _("Propose the release of a person whose days are served and tests negative"),
        _("only the site's staff and the units above it propose a release from the site"),
    ),
    Rule(
        "quarantine.release.confirm",
        grant(DECIDERS, Reach.SUBTREE),
        _("Confirm a release from a site, send it back, or revoke a release notice"),
        _("your role may not release persons from quarantine"),
    ),
    Rule(
        "quarantine.release.notice",
        {**grant((*DECIDERS, "community"), Reach.SUBTREE), "quarantine_site": Reach.INSTITUTION},
        _("Print a release notice, which names the person in full (audited)"),
        _("only the site's staff and the units responsible for the person print the notice"),
    ),
    Rule(
        "quarantine.transfer.dispatch",
        grant(SITE_KEEPERS, Reach.SUBTREE),
        _("Dispatch a closed-loop transfer (vehicle, driver, escort, deadline) or cancel it"),
        _("only the command office, working groups and districts dispatch transfers"),
    ),
    Rule(
        "quarantine.transfer.scan",
        grant((*SITE_KEEPERS, "town", "community", "grid_worker", "driver"), Reach.SUBTREE),
        _(
            "Scan a person's code at a handover of a transfer (pickup, or delivery other than "
            "at a site, which the site's staff receive)"
        ),
        _("your role does not take part in transfers"),
    ),
    Rule(
        "quarantine.health.record",
        {
            **grant((*SITE_KEEPERS, "town", "community", "grid_worker"), Reach.SUBTREE),
            "quarantine_site": Reach.INSTITUTION,
        },
        _("Record a person's twice-daily temperature and symptoms (at a site or at home)"),
        _("only the site's staff and the units responsible for the person record checks"),
    ),
    Rule(
        "quarantine.home.watch",
        grant((*SITE_KEEPERS, "town", "community", "grid_worker"), Reach.SUBTREE),
        _("Fit a door sensor at a home under quarantine and handle its alerts"),
        _("only the units responsible for the person watch a home quarantine"),
    ),
    Rule(
        "quarantine.door.report",
        grant((*SITE_KEEPERS, "town", "community", "grid_worker"), Reach.SUBTREE),
        _("Post door-sensor events from a vendor's platform (with a unit's API token)"),
        _("your role may not post door-sensor events"),
    ),
)
