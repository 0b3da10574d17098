"""Release from a site: the site proposes, a unit that decides measures confirms or sends it
back, and the person gets a release notice whose QR code verifies it online.

Confirming a release that ends the measure goes through people's `measure_release`; its
`measure_ended` signal checks the person out and sends the room to disinfection, so the
measure and the room never disagree. A release into a home phase ("7+3") checks the person
out here and leaves the measure in force. The conditions are judged again at confirmation:
a result that arrived in between (a late positive) stops it.
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import User
from fangkong.core.permissions import allowed, authorize
from fangkong.core.validators import FieldError
from fangkong.people.measures_models import IN_FORCE_STATES, MeasureTest
from fangkong.people.services.measures import measure_release
from fangkong.quarantine.models import Release, ReleaseState, Stay, StayState
from fangkong.quarantine.release_rules import ReleaseCheck, release_check
from fangkong.quarantine.services.stays import stay_release_home


def stay_release_check(stay: Stay) -> ReleaseCheck:
    return release_check(stay.measure, MeasureTest.objects.filter(measure=stay.measure_id),
                         timezone.localdate())  # fmt: skip


def release_propose(*, actor: User, stay: Stay, note: str = "") -> Release:
    """The site asks for the person's release; refused, with every unmet condition named,
    until the days are served and the tests due are negative."""
    site = stay.site
    authorize(actor, "quarantine.release.propose", region=site.region_path,
              institution=site.institution)  # fmt: skip
    with transaction.atomic():
        stay = (
            Stay.objects.select_for_update(of=("self",)).select_related("measure").get(pk=stay.pk)
        )
        if stay.state != StayState.CHECKED_IN or stay.measure.state not in IN_FORCE_STATES:
            raise Conflict(_("only a checked-in person under a measure in force is released"))
        check = _met(stay)
        release = Release(
            measure=stay.measure, person_id=stay.person_id, stay=stay, site=site,
            region_path=stay.region_path, quarantine_from=check.start,
            quarantine_until=check.site_until, days_served=check.days_served,
            tests_negative=check.negative, ends_measure=check.ends_measure,
            monitor_until=check.then_until, proposed_by=actor, note=(note or "").strip()[:255],
        )  # fmt: skip
        try:
            with transaction.atomic():
                release.save()
        except IntegrityError:
            raise Conflict(_("a release of this person is already proposed")) from None
        _audit(actor, "quarantine.release.propose", release)
    return release


def _met(stay: Stay) -> ReleaseCheck:
    check = stay_release_check(stay)
    if not check.met:
        raise Conflict(_("not yet: %(reasons)s") % {"reasons": "; ".join(check.reasons)})
    return check


def _locked(actor: User, release: Release, action: str) -> Release:
    authorize(actor, action, region=release.region_path)
    return (
        Release.objects.select_for_update(of=("self",))
        .select_related("stay__room", "stay__site", "measure", "site")
        .get(pk=release.pk)
    )


def release_confirm(*, actor: User, release: Release) -> Release:
    """Release the person: the measure ends (or goes on at home), the room goes to
    disinfection, and the notice gets its number and its verification secret."""
    with transaction.atomic():
        release = _locked(actor, release, "quarantine.release.confirm")
        if release.state != ReleaseState.PROPOSED:
            raise Conflict(_("only a proposed release can be confirmed"))
        stay = release.stay
        if stay.state != StayState.CHECKED_IN:
            raise Conflict(_("the person is no longer checked in at the site"))
        _met(stay)
        today = timezone.localdate()
        note = _("released from %(site)s") % {"site": release.site}
        if release.ends_measure:
            measure_release(actor=actor, measure=release.measure, on=today, reason=note)
        else:
            stay_release_home(actor=actor, stay=stay, note=note)
        release.state, release.released_on = ReleaseState.CONFIRMED, today
        release.decided_by, release.decided_at = actor, timezone.now()
        release.notice_no = f"JG{today:%Y}-{release.pk:07d}"
        release.token = secrets.token_urlsafe(24)
        release.save(update_fields=["state", "released_on", "decided_by", "decided_at",
                                    "notice_no", "token"])  # fmt: skip
        _audit(actor, "quarantine.release.confirm", release)
    return release


def release_return(*, actor: User, release: Release, reason: str) -> Release:
    """Send a proposal back to the site with the reason (it may propose again later)."""
    refusal = _("only a proposed release can be sent back")
    return _settle(actor, release, ReleaseState.PROPOSED, ReleaseState.RETURNED, reason, refusal)


def release_revoke(*, actor: User, release: Release, reason: str) -> Release:
    """Withdraw a notice issued in error: its QR code then verifies as not valid. The
    measure's own history is not rewritten; a new measure is proposed if one is needed."""
    refusal = _("only an issued notice can be revoked")
    return _settle(actor, release, ReleaseState.CONFIRMED, ReleaseState.REVOKED, reason, refusal)


def _settle(
    actor: User, release: Release, was: str, becomes: str, reason: str, refusal: str
) -> Release:
    reason = _reason(reason)
    with transaction.atomic():
        release = _locked(actor, release, "quarantine.release.confirm")
        if release.state != was:
            raise Conflict(refusal)
        release.state, release.decision_note = becomes, reason
        release.decided_by, release.decided_at = actor, timezone.now()
        release.save(update_fields=["state", "decision_note", "decided_by", "decided_at"])
        action = (
            "quarantine.release.return"
            if becomes == ReleaseState.RETURNED
            else ("quarantine.release.revoke")
        )
        _audit(actor, action, release)
    return release


def release_notice_opened(*, actor: User, release: Release, client_ip: str = "") -> None:
    """The notice names the person in full: printing it is an audited action of someone
    who may print it (the site's staff, the units above the site or the person's region)."""
    site = release.site
    if not allowed(actor, "quarantine.release.notice", region=site.region_path,
                   institution=site.institution):  # fmt: skip
        authorize(actor, "quarantine.release.notice", region=release.region_path)
    if release.state != ReleaseState.CONFIRMED:
        raise Conflict(_("there is no valid notice: the release is %(state)s")
                       % {"state": release.get_state_display()})  # fmt: skip
    audit_record(
        actor=actor, action="quarantine.release.notice", object_type="quarantine_release",
        object_id=release.pk, client_ip=client_ip, details={"person": release.person_id},
    )  # fmt: skip


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("give a reason"))
    return reason[:255]


def _audit(actor: User, action: str, release: Release) -> None:
    audit_record(
        actor=actor, action=action, object_type="quarantine_release", object_id=release.pk,
        details={"person": release.person_id, "stay": release.stay_id, "state": release.state},
    )  # fmt: skip
