"""Who may keep key-group routine testing."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import DECIDERS, Reach, Rule, grant

RULES = (
    Rule(
        "keygroup.manage",
        grant(DECIDERS, Reach.SUBTREE),
        _("Keep key-group routine testing: regimes, members, rounds"),
        _("Only the command office, districts and towns manage key-group testing"),
    ),
)
