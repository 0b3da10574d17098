"""Reads of key-group routine testing: regimes, members with derived due dates, and the weekly
compliance bulletin (一周一通报).

Nothing here is stored state: a member's last test, next due date, "overdue" and weekly
compliance are derived from the samples at query time (Scans of any campaign and resampled
rechecks), so no scheduler has to run for the bulletin to be right.

A member falls under the most specific *active* regime of their key group whose region
contains them (a town's own regime overrides the city's). A member no active regime covers is
not due at all and is left out of the bulletin.

The sample tables are read through their plain managers, restricted to the members the actor
may see: a sample taken at a point in another jurisdiction still counts for the member, and
only derived dates leave this module, never the sample rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import DateTimeField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.core.models import Region, User, ancestor_paths
from fangkong.core.scoping import ScopedQuerySet, scope_of, unscoped
from fangkong.core.vault import mask_name
from fangkong.keygroups.models import KeyGroupMember, KeyGroupRegime
from fangkong.masstesting.models import RecheckTask, Scan
from fangkong.people.models import KeyGroup

NO_UNIT = "-"


def group_label(code: str) -> str:
    return str(KeyGroup(code).label) if code in KeyGroup.values else code


# -- regimes ----------------------------------------------------------------------------------


def regime_list(*, actor: User, active: bool | None = None) -> ScopedQuerySet[KeyGroupRegime]:
    qs = KeyGroupRegime.objects.select_related("region").visible_to(actor)
    return qs if active is None else qs.filter(active=active)


@dataclass(frozen=True)
class RegimeRule:
    key_group: str
    path: str
    every_days: int
    pool_size: int
    regime_id: int


class Rules:
    """The active regimes that may apply to members under one region path, most specific
    first, so finding a member's regime is a short scan over a handful of rows."""

    def __init__(self, rules: Iterable[RegimeRule]) -> None:
        self.by_group: dict[str, list[RegimeRule]] = defaultdict(list)
        for rule in sorted(rules, key=lambda r: -len(r.path)):
            self.by_group[rule.key_group].append(rule)

    def for_member(self, key_group: str, region_path: str) -> RegimeRule | None:
        for rule in self.by_group.get(key_group, ()):
            if region_path.startswith(rule.path):
                return rule
        return None

    def overdue_q(self, today: dt.date) -> Q:
        """Members whose next due date is before `today`, as one SQL condition.

        Never tested: due on the enrolment day. Tested: due `every_days` after the local date
        of the last test, i.e. overdue when that test was before local midnight of
        today - every_days.
        """
        condition = Q(pk__in=[])
        for group, rules in self.by_group.items():
            for i, rule in enumerate(rules):
                # more specific regimes come first and win: exclude their subtrees
                mine = Q(key_group=group, region_path__startswith=rule.path)
                for inner in rules[:i]:
                    if inner.path.startswith(rule.path):
                        mine &= ~Q(region_path__startswith=inner.path)
                cutoff = _local_midnight(today - dt.timedelta(days=rule.every_days))
                late = Q(last_test__isnull=True, enrolled_on__lt=today) | Q(last_test__lt=cutoff)
                condition |= mine & late
        return condition

    def covered_q(self) -> Q:
        condition = Q(pk__in=[])
        for group, rules in self.by_group.items():
            for rule in rules:
                condition |= Q(key_group=group, region_path__startswith=rule.path)
        return condition


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def rules_for(*, actor: User, region: Region | None = None) -> Rules:
    """Active regimes of the actor's jurisdiction (or of `region`), including those set by a
    higher level: a town's members follow the city's regime unless the town has its own."""
    base = region.path if region is not None else scope_of(actor).region_path
    if base is None:  # no jurisdiction (an institution's staff): no regime applies, not all
        return Rules([])
    ancestors = ancestor_paths(base, include_self=True)
    # Regimes carry no personal data; those above the actor's scope are read to derive due
    # dates, and never returned.
    qs = KeyGroupRegime.objects.filter(active=True).filter(
        Q(region__path__in=ancestors) | Q(region__path__startswith=base)
    )
    with unscoped("regimes above the actor's region set its members' due dates"):
        rows = list(qs.values_list("key_group", "region__path", "every_days", "pool_size", "pk"))
    return Rules(RegimeRule(*row) for row in rows)


# -- members ----------------------------------------------------------------------------------

# Members are read in scope; their samples count wherever they were taken (a town's worker
# sampled at a point of the next town has still been tested) and only dates leave the query.
_OWN_SAMPLES = "the samples of members already read in scope, for their test dates"


