"""Pages of the ledger under /command/: each unit's queue (tiles per stage, then the rows),
an obligation with its timeline, evidence and the actions the caller's units may take, the
evidence files, and the command structure with its duties."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fangkong.command import selectors as sel
from fangkong.command.api import evidence_file
from fangkong.command.ladder import Stage
from fangkong.command.models import Obligation, UnitKind
from fangkong.command.services import ledger
from fangkong.command.services.evidence import Upload
from fangkong.core.http import DOMAIN_ERRORS, actor_of, get_scoped_or_404, refused_status, scoped
from fangkong.core.permissions import allowed

QUEUE_ROWS = 500
QUEUE_STAGES = (Stage.ESCALATED, Stage.OVERDUE, Stage.DUE_SOON, Stage.ON_TRACK, Stage.AWAITING)


@scoped
@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    actor, now = actor_of(request), timezone.now()
    stage = request.GET.get("stage") or None
    if stage not in (None, *QUEUE_STAGES):
        stage = None
    everything = sel.my_queue(actor=actor, now=now)
    counts = sel.stage_counts(everything, now)
    rows = sel.my_queue(actor=actor, now=now, stage=stage).order_by("deadline", "pk")
    context = {
        "units": list(sel.my_units(actor=actor)),
        "tiles": [(s, Stage(s).label, counts[s]) for s in QUEUE_STAGES],
        "total": counts["total"],
        "stage": stage,
        "rows": list(rows[:QUEUE_ROWS]),
        "may_issue": allowed(actor, "command.issue"),
        "live_seconds": None,
    }
    return render(request, "command/queue.html", context)


def _obligation(request: HttpRequest, obligation_id: int) -> Obligation:
    qs = sel.obligation_get_qs(actor=actor_of(request), now=timezone.now())
    found: Obligation = get_scoped_or_404(qs, pk=obligation_id)
    return found


def _detail(request: HttpRequest, ob: Obligation, status: int = 200, **extra: Any) -> HttpResponse:
    actor = actor_of(request)
    mine = set(sel.my_units(actor=actor).values_list("pk", flat=True))
    owner = ob.unit_id in mine and allowed(actor, "command.obligation.work", region=ob.region_path)
    issuer = ob.issue.issuer_id in mine and allowed(
        actor, "command.obligation.verify", region=ob.region_path
    )
    context = {
        "ob": ob,
        "events": list(ob.events.all()),
        "as_owner": owner and ob.state in ("open", "acknowledged"),
        "may_acknowledge": owner and ob.state == "open",
        "may_verify": issuer and ob.state == "completed",
        "may_reopen": issuer and ob.state == "verified",
        "may_cancel": issuer and ob.state in ("open", "acknowledged"),
        **extra,
    }
    return render(request, "command/obligation.html", context, status=status)


@scoped
@login_required
@require_GET
def obligation_detail(request: HttpRequest, obligation_id: int) -> HttpResponse:
    return _detail(request, _obligation(request, obligation_id))


def _uploads(request: HttpRequest) -> list[Upload]:
    return [Upload(f.name or "", f) for f in request.FILES.getlist("files")]


ACTIONS = {
    "acknowledge": (lambda a, ob, p, f: ledger.obligation_acknowledge(actor=a, obligation=ob),
                    _("Acknowledged.")),
    "note": (lambda a, ob, p, f: ledger.obligation_note(
        actor=a, obligation=ob, text=p.get("text", ""), link=p.get("link", ""), files=f,
        complete=p.get("complete") == "on"), _("Saved.")),
    "verify": (lambda a, ob, p, f: ledger.obligation_verify(
        actor=a, obligation=ob, note=p.get("note", "")), _("Verified and closed.")),
    "return": (lambda a, ob, p, f: ledger.obligation_return(
        actor=a, obligation=ob, reason=p.get("reason", "")), _("Sent back to the unit.")),
    "reopen": (lambda a, ob, p, f: ledger.obligation_reopen(
        actor=a, obligation=ob, reason=p.get("reason", "")), _("Reopened.")),
    "cancel": (lambda a, ob, p, f: ledger.obligation_cancel(
        actor=a, obligation=ob, reason=p.get("reason", "")), _("Cancelled.")),
}  # fmt: skip


@scoped
@login_required
@require_POST
def obligation_act(request: HttpRequest, obligation_id: int, action: str) -> HttpResponse:
    ob = _obligation(request, obligation_id)
    if action not in ACTIONS:
        raise Http404
    act, done = ACTIONS[action]
    try:
        act(actor_of(request), ob, request.POST, _uploads(request))
    except DOMAIN_ERRORS as exc:
        return _detail(
            request, ob, refused_status(exc), refusal=str(exc), failed=action, posted=request.POST
        )
    messages.success(request, str(done))
    return HttpResponseRedirect(reverse("command:obligation", args=[ob.pk]))


@scoped
@login_required
@require_GET
def evidence_download(request: HttpRequest, evidence_id: int) -> FileResponse:
    found = get_scoped_or_404(sel.evidence_get_qs(actor=actor_of(request)), pk=evidence_id)
    return evidence_file(found)


@scoped
@login_required
@require_GET
def units(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    rows = list(sel.unit_get_qs(actor=actor).filter(active=True))
    context = {
        "groups": [(kind, label, [u for u in rows if u.kind == kind]) for kind, label in
                   UnitKind.choices],
        "mine": set(sel.my_units(actor=actor).values_list("pk", flat=True)),
        "count": len(rows),
    }  # fmt: skip
    return render(request, "command/units.html", context)
