"""Writes of the supervision ledger: the catalogue of problem kinds; an inspector records a
problem and it is issued, in the one ledger, to the unit that must rectify it within the
kind's time limit; closed problems are drawn at random for re-inspection, and a problem found
back is reopened. Rectification, verification, sending back and reopening are the ledger's
own services (`ledger.obligation_note`, `obligation_verify`, `obligation_return`,
`obligation_reopen`), asked of the permission table under `command.problem.record`."""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.command.models import (
    EventKind,
    IssueKind,
    ObligationState,
    Problem,
    ProblemKind,
    Reinspection,
    Severity,
    Unit,
)
from fangkong.command.services import ledger
from fangkong.command.services.evidence import Upload, store_evidence
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.models import Region, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError

MAX_DAYS = 90
MAX_SAMPLE = 500
_SYSTEM_RANDOM = random.SystemRandom()


def site_key(site: str) -> str:
    """One key for one site however it was typed (full-width, spaces, case)."""
    return "".join(unicodedata.normalize("NFKC", site).split()).casefold()


@transaction.atomic
def problem_kind_save(
    *, actor: User, code: str, name: str, days: int, active: bool = True
) -> ProblemKind:
    """Add a kind to the catalogue, or change its name, time limit or whether it is offered."""
    authorize(actor, "command.problem.catalogue")
    code, name = code.strip().upper(), name.strip()
    if not code.replace("_", "").replace("-", "").isalnum() or len(code) > 32:
        raise FieldError("code", _("use letters, digits and _ only"))
    if not name or len(name) > 100:
        raise FieldError("name", _("give a name of at most 100 characters"))
    if not 1 <= days <= MAX_DAYS:
        raise FieldError("days", _("between 1 and %(n)d days") % {"n": MAX_DAYS})
    kind, _created = ProblemKind.objects.update_or_create(
        code=code, defaults={"name": name, "days": days, "active": active}
    )
    details = {"code": code, "days": days, "active": active}
    audit_record(actor=actor, action="command.problem.catalogue", object_type="command.kind",
                 object_id=kind.pk, details=details)  # fmt: skip
    return kind


