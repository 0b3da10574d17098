"""Key-group routine testing in the demo city: regimes, members with their units, and last
week's routine rounds, so the weekly bulletin opens on a realistic mix of compliant and
lagging units.

Called once from the outbreak seed (fangkong/drill/outbreak.py, inside its transaction, after
the cases), by the command office's demo account: regimes and the enrolment go through the
group services (scoped and audited); units are assigned in one bulk update and samples are
taken through the real scan ingest, one closed routine campaign per key group. Dates are
relative to the moment of seeding: the rounds ran Tuesday to Thursday of the previous ISO week.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from fangkong.core.models import Institution, InstitutionKind, Region, User
from fangkong.drill.names import CITY_CODE
from fangkong.keygroups import services as groups
from fangkong.keygroups.models import KeyGroupMember, KeyGroupRegime
from fangkong.masstesting.models import Campaign, CampaignStatus
from fangkong.masstesting.planning.services import point_create
from fangkong.masstesting.sampling.services.codes import codes_ensure
from fangkong.masstesting.sampling.services.ingest import MAX_SCANS, ScanIn, scan_batch_ingest

# key group: (test every N days, pool size)
DEMO_REGIMES: dict[str, tuple[int, int]] = {
    "cold_chain": (7, 5),
    "medical": (7, 1),
    "delivery": (7, 10),
    "port": (7, 5),
    "transport": (7, 10),
    "quarantine_staff": (7, 1),
    "market": (7, 10),
    "elderly_care": (7, 5),
}
# Institutions of the demo city that employ each group; groups without one get named units.
UNIT_KINDS: dict[str, tuple[str, ...]] = {
    "cold_chain": (InstitutionKind.COLD_STORE,),
    "medical": (InstitutionKind.HOSPITAL, InstitutionKind.CLINIC, InstitutionKind.FEVER_CLINIC),
    "market": (InstitutionKind.MARKET,),
    "quarantine_staff": (InstitutionKind.QUARANTINE_SITE,),
}
UNIT_NAMES: dict[str, tuple[str, ...]] = {
    "delivery": ("美团外卖{d}配送站", "饿了么{d}配送站", "顺丰速运{d}营业部", "京东物流{d}站"),
    "port": ("{d}港务集团", "{d}海关查验科"),
    "transport": ("{d}公交公司", "{d}出租汽车公司", "{d}地铁运营分公司"),
    "elderly_care": ("{d}社会福利院", "{d}颐养中心"),
}
# Share of each unit's members sampled last week: most units comply, a few lag badly.
UNIT_RATES = (1.0, 1.0, 0.97, 0.95, 0.92, 0.9, 0.85, 0.72, 0.55)
BATCH = 2000


@dataclass
class KeyGroupDemo:
    regimes: int = 0
    members: int = 0
    sampled: int = 0
    campaigns: list[int] = field(default_factory=list)


def seed_demo_key_groups(
    *, actor: User, sampler: User, seed: int = 2022, today: dt.date | None = None
) -> KeyGroupDemo:
    """Regimes for the demo city, every key-group resident enrolled with a unit, and last
    week's routine rounds, sampled by `sampler` at points of their institution. Idempotent:
    a second call finds the regimes and changes nothing."""
    city = Region.objects.get(code=CITY_CODE)
    if KeyGroupRegime.objects.filter(region=city).exists():
        return KeyGroupDemo()
    rng = random.Random(f"{seed}-keygroups")
    today = today or timezone.localdate()
    iso = (today - dt.timedelta(days=7)).isocalendar()
    monday = dt.date.fromisocalendar(iso.year, iso.week, 1)
    out = KeyGroupDemo()
    with transaction.atomic():
        regimes = [
            groups.regime_create(
                actor=actor, region=city, key_group=g, every_days=d, pool_size=pool
            )
            for g, (d, pool) in DEMO_REGIMES.items()
        ]
        out.regimes = len(regimes)
        groups.members_sync(actor=actor, region=city, today=monday - dt.timedelta(days=21))
        members = _assign_units(city, rng)
        out.members = len(members)
        for regime in regimes:
            campaign, sampled = _last_weeks_round(actor, sampler, regime, members, monday, rng)
            out.campaigns.append(campaign.pk)
            out.sampled += sampled
    return out


def _district_of(path: str) -> str:
    # city/district/… : the second code of the path
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def _assign_units(city: Region, rng: random.Random) -> list[KeyGroupMember]:
    """Each member works at an institution of a fitting kind in their district (or, for the
    groups without one, at a named unit of their district). One bulk update."""
    by_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, kind, path in Institution.objects.filter(
        region__path__startswith=city.path
    ).values_list("pk", "kind", "region__path"):
        by_kind[(kind, _district_of(path))].append(pk)
    names = dict(Region.objects.filter(parent=city).values_list("code", "name"))
    members = list(KeyGroupMember.objects.filter(region_path__startswith=city.path).order_by("pk"))
    for m in members:
        district = _district_of(m.region_path)
        choices = [
            pk for kind in UNIT_KINDS.get(m.key_group, ()) for pk in by_kind[(kind, district)]
        ]
        if choices:
            m.unit_id, m.unit_name = rng.choice(choices), ""
        elif m.key_group in UNIT_NAMES:
            short = names.get(district, "").removesuffix("区")
            m.unit_name = rng.choice(UNIT_NAMES[m.key_group]).format(d=short)
        else:
            enterprises = by_kind[(InstitutionKind.ENTERPRISE, district)]
            m.unit_id = rng.choice(enterprises) if enterprises else None
    KeyGroupMember.objects.bulk_update(members, ["unit", "unit_name"], batch_size=BATCH)
    return members


def _last_weeks_round(
    actor: User,
    sampler: User,
    regime: KeyGroupRegime,
    members: list[KeyGroupMember],
    monday: dt.date,
    rng: random.Random,
) -> tuple[Campaign, int]:
    """A routine round Tuesday 08:00 to Thursday 20:00 last week, closed since; each unit
    has its own turnout, so the bulletin shows who lagged."""
    start = timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(8)))
    campaign = groups.routine_round_start(actor=actor, regime=regime, hours=60, starts_at=start)
    point = point_create(
        actor=actor,
        campaign=campaign,
        name=f"{campaign.region.name}重点人群采样点",
        region=campaign.region,
        institution=sampler.institution,
    )
    mine = [m for m in members if m.key_group == regime.key_group]
    rates: dict[str, float] = {}
    chosen = []
    for m in mine:
        unit = f"{m.unit_id}:{m.unit_name}"
        rate = rates.setdefault(unit, rng.choice(UNIT_RATES))
        if rng.random() < rate:
            chosen.append(m.person_id)
    tokens = codes_ensure(person_ids=chosen)
    scans, size = [], campaign.pool_size
    for i, pid in enumerate(chosen):
        # opening hours 08:00-20:00 on Tuesday to Thursday
        at = start + dt.timedelta(days=rng.randrange(3), minutes=rng.randrange(12 * 60))
        barcode = f"KG{campaign.pk:04d}{i // size:06d}"
        scans.append(ScanIn(barcode=barcode, token=tokens[pid], scanned_at=at))
    sampled = 0
    for first in range(0, len(scans), MAX_SCANS):
        result = scan_batch_ingest(
            actor=sampler,
            point=point,
            idempotency_key=uuid.uuid4().hex,
            scans=scans[first : first + MAX_SCANS],
        )
        sampled += result.counts.get("accepted", 0)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
    return campaign, sampled
