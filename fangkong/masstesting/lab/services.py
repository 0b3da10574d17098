"""Transport and lab: transfer boxes, receipt by scan, and the results upload.

The lab sees a tube from the moment its box is handed over (tube.lab is set then), so every
lab-side lookup goes by (lab, barcode) among the tubes handed to that lab, never by barcode
alone: a barcode of another lab's or an unshipped tube answers "unknown".

The results upload is exactly-once like the scan upload (ingest.py): the ResultBatch row
(lab, key) is inserted first, so a retry or a concurrent twin waits on it and answers the
stored result; a tube's result is written once, and a different result for a tube that has
one is rejected (corrections go through tube_result_correct, which is audited). Tubes are
locked in id order, then their boxes in id order, so overlapping uploads and receipt scans
cannot deadlock. The query count does not grow with the batch size.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.bulk import update_columns
from fangkong.core.errors import Conflict
from fangkong.core.idempotency import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    BatchAnswer,
    batch_once,
    body_digest,
    item_answers,
)
from fangkong.core.models import Institution, InstitutionKind, User
from fangkong.core.permissions import authorize
from fangkong.core.validators import FieldError
from fangkong.masstesting.models import (
    BoxStatus,
    ResultBatch,
    SamplingPoint,
    TestResult,
    TransferBox,
    Tube,
    TubeStatus,
)
from fangkong.masstesting.results.services.corrections import correction_follow_up
from fangkong.masstesting.results.services.resolve import ResolveSummary, pools_resolve

MAX_ITEMS = 5000
MAX_BOX_TUBES = 1000
RECEIVED, ALREADY_RECEIVED, UNKNOWN = "received", "already_received", "unknown"

# What labs type in a results sheet; English values are the API's.
RESULT_ALIASES: dict[str, str] = {
    "negative": TestResult.NEGATIVE,
    "neg": TestResult.NEGATIVE,
    "阴性": TestResult.NEGATIVE,
    "positive": TestResult.POSITIVE,
    "pos": TestResult.POSITIVE,
    "阳性": TestResult.POSITIVE,
    "invalid": TestResult.INVALID,
    "无效": TestResult.INVALID,
}
CT_MIN, CT_MAX = 0.0, 50.0
SUMMARY_KEYS: tuple[str, ...] = (
    "rechecks_created",
    "cases_proposed",
    "measure_tests_recorded",
    "recheck_tubes_resolved",
)


def reason_messages() -> dict[str, str]:
    return {
        "malformed": _("A tube barcode is required"),
        "unknown_tube": _("No tube with this barcode was handed over to this lab"),
        "bad_result": _("The result must be negative, positive or invalid"),
        "bad_ct": _("The Ct value must be a number from 0 to 50"),
        "already_resulted": _("The tube already has this result"),
        "conflicting_result": _(
            "The tube already has a different result; correct it explicitly instead"
        ),
    }


# ---------------------------------------------------------------- permissions


def _require_transport(actor: User, point: SamplingPoint) -> None:
    """A sampler of the point's institution, or a planner whose jurisdiction holds the point."""
    authorize(actor, "box.transport", region=point.region, institution=point.institution_id)


def actor_lab(actor: User) -> Institution:
    """The lab a lab user works for; others may not receive or upload."""
    authorize(actor, "lab.work")
    assert actor.institution is not None  # the grant's reach needs an institution
    return actor.institution


def _require_lab(actor: User, lab: Institution) -> None:
    authorize(actor, "lab.work", institution=lab)


def lab_serves_campaign_city(lab: Institution, point: SamplingPoint) -> bool:
    city = point.campaign.region.path.split("/", 1)[0] + "/"
    return lab.kind == InstitutionKind.LAB and lab.region.path.startswith(city)


# ---------------------------------------------------------------- boxes


def _clean_barcodes(barcodes: Iterable[str], *, field_name: str, limit: int) -> list[str]:
    cleaned = list(dict.fromkeys(b.strip() for b in barcodes if b and b.strip()))
    if not cleaned:
        raise FieldError(field_name, _("Scan at least one tube barcode"))
    if len(cleaned) > limit:
        raise FieldError(field_name, _("At most %(n)d tubes at once") % {"n": limit})
    return cleaned


