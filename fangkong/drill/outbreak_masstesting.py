"""The demo city's running mass-testing campaign: city-wide, 10-in-1, one sampling point per
community serving that community's grids, one team each, the demo sampler's institution
bound to the point of its community, and about 60–80% of residents already sampled since the
campaign opened this morning, so the campaign board is alive when the demo starts.

Everything goes through the domain: the command office's demo account plans the campaign with
the planning services, and the samples arrive through `scan_batch_ingest` in batches of up
to 5,000 scans (closed 10-person tubes, the last one at each point left open), exactly as a
sampler's phone uploads them. The share sampled varies by community (some lag behind, a few
are done) so the map has something to show. Times are relative to the moment of seeding.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from fangkong.core.audit import audit_record
from fangkong.core.models import AuditEvent, Institution, InstitutionKind, Region, RegionLevel, User
from fangkong.drill.citygen import DEFAULT_SEED, stage_rng
from fangkong.drill.names import CITY_CODE
from fangkong.drill.outbreak_keygroups import KeyGroupDemo, seed_demo_key_groups
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.models import (
    Campaign,
    RegistrationCode,
    SamplingPoint,
    Tube,
    TubeStatus,
)
from fangkong.masstesting.planning import services
from fangkong.masstesting.sampling.services.codes import new_token
from fangkong.masstesting.sampling.services.ingest import MAX_SCANS, ScanIn, scan_batch_ingest
from fangkong.people.models import Person

MARKER = "drill.masstesting_seed"
OFFICE, SAMPLER, LAB = "city_office", "sampler_1", "lab_1"
HOURS_RUNNING = 9  # the campaign opened at 07:00-ish; the demo starts mid-afternoon
WINDOW_HOURS = 24
POOL = 10
# Share of a community's residents already sampled: most are on track, a few lag behind.
SHARE_BANDS = ((0.45, 0.6), (0.62, 0.78), (0.7, 0.85), (0.85, 0.97))
# Relative sampling volume per hour since opening: the morning rush, lunch, the afternoon.
HOURLY_PROFILE = (0.6, 1.4, 1.5, 1.2, 0.9, 0.6, 0.7, 1.0, 1.1)


@dataclass
class MassTestingDemo:
    created: bool
    campaign_id: int | None = None
    points: int = 0
    residents: int = 0
    sampled: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def masstesting_seeded() -> bool:
    return AuditEvent.objects.filter(action=MARKER).exists()


def _users() -> tuple[User, User]:
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=[OFFICE, SAMPLER, LAB], is_demo=True
        ).select_related("region", "institution")
    }
    for name in (OFFICE, SAMPLER):
        if name not in users or (name == SAMPLER and users[name].institution is None):
            raise LookupError(f"demo account {name} missing: seed the demo accounts first")
    return users[OFFICE], users[SAMPLER]


def _ensure_codes(city: Region) -> dict[int, str]:
    """Every resident's registration code (created in bulk where missing), by person id.

    Plain executemany rather than bulk_create: 50,000 model instances cost seconds of
    Python for three columns, and the demo must start quickly."""
    have = dict(
        RegistrationCode.objects.filter(person__region_path__startswith=city.path).values_list(
            "person_id", "token"
        )
    )
    persons = Person.objects.filter(region_path__startswith=city.path)
    now = timezone.now()
    rows = [
        (pid, new_token(), now) for pid in persons.values_list("pk", flat=True) if pid not in have
    ]
    table = connection.ops.quote_name(RegistrationCode._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (person_id, token, created_at) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            rows,
        )
    have.update((pid, token) for pid, token, _at in rows)
    return have


def _community_of(institution: Institution | None, communities: list[Region]) -> Region | None:
    if institution is None:
        return None
    path = institution.region.path
    for community in communities:
        if path.startswith(community.path) or community.path.startswith(path):
            return community
    return None


def _plan_points(
    office: User, sampler: User | None, campaign: Campaign, city: Region
) -> list[SamplingPoint]:
    regions = list(
        Region.objects.filter(
            path__startswith=city.path, level__in=[RegionLevel.COMMUNITY, RegionLevel.GRID]
        ).order_by("path")
    )
    communities = [r for r in regions if r.level == RegionLevel.COMMUNITY]
    grids: dict[int, list[Region]] = {}
    for grid in (r for r in regions if r.level == RegionLevel.GRID):
        grids.setdefault(grid.parent_id or 0, []).append(grid)
    institution = sampler.institution if sampler else None
    if institution is not None and institution.kind != InstitutionKind.SAMPLING_POINT:
        institution = None
    home = _community_of(institution, communities)
    points = []
    for community in communities:
        served = grids.get(community.pk, [])
        if not served:
            continue
        point = services.point_create(
            actor=office,
            campaign=campaign,
            name=f"{community.name}核酸采样点",
            region=community,
            institution=institution if community == home else None,
            grids=served,
            opening_hours="07:00-22:00",
            hourly_capacity=max(60, 40 * len(served)),
        )
        team = services.team_create(
            actor=office,
            point=point,
            name=f"{community.name}采样队",
            shift="07:00-22:00",
            size=4 + len(served) // 2,
            samplers=[sampler] if sampler is not None and community == home else None,
        )
        assert team.pk
        points.append(point)
    return points


def _times(rng: random.Random, n: int, start: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
    """n scan times after `start` and before `now`, following the hourly profile, sorted."""
    weights = list(HOURLY_PROFILE)
    hours = rng.choices(range(len(weights)), weights=weights, k=n)
    limit = (now - start).total_seconds() - 60
    out = [start + dt.timedelta(seconds=min(limit, h * 3600 + rng.uniform(0, 3600))) for h in hours]
    return sorted(out)


def _scan_point(
    rng: random.Random,
    point: SamplingPoint,
    sampler: User,
    tokens: list[str],
    start: dt.datetime,
    now: dt.datetime,
) -> dict[str, int]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    times = _times(rng, len(tokens), start, now)
    scans = []
    for i, (token, at) in enumerate(zip(tokens, times, strict=True)):
        tube, slot = divmod(i, POOL)
        last = slot == POOL - 1
        scans.append(
            ScanIn(
                barcode=f"D{point.campaign_id}P{point.pk}T{tube:05d}",
                token=token,
                scanned_at=at,
                action="close" if last else "add",
            )
        )
    for offset in range(0, len(scans), MAX_SCANS):
        result = scan_batch_ingest(
            actor=sampler,
            point=point,
            idempotency_key=f"demo-{point.pk}-{offset}",
            scans=scans[offset : offset + MAX_SCANS],
        )
        for key, n in result.counts.items():
            counts[key] = counts.get(key, 0) + n
    return counts


def seed_demo_campaign(
    *, seed: int = DEFAULT_SEED, now: dt.datetime | None = None
) -> MassTestingDemo:
    """Seed the running campaign once (city and demo accounts must exist); later calls
    change nothing and report created=False."""
    if masstesting_seeded():
        return MassTestingDemo(created=False)
    started = time.monotonic()
    now = now or timezone.now()
    city = Region.objects.get(code=CITY_CODE)
    office, sampler = _users()
    rng = stage_rng(seed, "masstesting")
    with transaction.atomic():
        opened = (now - dt.timedelta(hours=HOURS_RUNNING)).replace(minute=0, second=0)
        campaign = services.campaign_create(
            actor=office,
            name="全市全员核酸检测（第一轮）",
            region=city,
            pool_size=POOL,
            starts_at=opened,
            ends_at=opened + dt.timedelta(hours=WINDOW_HOURS),
        )
        points = _plan_points(office, sampler, campaign, city)
        codes = _ensure_codes(city)
        by_community: dict[str, list[int]] = {}
        rows = Person.objects.filter(region_path__startswith=city.path).order_by(
            "region_path", "pk"
        )
        for pid, path in rows.values_list("pk", "region_path"):
            community_path = path.rstrip("/").rsplit("/", 1)[0] + "/"
            by_community.setdefault(community_path, []).append(pid)
        counts: dict[str, int] = {}
        scanner = sampler
        for point in points:
            residents = by_community.get(point.region.path, [])
            low, high = rng.choice(SHARE_BANDS)
            chosen = rng.sample(residents, int(len(residents) * rng.uniform(low, high)))
            tokens = [codes[pid] for pid in chosen if pid in codes]
            for key, n in _scan_point(rng, point, scanner, tokens, opened, now).items():
                counts[key] = counts.get(key, 0) + n
        lab_user = User.objects.filter(username=LAB, is_demo=True).first()
        if lab_user is not None and lab_user.institution is not None:
            counts.update(_lab_stage(office, lab_user, points, rng))
        audit_record(
            actor=None,
            action=MARKER,
            object_type="campaign",
            object_id=campaign.pk,
            details={"seed": seed, "points": len(points), **counts},
        )
    return MassTestingDemo(
        created=True,
        campaign_id=campaign.pk,
        points=len(points),
        residents=len(codes),
        sampled=counts.get("accepted", 0),
        seconds=time.monotonic() - started,
        counts=counts,
    )


def _lab_stage(
    office: User, lab_user: User, points: list[SamplingPoint], rng: random.Random
) -> dict[str, int]:
    """The morning's tubes on their way: most points' closed tubes boxed and handed to the demo
    lab, which has received and resulted most of them — all negative but one positive and
    one invalid pool, so the recheck list has its 20 tasks — and left a few boxes unopened."""
    lab = lab_user.institution
    assert lab is not None
    handed: list[list[str]] = []
    for point in points:
        closed = list(
            Tube.objects.filter(point=point, status=TubeStatus.CLOSED)
            .order_by("barcode")
            .values_list("barcode", flat=True)[: lab_services.MAX_BOX_TUBES]
        )
        if len(closed) < 2 or rng.random() < 0.25:  # some boxes are still being packed
            continue
        box = lab_services.box_pack(
            actor=office, point=point, lab=lab, code=f"ZY-{point.pk:03d}-01", tube_barcodes=closed
        )
        lab_services.box_hand_over(actor=office, box=box)
        handed.append(closed)
    resulted = [b for i, tubes in enumerate(handed) if i % 5 != 4 for b in tubes]
    if not resulted:
        return {}
    lab_services.tubes_receive(actor=lab_user, lab=lab, barcodes=[b for t in handed for b in t])
    special = rng.sample(resulted, 2)
    items = [
        lab_services.ResultIn(
            barcode=b,
            result="positive" if b == special[0] else "invalid" if b == special[1] else "negative",
            ct_value=31.5 if b == special[0] else None,
        )
        for b in resulted
    ]
    for offset in range(0, len(items), lab_services.MAX_ITEMS):
        lab_services.results_batch_ingest(
            actor=lab_user,
            lab=lab,
            idempotency_key=f"demo-results-{offset}",
            items=items[offset : offset + lab_services.MAX_ITEMS],
        )
    return {"tubes_handed_over": sum(map(len, handed)), "tubes_resulted": len(resulted)}


@dataclass
class MassTestingSeed:
    campaign: MassTestingDemo
    key_groups: KeyGroupDemo


def masstesting_demo_seed(*, seed: int = DEFAULT_SEED) -> MassTestingSeed:
    """The running campaign and the key groups' routine testing, once each (both idempotent),
    also into a data directory whose outbreak was seeded by an earlier version."""
    office, sampler = _users()
    return MassTestingSeed(
        campaign=seed_demo_campaign(seed=seed),
        key_groups=seed_demo_key_groups(actor=office, sampler=sampler, seed=seed),
    )
