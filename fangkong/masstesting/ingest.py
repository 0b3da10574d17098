"""The scan hot path: a sampler's batch of up to 5,000 scans, stored exactly once.

Exactly-once comes from unique keys, not from checks that could race:
- the batch row (point, idempotency key) is inserted first, so a retry or a concurrent twin
  waits on it and then answers the stored result without touching anything else;
- scans insert with ON CONFLICT DO NOTHING against (campaign, person), so a person scanned by
  two overlapping batches is stored once and the loser answers "duplicate";
- the tubes of the batch are locked (in barcode order, so two batches cannot deadlock) and
  their member counts updated in one statement, so a pool never exceeds the pool size.
The query count is constant in the batch size: every lookup and write is one bulk statement.
The whole batch is one transaction, committed before the answer, so an acknowledged batch is
durable and a failed one leaves nothing. No audit row per batch: the audit chain is a global
lock, and the ScanBatch row already records who uploaded what and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.http import Conflict
from fangkong.core.models import User
from fangkong.masstesting.models import (
    CampaignStatus,
    RegistrationCode,
    SamplingPoint,
    Scan,
    ScanBatch,
    Tube,
    TubeStatus,
)
from fangkong.people.bulk import _uses_copy

MAX_SCANS = 5000
ACTIONS = ("add", "open", "close")
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


def reason_messages() -> dict[str, str]:
    return {
        "malformed": _("Malformed scan: a barcode and a known action are required"),
        "unknown_code": _("Unknown registration code"),
        "tube_full": _("The tube already holds its pool size"),
        "tube_closed": _("The tube is closed"),
        "wrong_point": _("The tube belongs to another sampling point"),
        "wrong_campaign": _("The person lives outside the campaign's region"),
        "campaign_closed": _("The campaign is not running"),
        "already_sampled": _("Already sampled in this campaign"),
    }


@dataclass(frozen=True)
class ScanIn:
    barcode: str
    token: str = ""
    scanned_at: dt.datetime | None = None
    action: str = "add"


@dataclass
class BatchResult:
    batch_id: int
    replayed: bool
    counts: dict[str, int]
    # Only the scans that were not accepted, as [index, status, reason]; the rest were.
    exceptions: list[list[Any]] = field(default_factory=list)
    size: int = 0

    def per_scan(self) -> list[dict[str, Any]]:
        messages = reason_messages()
        out: list[dict[str, Any]] = [
            {"index": i, "status": ACCEPTED, "reason": "", "message": ""} for i in range(self.size)
        ]
        for index, status, reason in self.exceptions:
            out[index] = {
                "index": index,
                "status": status,
                "reason": reason,
                "message": messages.get(reason, ""),
            }
        return out


class BatchTooLarge(Exception):
    pass


def body_hash(point_id: int, scans: list[ScanIn]) -> str:
    canon = [
        [s.barcode, s.token, s.scanned_at.isoformat() if s.scanned_at else "", s.action]
        for s in scans
    ]
    raw = json.dumps([point_id, canon], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def scan_batch_ingest(
    *, actor: User, point: SamplingPoint, idempotency_key: str, scans: list[ScanIn]
) -> BatchResult:
    if len(scans) > MAX_SCANS:
        raise BatchTooLarge(len(scans))
    digest = body_hash(point.pk, scans)
    with transaction.atomic():
        batch, created = _claim(actor, point, idempotency_key, digest)
        if not created:
            if batch.body_hash != digest:
                raise Conflict(_("This Idempotency-Key was used for a different batch"))
            return BatchResult(batch.pk, True, batch.counts, batch.results, len(scans))
        exceptions = _process(actor, point, batch, scans)
        counts = {ACCEPTED: len(scans), DUPLICATE: 0, REJECTED: 0}
        for _i, status, _reason in exceptions:
            counts[status] += 1
            counts[ACCEPTED] -= 1
        batch.counts, batch.results = counts, exceptions
        batch.save(update_fields=["counts", "results"])
    return BatchResult(batch.pk, False, counts, exceptions, len(scans))


def _claim(actor: User, point: SamplingPoint, key: str, digest: str) -> tuple[ScanBatch, bool]:
    """Insert the batch row first: a concurrent twin blocks here until we commit."""
    try:
        with transaction.atomic():
            batch = ScanBatch.objects.create(
                point=point, idempotency_key=key, body_hash=digest, sampler=actor
            )
            return batch, True
    except IntegrityError:
        return ScanBatch.objects.get(point=point, idempotency_key=key), False


@dataclass
class _Plan:
    exceptions: list[list[Any]] = field(default_factory=list)
    rows: list[tuple[int, Tube, int, str, dt.datetime]] = field(default_factory=list)
    changed: dict[int, Tube] = field(default_factory=dict)


def _process(
    actor: User, point: SamplingPoint, batch: ScanBatch, scans: list[ScanIn]
) -> list[list[Any]]:
    campaign = point.campaign
    if campaign.status != CampaignStatus.RUNNING:
        return [[i, REJECTED, "campaign_closed"] for i in range(len(scans))]
    tokens = {s.token for s in scans if s.token}
    people = {
        token: (pid, path)
        for token, pid, path in RegistrationCode.objects.filter(token__in=tokens).values_list(
            "token", "person_id", "person__region_path"
        )
    }
    tubes = _lock_tubes(point, {s.barcode for s in scans if s.barcode and len(s.barcode) <= 64})
    seen = set(
        Scan.objects.filter(
            campaign=campaign, person_id__in=[pid for pid, _p in people.values()]
        ).values_list("person_id", flat=True)
    )
    plan = _plan(point, scans, people, tubes, seen)
    inserted = _insert(actor, point, batch, plan.rows)
    for index, tube, pid, _token, _at in plan.rows:
        if pid not in inserted:  # lost a race to a concurrent batch: stored once, by it
            plan.exceptions.append([index, DUPLICATE, "already_sampled"])
            tube.members -= 1
    if plan.changed:
        _update_tubes(list(plan.changed.values()))
    plan.exceptions.sort(key=lambda e: e[0])
    return plan.exceptions


def _update_tubes(tubes: list[Tube]) -> None:
    if connection.vendor != "postgresql":
        Tube.objects.bulk_update(tubes, ["members", "status", "closed_at"])
        return
    # bulk_update's CASE per row and field costs more Python than the whole insert; unnest
    # sends four arrays as four parameters.
    table = connection.ops.quote_name(Tube._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET members = v.m, status = v.s, closed_at = v.c "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::timestamptz[]) AS v(id, m, s, c) "
            "WHERE t.id = v.id",
            [
                [t.pk for t in tubes],
                [t.members for t in tubes],
                [t.status for t in tubes],
                [t.closed_at for t in tubes],
            ],
        )


def _lock_tubes(point: SamplingPoint, barcodes: set[str]) -> dict[str, Tube]:
    campaign = point.campaign
    locked = Tube.objects.select_for_update().filter(campaign=campaign).order_by("barcode")
    tubes = {t.barcode: t for t in locked.filter(barcode__in=barcodes)}
    missing = barcodes - tubes.keys()
    if missing:
        # Tubes open implicitly on their first scan; a concurrent opener wins harmlessly.
        now = timezone.now()
        Tube.objects.bulk_create(
            [
                Tube(
                    campaign=campaign,
                    barcode=b,
                    point=point,
                    capacity=campaign.pool_size,
                    opened_at=now,
                )
                for b in missing
            ],
            ignore_conflicts=True,
        )
        tubes.update({t.barcode: t for t in locked.filter(barcode__in=missing)})
    return tubes


def _plan(
    point: SamplingPoint,
    scans: list[ScanIn],
    people: dict[str, tuple[int, str]],
    tubes: dict[str, Tube],
    seen: set[int],
) -> _Plan:
    plan = _Plan()
    region_path = point.campaign.region.path
    now = timezone.now()
    for index, scan in enumerate(scans):
        reason = _check(scan, point, people, tubes)
        if reason:
            plan.exceptions.append([index, REJECTED, reason])
            continue
        tube = tubes[scan.barcode]
        if scan.token:
            pid, path = people[scan.token]
            if not path.startswith(region_path):
                plan.exceptions.append([index, REJECTED, "wrong_campaign"])
                continue
            if pid in seen:
                plan.exceptions.append([index, DUPLICATE, "already_sampled"])
                continue
            if tube.members >= tube.capacity:
                plan.exceptions.append([index, REJECTED, "tube_full"])
                continue
            seen.add(pid)
            tube.members += 1
            plan.rows.append((index, tube, pid, scan.token, scan.scanned_at or now))
            plan.changed[tube.pk] = tube
        if scan.action == "close":
            tube.status, tube.closed_at = TubeStatus.CLOSED, scan.scanned_at or now
            plan.changed[tube.pk] = tube
    return plan


def _check(
    scan: ScanIn, point: SamplingPoint, people: dict[str, Any], tubes: dict[str, Tube]
) -> str:
    if scan.action not in ACTIONS or scan.barcode not in tubes:
        return "malformed"
    if scan.action == "add" and not scan.token:
        return "malformed"
    if scan.token and scan.token not in people:
        return "unknown_code"
    tube = tubes[scan.barcode]
    if tube.point_id != point.pk:
        return "wrong_point"
    if tube.status != TubeStatus.OPEN:
        return "tube_closed"
    return ""


COLUMNS = (
    "campaign_id",
    "tube_id",
    "person_id",
    "token",
    "point_id",
    "batch_id",
    "sampler_id",
    "scanned_at",
)


def _insert(
    actor: User,
    point: SamplingPoint,
    batch: ScanBatch,
    rows: list[tuple[int, Tube, int, str, dt.datetime]],
) -> set[int]:
    """Insert the planned scans, skipping persons already stored; the person ids inserted."""
    if not rows:
        return set()
    values = [
        (point.campaign_id, tube.pk, pid, token, point.pk, batch.pk, actor.pk, at)
        for _i, tube, pid, token, at in rows
    ]
    if _uses_copy():
        return _copy_insert(values)
    Scan.objects.bulk_create(
        [Scan(**dict(zip(COLUMNS, v, strict=True))) for v in values],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return set(Scan.objects.filter(batch=batch).values_list("person_id", flat=True))


def _copy_insert(values: list[tuple[Any, ...]]) -> set[int]:
    """PostgreSQL: COPY into a transaction-local stage, then one INSERT … ON CONFLICT."""
    table = connection.ops.quote_name(Scan._meta.db_table)
    names = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS mt_scan_stage ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY mt_scan_stage ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM mt_scan_stage "  # noqa: S608
            "ON CONFLICT DO NOTHING RETURNING person_id"
        )
        inserted = {r[0] for r in cursor.fetchall()}
        cursor.execute("TRUNCATE mt_scan_stage")
    return inserted