def _box_tube_problems(barcodes: list[str], tubes: dict[str, Tube], point: SamplingPoint) -> str:
    labels = {
        "missing": _("not tubes of this point"),
        "open": _("still open"),
        "boxed": _("already in a box"),
    }
    problems: dict[str, list[str]] = {"missing": [], "open": [], "boxed": []}
    for barcode in barcodes:
        tube = tubes.get(barcode)
        if tube is None or tube.point_id != point.pk:
            problems["missing"].append(barcode)
        elif tube.box_id is not None or tube.status != TubeStatus.CLOSED:
            problems["open" if tube.status == TubeStatus.OPEN else "boxed"].append(barcode)
    return "; ".join(
        f"{labels[k]}: {', '.join(v[:10])}{' …' if len(v) > 10 else ''}"
        for k, v in problems.items()
        if v
    )


@transaction.atomic
def box_pack(
    *,
    actor: User,
    point: SamplingPoint,
    lab: Institution,
    code: str,
    tube_barcodes: list[str],
) -> TransferBox:
    """Put closed tubes of the point into a new box bound for `lab`; all or nothing."""
    _require_transport(actor, point)
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise FieldError("code", _("A box code of at most 64 characters is required"))
    if not lab_serves_campaign_city(lab, point):
        raise FieldError("lab", _("Choose a testing laboratory of the campaign's city"))
    barcodes = _clean_barcodes(tube_barcodes, field_name="tube_barcodes", limit=MAX_BOX_TUBES)
    locked = Tube.objects.select_for_update().filter(campaign_id=point.campaign_id)
    tubes = {t.barcode: t for t in locked.filter(barcode__in=barcodes).order_by("pk")}
    problem = _box_tube_problems(barcodes, tubes, point)
    if problem:
        raise FieldError("tube_barcodes", problem)
    try:
        with transaction.atomic():
            box = TransferBox.objects.create(
                campaign_id=point.campaign_id,
                code=code,
                point=point,
                lab=lab,
                tube_count=len(barcodes),
                created_by=actor,
            )
    except IntegrityError:
        raise FieldError("code", _("This box code is already used in the campaign")) from None
    Tube.objects.filter(pk__in=[t.pk for t in tubes.values()]).update(
        box=box, status=TubeStatus.BOXED
    )
    audit_record(
        actor=actor,
        action="box.pack",
        object_type="transfer_box",
        object_id=box.pk,
        details={"tubes": len(barcodes), "lab": lab.pk},
    )
    return box


@transaction.atomic
def box_hand_over(*, actor: User, box: TransferBox) -> TransferBox:
    """From now on the lab sees the box's tubes."""
    box = TransferBox.objects.select_for_update().select_related("point__region").get(pk=box.pk)
    _require_transport(actor, box.point)
    if box.status != BoxStatus.PACKED:
        raise Conflict(_("The box was already handed over"))
    box.status, box.handed_over_at = BoxStatus.HANDED_OVER, timezone.now()
    box.save(update_fields=["status", "handed_over_at"])
    Tube.objects.filter(box=box).update(lab_id=box.lab_id)
    audit_record(actor=actor, action="box.hand_over", object_type="transfer_box", object_id=box.pk)
    return box


def _refresh_boxes(box_ids: set[int], now: dt.datetime) -> None:
    """Recount received tubes of these boxes, after this transaction's tube updates.

    The box lock is taken after the tubes are written: a concurrent receipt into the same box
    holds it until it commits, so the count that follows the lock sees both (each statement
    of READ COMMITTED reads what was committed when it started)."""
    if not box_ids:
        return
    boxes = list(TransferBox.objects.select_for_update().filter(pk__in=box_ids).order_by("pk"))
    counts = dict(
        Tube.objects.filter(box_id__in=box_ids, received_at__isnull=False)
        .values("box_id")
        .annotate(n=Count("id"))
        .values_list("box_id", "n")
    )
    for box in boxes:
        box.received_count = counts.get(box.pk, 0)
        if box.received_count >= box.tube_count and box.status == BoxStatus.HANDED_OVER:
            box.status, box.received_at = BoxStatus.RECEIVED, now
    TransferBox.objects.bulk_update(boxes, ["received_count", "status", "received_at"])


# ---------------------------------------------------------------- receipt