def _last_test() -> Any:
    scans = Scan.objects.filter(person_id=OuterRef("person_id")).order_by("-scanned_at")
    rechecks = RecheckTask.objects.filter(
        person_id=OuterRef("person_id"), sampled_at__isnull=False
    ).order_by("-sampled_at")
    last_scan = Subquery(scans.values("scanned_at")[:1], output_field=DateTimeField())
    last_recheck = Subquery(rechecks.values("sampled_at")[:1], output_field=DateTimeField())
    # GREATEST ignores NULL on PostgreSQL but not on SQLite: coalesce each side to the other.
    return Greatest(Coalesce(last_scan, last_recheck), Coalesce(last_recheck, last_scan))


def member_list(
    *,
    actor: User,
    key_group: str = "",
    unit: str = "",
    overdue: bool | None = None,
    today: dt.date | None = None,
    rules: Rules | None = None,
    include_inactive: bool = False,
) -> ScopedQuerySet[Any]:
    """Active members with `last_test` annotated; `unit` is an institution id ("i12"), a unit
    name ("n名称") or NO_UNIT. Use `member_rows` to add due dates to a page of them."""
    qs = (
        KeyGroupMember.objects.visible_to(actor)
        .select_related("person", "unit")
        .annotate(last_test=_last_test())
    )
    if not include_inactive:
        qs = qs.filter(active=True)
    if key_group:
        qs = qs.filter(key_group=key_group)
    if unit:
        qs = qs.filter(_unit_q(unit))
    if overdue is not None:
        rules = rules or rules_for(actor=actor)
        late = rules.overdue_q(today or timezone.localdate())
        qs = qs.filter(late & rules.covered_q()) if overdue else qs.exclude(late)
    return qs.order_by("key_group", "unit__name", "unit_name", "id")


def _unit_q(unit: str) -> Q:
    if unit == NO_UNIT:
        return Q(unit__isnull=True, unit_name="")
    if unit.startswith("i") and unit[1:].isdigit():
        return Q(unit_id=int(unit[1:]))
    return Q(unit__isnull=True, unit_name=unit[1:] if unit.startswith("n") else unit)


@dataclass(frozen=True)
class MemberRow:
    member: KeyGroupMember
    every_days: int | None
    last_test: dt.datetime | None
    due_on: dt.date | None
    overdue: bool

    @property
    def key_group_label(self) -> str:
        return group_label(self.member.key_group)

    @property
    def days_overdue(self) -> int:
        if not self.overdue or self.due_on is None:
            return 0
        return (timezone.localdate() - self.due_on).days


def due_date(
    *, last_test: dt.datetime | None, enrolled_on: dt.date, every_days: int | None
) -> dt.date | None:
    if every_days is None:
        return None
    if last_test is None:
        return enrolled_on
    return timezone.localdate(last_test) + dt.timedelta(days=every_days)


def member_rows(
    members: Iterable[KeyGroupMember], *, rules: Rules, today: dt.date | None = None
) -> list[MemberRow]:
    today = today or timezone.localdate()
    out = []
    for m in members:
        rule = rules.for_member(m.key_group, m.region_path)
        last = getattr(m, "last_test", None)
        due = due_date(
            last_test=last, enrolled_on=m.enrolled_on, every_days=rule.every_days if rule else None
        )
        out.append(
            MemberRow(
                m, rule.every_days if rule else None, last, due, due is not None and due < today
            )
        )
    return out


def member_units(*, actor: User) -> list[tuple[str, str]]:
    """(filter value, label) of every unit among the actor's members, for a filter menu."""
    qs = KeyGroupMember.objects.visible_to(actor).filter(active=True)
    seen: dict[str, str] = {}
    for unit_id, inst_name, name in (
        qs.order_by().values_list("unit_id", "unit__name", "unit_name").distinct()
    ):
        if unit_id:
            seen[f"i{unit_id}"] = inst_name
        elif name:
            seen[f"n{name}"] = name
        else:
            seen[NO_UNIT] = _("No unit")
    return sorted(seen.items(), key=lambda kv: (kv[0] == NO_UNIT, kv[1]))


# -- weekly compliance ------------------------------------------------------------------------


def parse_week(value: str) -> tuple[int, int]:
    """ "2026-W47" (the HTML week input) → (2026, 47); raises ValueError."""
    year, _sep, week = value.strip().upper().partition("-W")
    dt.date.fromisocalendar(int(year), int(week), 1)
    return int(year), int(week)


def current_week(today: dt.date | None = None) -> tuple[int, int]:
    iso = (today or timezone.localdate()).isocalendar()
    return iso.year, iso.week


