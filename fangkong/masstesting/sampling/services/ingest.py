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
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.bulk import copy_insert, update_columns, uses_copy
from fangkong.core.idempotency import (
    DUPLICATE,
    REJECTED,
    BatchAnswer,
    batch_once,
    body_digest,
    item_answers,
)
from fangkong.core.models import User
from fangkong.core.permissions import authorize
from fangkong.masstesting.models import (
    Campaign,
    CampaignStatus,
    RegistrationCode,
    SamplingPoint,
    Scan,
    ScanBatch,
    Tube,
    TubeStatus,
)
from fangkong.people.models import Person

MAX_SCANS = 5000
ACTIONS = ("add", "open", "close")
CLOCK_SLACK_BEFORE = dt.timedelta(days=1)
CLOCK_SLACK_AFTER = dt.timedelta(minutes=10)


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
        "not_targeted": _("The person is not in a key group this campaign tests"),
        "bad_pool_size": _("The pool size is not one this campaign allows"),
        "bad_time": _("The scan time is in the future, before the campaign, or has no time zone"),
    }


@dataclass(frozen=True)
class ScanIn:
    barcode: str
    token: str = ""
    scanned_at: dt.datetime | None = None
    action: str = "add"
    # Only on "open": the new tube's capacity, when the campaign pools some groups differently.
    pool_size: int | None = None


@dataclass
class BatchResult(BatchAnswer):
    size: int = 0

    def per_scan(self) -> list[dict[str, Any]]:
        return item_answers(self.size, self.exceptions, reason_messages())


class BatchTooLarge(Exception):
    pass


def body_hash(point_id: int, scans: list[ScanIn]) -> str:
    # pool_size joins the hash only when given, so older clients' retries still match; ASCII
    # JSON as first deployed, so a retry across an upgrade still finds its answer.
    canon = [
        [s.barcode, s.token, s.scanned_at.isoformat() if s.scanned_at else "", s.action]
        + ([s.pool_size] if s.pool_size is not None else [])
        for s in scans
    ]
    return body_digest([point_id, canon], ensure_ascii=True)


def scan_batch_ingest(
    *, actor: User, point: SamplingPoint, idempotency_key: str, scans: list[ScanIn]
) -> BatchResult:
    if len(scans) > MAX_SCANS:
        raise BatchTooLarge(len(scans))
    authorize(actor, "scan.upload", institution=point.institution_id)
    answer = batch_once(
        ScanBatch,
        key={"point": point, "idempotency_key": idempotency_key},
        body_hash=body_hash(point.pk, scans),
        fields={"sampler": actor},
        size=len(scans),
        work=lambda batch: (_process(actor, point, batch, scans), {}),
    )
    return BatchResult(**vars(answer), size=len(scans))


class _Tube:
    """The tube columns the ingest reads and writes; a model instance per tube costs more."""

    __slots__ = ("barcode", "capacity", "closed_at", "members", "pk", "point_id", "status")
    COLUMNS = ("id", "barcode", "point_id", "capacity", "members", "status", "closed_at")

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.pk, self.barcode, self.point_id, self.capacity, self.members, self.status,
         self.closed_at) = row  # fmt: skip


@dataclass
class _Plan:
    exceptions: list[list[Any]] = field(default_factory=list)
    rows: list[tuple[int, _Tube, int, str, dt.datetime]] = field(default_factory=list)
    changed: dict[int, _Tube] = field(default_factory=dict)


# On PostgreSQL the three big lookups send their keys as one array parameter (= ANY(%s)):
# Django's IN with 5,000 placeholders costs more Python than the query itself.