@dataclass
class ReceiveResult:
    counts: dict[str, int]
    results: list[dict[str, str]]


def _lock_lab_tubes(lab: Institution, barcodes: Iterable[str]) -> dict[str, Tube]:
    """The lab's tubes by barcode, locked in id order. A barcode reused by a later campaign
    means the most recent tube still awaiting its result, else the most recent one."""
    rows = Tube.objects.select_for_update().filter(lab=lab, barcode__in=set(barcodes))
    out: dict[str, Tube] = {}
    for tube in rows.order_by("pk"):
        current = out.get(tube.barcode)
        if current is None or current.result or not tube.result:
            out[tube.barcode] = tube
    return out


@transaction.atomic
def tubes_receive(*, actor: User, lab: Institution, barcodes: list[str]) -> ReceiveResult:
    """The lab scans tubes as they arrive; per barcode: received, already_received, unknown."""
    _require_lab(actor, lab)
    cleaned = _clean_barcodes(barcodes, field_name="barcodes", limit=MAX_ITEMS)
    tubes = _lock_lab_tubes(lab, cleaned)
    now = timezone.now()
    fresh: list[Tube] = []
    results = []
    for barcode in cleaned:
        tube = tubes.get(barcode)
        if tube is None:
            results.append({"barcode": barcode, "status": UNKNOWN})
            continue
        if tube.received_at is not None:
            results.append({"barcode": barcode, "status": ALREADY_RECEIVED})
            continue
        tube.received_at = now
        if tube.status == TubeStatus.BOXED:
            tube.status = TubeStatus.RECEIVED
        fresh.append(tube)
        results.append({"barcode": barcode, "status": RECEIVED})
    if fresh:
        Tube.objects.bulk_update(fresh, ["received_at", "status"], batch_size=1000)
        _refresh_boxes({t.box_id for t in fresh if t.box_id}, now)
    counts = {RECEIVED: 0, ALREADY_RECEIVED: 0, UNKNOWN: 0}
    for r in results:
        counts[r["status"]] += 1
    return ReceiveResult(counts, results)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ResultIn:
    barcode: str
    result: str
    ct_value: Any = None  # a number, a numeric string or None; anything else is bad_ct
    row: int | None = None  # the sheet row, for an error report naming it


@dataclass
class ResultBatchAnswer(BatchAnswer):
    resolve: dict[str, int] = field(default_factory=dict)
    items: list[ResultIn] = field(default_factory=list)

    def per_item(self) -> list[dict[str, Any]]:
        return item_answers(
            len(self.items),
            self.exceptions,
            reason_messages(),
            lambda i: {"barcode": self.items[i].barcode},
        )


class ResultBatchTooLarge(Exception):
    pass


def normalize_result(value: Any) -> str:
    return RESULT_ALIASES.get(str(value or "").strip().lower(), "")


def parse_ct(value: Any) -> tuple[float | None, bool]:
    """(ct, ok): empty is no Ct; a number or numeric text within 0-50 is one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, True
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, False
    try:
        ct = float(value)
    except ValueError:
        return None, False
    if not math.isfinite(ct) or not CT_MIN <= ct <= CT_MAX:
        return None, False
    return ct, True


def results_body_hash(lab_id: int, items: list[ResultIn]) -> str:
    return body_digest([lab_id, [[i.barcode, i.result, i.ct_value] for i in items]])


def results_batch_ingest(
    *, actor: User, lab: Institution, idempotency_key: str, items: list[ResultIn]
) -> ResultBatchAnswer:
    """Store a lab's results exactly once; per item accepted / duplicate / rejected."""
    _require_lab(actor, lab)
    if len(items) > MAX_ITEMS:
        raise ResultBatchTooLarge(len(items))

    def work(batch: ResultBatch) -> tuple[list[list[Any]], dict[str, int]]:
        exceptions, summary = _process(lab, batch, items)
        return exceptions, {k: int(getattr(summary, k)) for k in SUMMARY_KEYS}

    answer = batch_once(
        ResultBatch,
        key={"lab": lab, "idempotency_key": idempotency_key},
        body_hash=results_body_hash(lab.pk, items),
        fields={"uploaded_by": actor},
        size=len(items),
        work=work,
    )
    # The stored counts hold the tally and the resolution's figures; the answer splits them.
    stored = answer.counts
    answer.counts = {k: stored.get(k, 0) for k in (ACCEPTED, DUPLICATE, REJECTED)}
    resolve = {k: stored.get(k, 0) for k in SUMMARY_KEYS}
    return ResultBatchAnswer(**vars(answer), resolve=resolve, items=items)


