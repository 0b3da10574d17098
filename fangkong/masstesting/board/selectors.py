"""Coverage of a campaign (应检尽检): who should be tested, who was sampled, resulted, which
pools were positive and how many rechecks are outstanding, per region one level down and per
key group; the "not yet sampled" list a grid worker walks; the hourly progress curve.

Every figure is an aggregate grouped by a prefix of the person's materialized region path
(`Substr(region_path, 1, len(child path))`), so a level with 300 communities costs the same
few queries as a level with 3: one per table (persons, scans joined to their tubes,
rechecks), never one per region.

Coverage is counted by where people live, not where they were sampled: a resident of town A1
sampled at a point in town A2 has been covered, and town A1 must see that. So the scans are
filtered by the resident's path under a root the actor may see (checked here), rather than by
Scan's own scope (the point's region), which answers the sampler's question, not this one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone

from fangkong.core.errors import NotFound
from fangkong.core.models import Region, User
from fangkong.core.scoping import ScopedQuerySet, scope_of, unscoped
from fangkong.masstesting.models import (
    NEEDS_RECHECK,
    RECHECK_OUTSTANDING,
    Campaign,
    RecheckTask,
    Scan,
    TubeKind,
)
from fangkong.people.models import KeyGroup, Person

METRICS = ("should_test", "sampled", "resulted", "positive_pools", "rechecks_outstanding")


@dataclass
class Figures:
    should_test: int = 0
    sampled: int = 0
    resulted: int = 0
    positive_pools: int = 0
    rechecks_outstanding: int = 0

    @property
    def coverage_pct(self) -> float:
        return round(100 * self.sampled / self.should_test, 1) if self.should_test else 0.0

    def add(self, other: Figures) -> None:
        for name in METRICS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {**{n: getattr(self, n) for n in METRICS}, "coverage_pct": self.coverage_pct}


@dataclass
class CoverageRow:
    key: str  # region code, or key-group value
    label: str
    figures: Figures
    region: Region | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, **self.figures.as_dict()}
        if self.region is not None:
            out |= {
                "region_id": self.region.pk,
                "level": self.region.level,
                "has_children": self.region.level < 5,
            }
        return out


@dataclass
class Coverage:
    campaign: Campaign
    root: Region
    totals: Figures
    rows: list[CoverageRow] = field(default_factory=list)
    crumbs: list[Region] = field(default_factory=list)


# -- scope ------------------------------------------------------------------------------------


def coverage_root(*, actor: User, campaign: Campaign, region: Region | None = None) -> Region:
    """The region whose figures the actor asked for: by default the deeper of the campaign's
    region and the actor's home region. Outside either: 404, like a missing region."""
    scope = scope_of(actor)
    if scope.region_path is None:
        raise NotFound()
    camp_path = campaign.region.path
    if region is None:
        if camp_path.startswith(scope.region_path):
            return campaign.region
        if scope.region_path.startswith(camp_path):
            return Region.objects.visible_to(actor).get(path=scope.region_path)
        raise NotFound()
    if not (region.path.startswith(scope.region_path) and region.path.startswith(camp_path)):
        raise NotFound()
    return region


def _crumbs(root: Region, campaign: Campaign, actor: User) -> list[Region]:
    """Ancestors the actor may drill back up to: inside both the campaign and their scope."""
    floor = max(campaign.region.path, scope_of(actor).region_path or "", key=len)
    codes = root.path.strip("/").split("/")
    paths = ["/".join(codes[: i + 1]) + "/" for i in range(len(codes))]
    wanted = [p for p in paths if p.startswith(floor)]
    by_path = {r.path: r for r in Region.objects.visible_to(actor).filter(path__in=wanted)}
    return [by_path[p] for p in wanted if p in by_path]


# -- aggregation ------------------------------------------------------------------------------

# Figures are counts only, under a root that coverage_root checked against the actor's scope;
# they count every resident there, whatever personal data the actor's role may see.
_AGGREGATES = "campaign counts under a root checked against the actor's scope"


def _persons(campaign: Campaign, root: Region) -> QuerySet[Person]:
    qs = Person.objects.filter(region_path__startswith=root.path)
    return qs.filter(key_group__in=campaign.key_groups) if campaign.key_groups else qs