def _people(campaign_id: int, tokens: set[str]) -> tuple[dict[str, tuple[int, str, str]], set[int]]:
    """The persons behind the tokens, and those of them already sampled in the campaign."""
    if connection.vendor != "postgresql":
        rows = RegistrationCode.objects.filter(token__in=tokens).values_list(
            "token", "person_id", "person__region_path", "person__key_group"
        )
        people = {token: (pid, path, group) for token, pid, path, group in rows}
        qs = Scan.objects.filter(
            campaign_id=campaign_id, person_id__in=[p[0] for p in people.values()]
        )
        return people, set(qs.values_list("person_id", flat=True))
    code = connection.ops.quote_name(RegistrationCode._meta.db_table)
    person = connection.ops.quote_name(Person._meta.db_table)
    scan = connection.ops.quote_name(Scan._meta.db_table)
    # one round trip: the (campaign, person) unique index answers "seen" in the same join
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.token, c.person_id, p.region_path, p.key_group, s.id IS NOT NULL "  # noqa: S608
            f"FROM {code} c JOIN {person} p ON p.id = c.person_id "
            f"LEFT JOIN {scan} s ON s.campaign_id = %s AND s.person_id = c.person_id "
            "WHERE c.token = ANY(%s)",
            [campaign_id, list(tokens)],
        )
        rows = cursor.fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}, {r[1] for r in rows if r[4]}


def _select_tubes(campaign_id: int, barcodes: set[str]) -> dict[str, _Tube]:
    """The batch's tubes, locked in barcode order so two batches cannot deadlock."""
    if connection.vendor != "postgresql":
        qs = Tube.objects.select_for_update().filter(campaign_id=campaign_id, barcode__in=barcodes)
        rows = list(qs.order_by("barcode").values_list(*_Tube.COLUMNS))
    else:
        table = connection.ops.quote_name(Tube._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(_Tube.COLUMNS)} FROM {table} "  # noqa: S608
                "WHERE campaign_id = %s AND barcode = ANY(%s) ORDER BY barcode FOR UPDATE",
                [campaign_id, list(barcodes)],
            )
            rows = cursor.fetchall()
    return {row[1]: _Tube(row) for row in rows}


def _process(
    actor: User, point: SamplingPoint, batch: ScanBatch, scans: list[ScanIn]
) -> list[list[Any]]:
    campaign = point.campaign
    if campaign.status != CampaignStatus.RUNNING:
        return [[i, REJECTED, "campaign_closed"] for i in range(len(scans))]
    people, seen = _people(campaign.pk, {s.token for s in scans if s.token})
    tubes = _lock_tubes(point, _new_capacities(campaign, scans))
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


def _update_tubes(tubes: list[_Tube]) -> None:
    update_columns(
        Tube,
        [t.pk for t in tubes],
        {
            "members": ("int", [t.members for t in tubes]),
            "status": ("text", [t.status for t in tubes]),
            "closed_at": ("timestamptz", [t.closed_at for t in tubes]),
        },
    )


def allowed_pool_sizes(campaign: Campaign) -> set[int]:
    return {campaign.pool_size, *(int(n) for n in campaign.group_pool_sizes.values())}


def _new_capacities(campaign: Campaign, scans: list[ScanIn]) -> dict[str, int]:
    """Each barcode of the batch and the capacity it gets if this batch creates its tube:
    the first valid "open" with a pool size decides, else the campaign's pool size."""
    allowed = allowed_pool_sizes(campaign)
    out: dict[str, int] = {}
    for s in scans:
        if not s.barcode or len(s.barcode) > 64:
            continue
        if s.action == "open" and s.pool_size in allowed and s.barcode not in out:
            out[s.barcode] = s.pool_size
        else:
            out.setdefault(s.barcode, campaign.pool_size)
    return out


def _lock_tubes(point: SamplingPoint, capacities: dict[str, int]) -> dict[str, _Tube]:
    campaign = point.campaign
    barcodes = set(capacities)
    tubes = _select_tubes(campaign.pk, barcodes)
    missing = barcodes - tubes.keys()
    if missing:
        # Tubes open implicitly on their first scan; a concurrent opener wins harmlessly.
        _create_tubes(point, sorted(missing), capacities)
        tubes.update(_select_tubes(campaign.pk, missing))
    return tubes