def _coordinate(value: object, field: str, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise FieldError(field, _("give a number of degrees")) from None
    if not -limit <= number <= limit:
        raise FieldError(field, _("out of range"))
    return number


def _place(latitude: object, longitude: object) -> tuple[Decimal | None, Decimal | None]:
    lat, lng = _coordinate(latitude, "latitude", 90), _coordinate(longitude, "longitude", 180)
    if (lat is None) != (lng is None):
        raise FieldError("longitude" if lng is None else "latitude", _("give both or neither"))
    return lat, lng


def _observed(at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if at is None:
        return now
    if at > now + dt.timedelta(minutes=5):
        raise FieldError("observed_at", _("a problem cannot be found in the future"))
    if at < now - dt.timedelta(days=MAX_DAYS):
        raise FieldError("observed_at", _("more than %(n)d days ago") % {"n": MAX_DAYS})
    return at


def _kind(kind: ProblemKind, severity: str) -> None:
    if not kind.active:
        raise FieldError("kind", _("this kind is no longer in the catalogue"))
    if severity not in Severity.values:
        raise FieldError("severity", _("choose a severity"))


def problem_record(
    *,
    actor: User,
    inspector_unit: Unit,
    unit: Unit,
    kind: ProblemKind,
    severity: str,
    site: str,
    region: Region,
    description: str,
    observed_at: dt.datetime | None = None,
    latitude: object = None,
    longitude: object = None,
    photos: Sequence[Upload] = (),
    days: int | None = None,
    ref: str = "",
) -> Problem:
    """Record a problem found at `site` in `region` and issue it to `unit` to rectify within
    `days` (the kind's time limit when not given). A retry with the same `ref` returns the
    problem already recorded."""
    authorize(actor, "command.problem.record", region=region)
    ref = (ref or "").strip()[:64]
    if ref and (found := Problem.objects.filter(recorded_by=actor, ref=ref).first()):
        return found
    _kind(kind, severity)
    site = ledger.text_field(site, "site", limit=200)
    limit = kind.days if days is None else days
    if not 1 <= limit <= MAX_DAYS:
        raise FieldError("days", _("between 1 and %(n)d days") % {"n": MAX_DAYS})
    lat, lng = _place(latitude, longitude)
    now = timezone.now()
    draft = Problem(
        kind=kind, severity=severity, site=site, site_key=site_key(site), region=region,
        region_path=region.path, latitude=lat, longitude=lng,
        observed_at=_observed(observed_at, now), recorded_by=actor, ref=ref,
    )  # fmt: skip
    issue_to = (inspector_unit, unit, now + dt.timedelta(days=limit))
    try:
        with transaction.atomic():
            return _write(actor, draft, issue_to, description, photos)
    except IntegrityError:
        if ref and (found := Problem.objects.filter(recorded_by=actor, ref=ref).first()):
            return found  # the same upload, sent twice at once
        raise


def _write(
    actor: User,
    draft: Problem,
    issue_to: tuple[Unit, Unit, dt.datetime],
    description: str,
    photos: Sequence[Upload],
) -> Problem:
    """Issue the problem to the unit (inspecting unit, owner unit, deadline) and save it."""
    issuer, unit, deadline = issue_to
    issue = ledger.issue_create(
        actor=actor, issuer=issuer, kind=IssueKind.PROBLEM,
        title=f"{draft.kind.name}：{draft.site}"[: ledger.MAX_TITLE], body=description,
        evidence_expected=_("photos of the rectified site"), deadline=deadline,
        parts=[ledger.Part(unit=unit)],
    )  # fmt: skip
    obligation = issue.obligations.get()
    issued = obligation.events.get(kind=EventKind.ISSUED)
    for upload in photos:
        store_evidence(event=issued, upload=upload)
    draft.issue, draft.obligation = issue, obligation
    draft.save()
    return draft


@transaction.atomic
def reinspection_draw(
    *, actor: User, region: Region, share: float = 0.1, minimum: int = 1
) -> list[Reinspection]:
    """Draw a random share (at least `minimum`) of the closed problems found in `region` that
    are not already waiting for re-inspection."""
    authorize(actor, "command.problem.record", region=region)
    if not 0 < share <= 1:
        raise FieldError("share", _("a share between 0 and 1"))
    closed = (
        Problem.objects.visible_to(actor)
        .filter(region_path__startswith=region.path, obligation__state=ObligationState.VERIFIED)
        .exclude(pk__in=Reinspection.objects.filter(held__isnull=True).values("problem_id"))
        .order_by("pk")
        .values_list("pk", "region_path")
    )
    pool = list(closed)
    size = min(len(pool), MAX_SAMPLE, max(minimum, math.ceil(share * len(pool))))
    now = timezone.now()
    drawn = [
        Reinspection(problem_id=pk, region_path=path, drawn_by=actor, drawn_at=now)
        for pk, path in _SYSTEM_RANDOM.sample(pool, size)
    ]
    # a draw running at the same moment may have taken some: those are left to it
    Reinspection.objects.bulk_create(drawn, ignore_conflicts=True)
    made = list(Reinspection.objects.filter(drawn_by=actor, drawn_at=now).select_related("problem"))
    audit_record(actor=actor, action="command.problem.reinspect", object_type="command.region",
                 object_id=region.pk, details={"drawn": len(made), "pool": len(pool)})  # fmt: skip
    return made


@transaction.atomic
def reinspection_record(
    *, actor: User, reinspection: Reinspection, held: bool, note: str = ""
) -> Reinspection:
    """Record what the re-inspection found; a rectification that did not hold reopens the
    problem's obligation with the inspector's note as the reason."""
    locked = (
        Reinspection.objects.select_for_update(of=("self",))
        .select_related("problem__region", "problem__obligation")
        .get(pk=reinspection.pk)
    )
    authorize(actor, "command.problem.record", region=locked.problem.region)
    note = (note or "").strip()
    if locked.held is not None:
        if locked.held == held:
            return locked  # the same finding sent again
        raise Conflict(_("this re-inspection is already recorded"))
    if not held:
        if not note:
            raise FieldError("note", _("say what was found"))
        ledger.obligation_reopen(actor=actor, obligation=locked.problem.obligation, reason=note)
    locked.held, locked.note = held, note[: ledger.MAX_TEXT]
    locked.inspected_by, locked.inspected_at = actor, timezone.now()
    locked.save(update_fields=["held", "note", "inspected_by", "inspected_at"])
    audit_record(actor=actor, action="command.problem.reinspect", object_type="command.problem",
                 object_id=locked.problem_id, details={"held": held})  # fmt: skip
    return locked