def last_complete_week(today: dt.date | None = None) -> tuple[int, int]:
    """The week a bulletin is normally issued for: the one that ended last Sunday."""
    return current_week((today or timezone.localdate()) - dt.timedelta(days=7))


@dataclass
class ComplianceRow:
    unit_key: str
    unit_label: str
    key_group: str
    members: int = 0
    tested: int = 0

    @property
    def not_tested(self) -> int:
        return self.members - self.tested

    @property
    def percent(self) -> float:
        return round(self.tested * 100 / self.members, 1) if self.members else 100.0

    @property
    def key_group_label(self) -> str:
        return str(KeyGroup(self.key_group).label) if self.key_group in KeyGroup.values else ""


@dataclass(frozen=True)
class Laggard:
    """A member who missed the week's tests; personal data masked."""

    member_id: int
    person_id: int
    name: str
    id_number: str
    phone: str
    key_group: str
    unit_label: str
    every_days: int
    tests_in_window: int
    tests_required: int
    last_test: dt.date | None

    @property
    def key_group_label(self) -> str:
        return str(KeyGroup(self.key_group).label) if self.key_group in KeyGroup.values else ""


@dataclass
class Compliance:
    year: int
    week: int
    monday: dt.date
    sunday: dt.date
    region_name: str
    rows: list[ComplianceRow] = field(default_factory=list)
    by_group: list[ComplianceRow] = field(default_factory=list)
    total: ComplianceRow = field(default_factory=lambda: ComplianceRow("", "", ""))
    laggards: list[Laggard] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def required_tests(
    every_days: int, sunday: dt.date, enrolled_on: dt.date | None = None
) -> tuple[dt.date, int]:
    """(first day of the window ending on Sunday, tests needed in it) for a regime: every 2
    days means 4 tests in the week; every 14 days one test in the 14 days ending on Sunday.
    A member enrolled inside the window owes tests only for the days since enrolment."""
    start = sunday - dt.timedelta(days=max(7, every_days) - 1)
    if enrolled_on is not None and enrolled_on > start:
        start = enrolled_on
    days = (sunday - start).days + 1
    return start, max(1, math.ceil(days / every_days))


def weekly_compliance(
    *, actor: User, year: int, week: int, region: Region | None = None
) -> Compliance:
    """Per unit and key group: members due that week, how many were tested on time, and the
    masked list of those who were not. Five queries whatever the number of members."""
    monday = dt.date.fromisocalendar(year, week, 1)
    sunday = monday + dt.timedelta(days=6)
    rules = rules_for(actor=actor, region=region)
    members = _members_due(actor, region, rules, sunday)
    window_days = max([7, *(r.every_days for rs in rules.by_group.values() for r in rs)])
    samples = _sample_dates(members, sunday - dt.timedelta(days=window_days - 1), sunday)
    result = Compliance(year, week, monday, sunday, _region_name(actor, region))
    cells: dict[tuple[str, str], ComplianceRow] = {}
    for m in members.values(*_MEMBER_FIELDS):
        rule = rules.for_member(m["key_group"], m["region_path"])
        if rule is None:
            continue
        unit_key, unit_label = _unit_of(m)
        cell = cells.setdefault(
            (unit_key, m["key_group"]), ComplianceRow(unit_key, unit_label, m["key_group"])
        )
        start, needed = required_tests(rule.every_days, sunday, m["enrolled_on"])
        dates = samples.get(m["person_id"], [])
        done = sum(1 for d in dates if start <= d <= sunday)
        cell.members += 1
        if done >= needed:
            cell.tested += 1
        else:
            result.laggards.append(_laggard(m, unit_label, rule.every_days, done, needed))
    _fill_totals(result, cells)
    _add_last_tests(result, members)
    return result


def _add_last_tests(result: Compliance, members: QuerySet[KeyGroupMember]) -> None:
    """The latest sample ever of each member who missed the week (two grouped queries)."""
    if not result.laggards:
        return
    people = members.order_by().values("person_id")
    latest: dict[int, dt.datetime] = {}
    for qs, column in (
        (Scan.objects.filter(person_id__in=people), "scanned_at"),
        (RecheckTask.objects.filter(person_id__in=people, sampled_at__isnull=False), "sampled_at"),
    ):
        grouped = qs.order_by().values("person_id").annotate(at=Max(column))
        with unscoped(_OWN_SAMPLES):
            rows = list(grouped.values_list("person_id", "at"))
        for pid, at in rows:
            if pid not in latest or at > latest[pid]:
                latest[pid] = at
    result.laggards = [
        dataclasses.replace(
            lag,
            last_test=timezone.localdate(latest[lag.person_id])
            if lag.person_id in latest
            else None,
        )
        for lag in result.laggards
    ]


