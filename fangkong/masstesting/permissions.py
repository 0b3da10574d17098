"""Who may plan campaigns, take samples, move boxes, run the lab and work rechecks."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import DECIDERS, JURISDICTION_STAFF, Reach, Rule, grant

SAMPLER = ("sampler",)
LAB = ("lab",)

RULES = (
    Rule(
        "campaign.plan",
        grant(DECIDERS, Reach.SUBTREE),
        _("Plan a campaign: points, teams, assignments, closing, the not-sampled list"),
        _("Only the command office, districts and towns plan campaigns"),
    ),
    Rule(
        # The institution running the point takes its samples; nobody else posts scans.
        "scan.upload",
        grant(SAMPLER, Reach.INSTITUTION),
        _("Upload the scans of a sampling point"),
        _("Only the samplers of this point may upload its scans"),
    ),
    Rule(
        "box.transport",
        {**grant(SAMPLER, Reach.INSTITUTION), **grant(DECIDERS, Reach.SUBTREE)},
        _("Pack, seal and hand over transfer boxes"),
        _("Only the samplers of this point or its planners pack and hand over its boxes"),
    ),
    Rule(
        "lab.work",
        grant(LAB, Reach.INSTITUTION),
        _("Receive tubes, upload and correct results (own lab)"),
        _("Only the lab's own staff receive tubes and upload results"),
    ),
    Rule(
        # Grid staff resample people of their jurisdiction; so may the serving point's samplers.
        "recheck.sample",
        {**grant(JURISDICTION_STAFF, Reach.SUBTREE), **grant(SAMPLER, Reach.INSTITUTION)},
        _("Record the single-tube resample of a recheck"),
        _("Only the person's grid, community or town, or the serving sampling point, may resample"),
    ),
    Rule(
        "recheck.cancel",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Cancel a recheck that cannot be done here"),
        _("Only the person's grid, community or town may cancel a recheck"),
    ),
    Rule(
        # The list grid staff work through door to door (masked, as on screen); audited.
        "not_sampled.export",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Export the not-yet-sampled list of a region"),
        _("your role may not export the not-yet-sampled list"),
    ),
    Rule(
        "code.read",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Show a resident's registration code, print a grid's code sheet"),
        _("your role may not read residents' registration codes"),
    ),
    Rule(
        # The same staff who show a code hand out (and withdraw) the results-page link.
        "code.link",
        grant(JURISDICTION_STAFF, Reach.SUBTREE),
        _("Issue or revoke a resident's self-service link"),
        _("your role may not issue or revoke residents' self-service links"),
    ),
)