def _scans(campaign: Campaign, root: Region) -> QuerySet[Scan]:
    qs = Scan.objects.filter(campaign=campaign, person__region_path__startswith=root.path)
    return qs.filter(person__key_group__in=campaign.key_groups) if campaign.key_groups else qs


def _rechecks(campaign: Campaign, root: Region) -> QuerySet[RecheckTask]:
    qs = RecheckTask.objects.filter(
        campaign=campaign, region_path__startswith=root.path, status__in=RECHECK_OUTSTANDING
    )
    return qs.filter(person__key_group__in=campaign.key_groups) if campaign.key_groups else qs


def _grouped(
    campaign: Campaign, root: Region, person_key: Any, scan_key: Any, recheck_key: Any
) -> dict[str, Figures]:
    """Figures per group key, three queries whatever the number of groups."""
    with unscoped(_AGGREGATES):
        return _grouped_counts(campaign, root, person_key, scan_key, recheck_key)


def _grouped_counts(
    campaign: Campaign, root: Region, person_key: Any, scan_key: Any, recheck_key: Any
) -> dict[str, Figures]:
    out: dict[str, Figures] = {}

    def at(key: str | None) -> Figures:
        return out.setdefault(key or "", Figures())

    persons = _persons(campaign, root).annotate(k=person_key).values("k").order_by()
    for row in persons.annotate(n=Count("id")):
        at(row["k"]).should_test = row["n"]
    scans = _scans(campaign, root).annotate(k=scan_key).values("k").order_by()
    for row in scans.annotate(
        n=Count("id"),
        resulted=Count("id", filter=~Q(tube__result="")),
        pools=Count(
            "tube_id",
            distinct=True,
            filter=Q(tube__kind=TubeKind.POOL, tube__result__in=NEEDS_RECHECK),
        ),
    ):
        figures = at(row["k"])
        figures.sampled, figures.resulted, figures.positive_pools = (
            row["n"],
            row["resulted"],
            row["pools"],
        )
    rechecks = _rechecks(campaign, root).annotate(k=recheck_key).values("k").order_by()
    for row in rechecks.annotate(n=Count("id")):
        at(row["k"]).rechecks_outstanding = row["n"]
    return out


def _totals(campaign: Campaign, root: Region) -> Figures:
    """Totals of the root itself; positive pools counted once even if they span children."""
    grouped = _grouped(campaign, root, Value(""), Value(""), Value(""))
    return grouped.get("", Figures())


def campaign_coverage(*, actor: User, campaign: Campaign, region: Region | None = None) -> Coverage:
    """Totals of the root region and one row per child region (down to grid)."""
    root = coverage_root(actor=actor, campaign=campaign, region=region)
    children = list(Region.objects.visible_to(actor).filter(parent=root).order_by("code"))
    by_code: dict[str, Figures] = {}
    # Codes of one level usually share a length; a tree mixing lengths costs one pass each.
    for length in sorted({len(c.path) for c in children}):
        grouped = _grouped(
            campaign,
            root,
            Substr("region_path", 1, length),
            Substr("person__region_path", 1, length),
            Substr("region_path", 1, length),
        )
        for prefix, figures in grouped.items():
            by_code[prefix] = figures
    rows = [CoverageRow(c.code, c.name, by_code.get(c.path, Figures()), region=c) for c in children]
    return Coverage(
        campaign=campaign,
        root=root,
        totals=_totals(campaign, root),
        rows=rows,
        crumbs=_crumbs(root, campaign, actor),
    )


def campaign_totals(*, actor: User, campaign: Campaign) -> tuple[Region, Figures]:
    """The figures of the actor's part of the campaign, without the per-child rows."""
    root = coverage_root(actor=actor, campaign=campaign)
    return root, _totals(campaign, root)