def _item_problem(item: ResultIn) -> tuple[str, str, float | None]:
    """(reason, result, ct) for one item, reason empty when well-formed."""
    if not item.barcode or len(item.barcode) > 64:
        return "malformed", "", None
    result = normalize_result(item.result)
    if not result:
        return "bad_result", "", None
    ct, ok = parse_ct(item.ct_value)
    return ("" if ok else "bad_ct"), result, ct


def _process(
    lab: Institution, batch: ResultBatch, items: list[ResultIn]
) -> tuple[list[list[Any]], ResolveSummary]:
    tubes = _lock_lab_tubes(lab, {i.barcode for i in items if i.barcode})
    now = timezone.now()
    exceptions: list[list[Any]] = []
    written: dict[int, Tube] = {}
    newly_received: set[int] = set()
    for index, item in enumerate(items):
        reason, result, ct = _item_problem(item)
        tube = tubes.get(item.barcode) if not reason else None
        if not reason and tube is None:
            reason = "unknown_tube"
        if reason or tube is None:
            exceptions.append([index, REJECTED, reason, item.row])
            continue
        if tube.result:
            status, why = (
                (DUPLICATE, "already_resulted")
                if tube.result == result
                else (REJECTED, "conflicting_result")
            )
            exceptions.append([index, status, why, item.row])
            continue
        if tube.received_at is None:  # the receipt scan was skipped: the result proves arrival
            tube.received_at = now
            if tube.box_id:
                newly_received.add(tube.box_id)
        tube.result, tube.ct_value, tube.resulted_at = result, ct, now
        tube.status, tube.result_batch_id = TubeStatus.RESULTED, batch.pk
        written[tube.pk] = tube
    if written:
        _write_results(list(written.values()))
        _refresh_boxes(newly_received, now)
    summary = pools_resolve(tube_ids=sorted(written)) if written else ResolveSummary()
    return exceptions, summary


def _write_results(tubes: list[Tube]) -> None:
    update_columns(
        Tube,
        [t.pk for t in tubes],
        {
            "result": ("text", [t.result for t in tubes]),
            "ct_value": ("float8", [t.ct_value for t in tubes]),
            "resulted_at": ("timestamptz", [t.resulted_at for t in tubes]),
            "received_at": ("timestamptz", [t.received_at for t in tubes]),
            "status": ("text", [t.status for t in tubes]),
            "result_batch_id": ("bigint", [t.result_batch_id for t in tubes]),
        },
    )


@transaction.atomic
def tube_result_correct(
    *, actor: User, tube: Tube, result: str, ct_value: Any = None, reason: str
) -> Tube:
    """Replace a stored result (a lab's own mistake), with the reason in the audit log."""
    tube = Tube.objects.select_for_update().get(pk=tube.pk)
    if tube.lab is None:
        raise FieldError("tube", _("The tube was not handed over to a lab"))
    _require_lab(actor, tube.lab)
    if not tube.result:
        raise Conflict(_("The tube has no result yet; upload it instead"))
    new = normalize_result(result)
    if not new:
        raise FieldError("result", reason_messages()["bad_result"])
    ct, ok = parse_ct(ct_value)
    if not ok:
        raise FieldError("ct_value", reason_messages()["bad_ct"])
    if not (reason or "").strip():
        raise FieldError("reason", _("Give the reason for the correction"))
    previous = tube.result
    old = {"result": previous, "ct_value": tube.ct_value}
    tube.result, tube.ct_value, tube.resulted_at = new, ct, timezone.now()
    tube.save(update_fields=["result", "ct_value", "resulted_at"])
    undone = correction_follow_up(tube=tube, old=previous)
    audit_record(
        actor=actor,
        action="tube.result_correct",
        object_type="tube",
        object_id=tube.pk,
        reason=reason.strip(),
        details={"old": old, "new": {"result": new, "ct_value": ct}, **undone},
    )
    pools_resolve(tube_ids=[tube.pk])
    return tube