def _create_tubes(point: SamplingPoint, barcodes: list[str], capacities: dict[str, int]) -> None:
    proto = Tube(campaign=point.campaign, point=point, barcode="", capacity=0)
    proto.opened_at = timezone.now()
    if connection.vendor != "postgresql":
        Tube.objects.bulk_create(
            [
                Tube(
                    campaign_id=proto.campaign_id,
                    point_id=proto.point_id,
                    barcode=b,
                    capacity=capacities[b],
                    opened_at=proto.opened_at,
                )
                for b in barcodes
            ],
            ignore_conflicts=True,
        )
        return
    # bulk_create compiles every field of every row (~50 ms for 500 tubes): here the rows
    # differ only in barcode and capacity, sent as two arrays; every other column takes the
    # prototype's value (its model default), so a column added later is filled the same way.
    columns, values, params = [], [], []
    for f in Tube._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in ("barcode", "capacity"):
            values.append(f"v.{f.attname}")
        else:
            values.append(f"%s::{f.db_type(connection)}")
            params.append(f.get_db_prep_save(f.pre_save(proto, add=True), connection))
    table = connection.ops.quote_name(Tube._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "  # noqa: S608
            "FROM unnest(%s::text[], %s::int[]) AS v(barcode, capacity) ON CONFLICT DO NOTHING",
            [*params, barcodes, [capacities[b] for b in barcodes]],
        )


def _plan(
    point: SamplingPoint,
    scans: list[ScanIn],
    people: dict[str, tuple[int, str, str]],
    tubes: dict[str, _Tube],
    seen: set[int],
) -> _Plan:
    plan = _Plan()
    campaign = point.campaign
    region_path = campaign.region.path
    groups, pool_sizes = set(campaign.key_groups), allowed_pool_sizes(campaign)
    now = timezone.now()
    # A phone's clock decides when a sample counts as taken (and so "negative within 48 h"):
    # times from the future or from long before the campaign are refused, not trusted.
    earliest, latest = campaign.starts_at - CLOCK_SLACK_BEFORE, now + CLOCK_SLACK_AFTER
    for index, scan in enumerate(scans):
        reason = _check(scan, point, people, tubes)
        if not reason and scan.pool_size is not None and scan.pool_size not in pool_sizes:
            reason = "bad_pool_size"
        if not reason and scan.scanned_at is not None:
            at = scan.scanned_at
            if at.tzinfo is None or not earliest <= at <= latest:
                reason = "bad_time"
        if reason:
            plan.exceptions.append([index, REJECTED, reason])
            continue
        tube = tubes[scan.barcode]
        if scan.token:
            pid, path, group = people[scan.token]
            if not path.startswith(region_path):
                plan.exceptions.append([index, REJECTED, "wrong_campaign"])
                continue
            if groups and group not in groups:
                plan.exceptions.append([index, REJECTED, "not_targeted"])
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
    scan: ScanIn, point: SamplingPoint, people: dict[str, Any], tubes: dict[str, _Tube]
) -> str:
    if scan.action not in ACTIONS or scan.barcode not in tubes:
        return "malformed"
    if scan.action == "add" and not scan.token:
        return "malformed"
    if scan.token and scan.token not in people:
        return "unknown_code"
    tube = tubes[scan.barcode]
    if tube.point_id != point.id:
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
    rows: list[tuple[int, _Tube, int, str, dt.datetime]],
) -> set[int]:
    """Insert the planned scans, skipping persons already stored; the person ids inserted."""
    if not rows:
        return set()
    # .pk is a property: read once, not four times per row
    campaign_id, point_id, batch_id, actor_id = point.campaign_id, point.pk, batch.pk, actor.pk
    values = [
        (campaign_id, tube.pk, pid, token, point_id, batch_id, actor_id, at)
        for _i, tube, pid, token, at in rows
    ]
    if uses_copy():
        _n, inserted = copy_insert(
            table=Scan._meta.db_table,
            columns=COLUMNS,
            rows=values,
            stage="mt_scan_stage",
            returning="person_id",
        )
        return set(inserted)
    Scan.objects.bulk_create(
        [Scan(**dict(zip(COLUMNS, v, strict=True))) for v in values],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return set(Scan.objects.filter(batch=batch).values_list("person_id", flat=True))