_MEMBER_FIELDS = (
    "id",
    "person_id",
    "key_group",
    "region_path",
    "unit_id",
    "unit__name",
    "unit_name",
    "person__name",
    "person__id_number_mask",
    "person__phone_mask",
    "enrolled_on",
)


def _members_due(
    actor: User, region: Region | None, rules: Rules, sunday: dt.date
) -> QuerySet[KeyGroupMember]:
    qs = KeyGroupMember.objects.visible_to(actor).filter(
        rules.covered_q(), active=True, enrolled_on__lte=sunday
    )
    if region is not None:
        qs = qs.filter(region_path__startswith=region.path)
    return qs.order_by("key_group", "unit_name", "id")


def _sample_dates(
    members: QuerySet[KeyGroupMember], first: dt.date, last: dt.date
) -> dict[int, list[dt.date]]:
    """Local sampling dates per person in [first, last], from scans and resampled rechecks."""
    start, end = _local_midnight(first), _local_midnight(last + dt.timedelta(days=1))
    people = members.values("person_id")
    out: dict[int, list[dt.date]] = defaultdict(list)
    scans = Scan.objects.filter(person_id__in=people, scanned_at__gte=start, scanned_at__lt=end)
    rechecks = RecheckTask.objects.filter(
        person_id__in=people, sampled_at__gte=start, sampled_at__lt=end
    )
    with unscoped(_OWN_SAMPLES):
        scanned = list(scans.order_by().values_list("person_id", "scanned_at"))
        resampled = list(rechecks.order_by().values_list("person_id", "sampled_at"))
    for pid, at in scanned:
        out[pid].append(timezone.localdate(at))
    for pid, again in resampled:
        if again is not None:
            out[pid].append(timezone.localdate(again))
    for dates in out.values():
        dates.sort()
    return out


def _unit_of(m: dict[str, Any]) -> tuple[str, str]:
    if m["unit_id"]:
        return f"i{m['unit_id']}", m["unit__name"]
    if m["unit_name"]:
        return f"n{m['unit_name']}", m["unit_name"]
    return NO_UNIT, _("No unit")


def _laggard(
    m: dict[str, Any], unit_label: str, every_days: int, done: int, needed: int
) -> Laggard:
    # last_test is the latest sample ever, filled for all laggards at once (_add_last_tests)
    return Laggard(
        member_id=m["id"],
        person_id=m["person_id"],
        # the bulletin circulates beyond the people who need names: first character only
        name=mask_name(m["person__name"], keep_last=False),
        id_number=m["person__id_number_mask"],
        phone=m["person__phone_mask"],
        key_group=m["key_group"],
        unit_label=unit_label,
        every_days=every_days,
        tests_in_window=done,
        tests_required=needed,
        last_test=None,
    )


def _fill_totals(result: Compliance, cells: dict[tuple[str, str], ComplianceRow]) -> None:
    result.rows = sorted(
        cells.values(), key=lambda c: (c.unit_key == NO_UNIT, c.unit_label, c.key_group)
    )
    groups: dict[str, ComplianceRow] = {}
    for cell in result.rows:
        g = groups.setdefault(cell.key_group, ComplianceRow("", "", cell.key_group))
        g.members += cell.members
        g.tested += cell.tested
        result.total.members += cell.members
        result.total.tested += cell.tested
    result.by_group = [groups[k] for k in sorted(groups)]
    result.laggards.sort(key=lambda x: (x.unit_label, x.key_group, x.member_id))


def _region_name(actor: User, region: Region | None) -> str:
    if region is not None:
        return region.name
    path = scope_of(actor).region_path
    if not path:
        return _("All regions")
    code = path.rstrip("/").rsplit("/", 1)[-1]
    found = Region.objects.visible_to(actor).filter(code=code).values_list("name", flat=True)
    return next(iter(found), code)


def week_choices(count: int = 8, today: dt.date | None = None) -> list[tuple[str, str]]:
    """The last `count` ISO weeks, newest first, as (value, "2026-W47 (11-16 – 11-22)")."""
    today = today or timezone.localdate()
    out = []
    for back in range(count):
        day = today - dt.timedelta(weeks=back)
        iso = day.isocalendar()
        monday = dt.date.fromisocalendar(iso.year, iso.week, 1)
        value = f"{iso.year}-W{iso.week:02d}"
        out.append((value, f"{value} ({monday:%m-%d} – {monday + dt.timedelta(days=6):%m-%d})"))
    return out