def key_group_coverage(
    *, actor: User, campaign: Campaign, region: Region | None = None
) -> Coverage:
    """Totals of the root region and one row per key group (those the campaign targets, or
    every group with members when it targets all residents)."""
    root = coverage_root(actor=actor, campaign=campaign, region=region)
    grouped = _grouped(
        campaign, root, F("key_group"), F("person__key_group"), F("person__key_group")
    )
    labels = dict(KeyGroup.choices)
    wanted = campaign.key_groups or [g for g in labels if g and g in grouped]
    rows = [CoverageRow(g, str(labels.get(g, g)), grouped.get(g, Figures())) for g in wanted]
    return Coverage(
        campaign=campaign, root=root, totals=_totals(campaign, root), rows=rows, crumbs=[]
    )


# -- progress ---------------------------------------------------------------------------------


def campaign_progress(
    *, actor: User, campaign: Campaign, region: Region | None = None
) -> dict[str, Any]:
    """Sampled per hour since the campaign started and the cumulative curve, with the target."""
    root = coverage_root(actor=actor, campaign=campaign, region=region)
    hourly = _scans(campaign, root).annotate(h=TruncHour("scanned_at")).values("h").order_by("h")
    with unscoped(_AGGREGATES):
        per_hour = dict(hourly.annotate(n=Count("id")).values_list("h", "n"))
        should_test = _persons(campaign, root).count()
    start = campaign.starts_at.replace(minute=0, second=0, microsecond=0)
    end = min(timezone.now(), campaign.ends_at)
    if per_hour:
        start = min(start, min(per_hour))
        end = max(end, max(per_hour))
    hours: list[str] = []
    labels: list[str] = []
    sampled: list[int] = []
    cumulative: list[int] = []
    total = 0
    at = start
    while at <= end and len(hours) < 24 * 31:
        n = per_hour.get(at, 0)
        total += n
        hours.append(at.isoformat())
        labels.append(timezone.localtime(at).strftime("%m-%d %H:00"))
        sampled.append(n)
        cumulative.append(total)
        at += dt.timedelta(hours=1)
    return {
        "hours": hours,
        "labels": labels,
        "sampled": sampled,
        "cumulative": cumulative,
        "should_test": should_test,
    }


# -- not yet sampled --------------------------------------------------------------------------


def not_sampled_list(
    *, actor: User, campaign: Campaign, region: Region | None = None
) -> ScopedQuerySet[Person]:
    """Residents of `region` who should be tested and have no scan in the campaign, by
    address order; scoped like every personal list (roles without personal data see none)."""
    root = coverage_root(actor=actor, campaign=campaign, region=region)
    sampled = Scan.objects.filter(campaign=campaign, person=OuterRef("pk"))
    qs = (
        Person.objects.visible_to(actor)
        .filter(region_path__startswith=root.path)
        .exclude(Exists(sampled))
        .select_related("region")
        .order_by("region_path", "id")
    )
    return qs.filter(key_group__in=campaign.key_groups) if campaign.key_groups else qs


def not_sampled_row(person: Person) -> dict[str, Any]:
    return {
        "id": person.pk,
        "name": person.name,
        "id_number": person.id_number_mask,
        "phone": person.phone_mask,
        "address": person.address_mask,
        "region_code": person.region.code,
        "region_name": person.region.name,
        "key_group": person.key_group,
    }


# -- map --------------------------------------------------------------------------------------


def child_geojson(*, actor: User, root: Region) -> dict[str, Any]:
    """The polygons of `root`'s children (the root's own when it has none, a grid), as a
    GeoJSON FeatureCollection keyed by region code; regions without a polygon are left out."""
    regions = Region.objects.visible_to(actor).filter(parent=root).order_by("code")
    rows = list(regions.values("pk", "code", "name", "level", "polygon"))
    if not rows:
        rows = [{"pk": root.pk, "code": root.code, "name": root.name, "level": root.level,
                 "polygon": root.polygon}]  # fmt: skip
    return {
        "type": "FeatureCollection",
        "parent_name": root.name,
        "features": [
            {
                "type": "Feature",
                "id": r["code"],
                "properties": {
                    "name": r["code"],
                    "label": r["name"],
                    "region_id": r["pk"],
                    "level": r["level"],
                },
                "geometry": r["polygon"],
            }
            for r in rows
            if r["polygon"]
        ],
    }
