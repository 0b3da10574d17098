"""Writes of key-group routine testing: regimes, member enrolment, the members import and the
start of a routine round. Reads (due dates, compliance) are in selectors.py.

Planner roles (command office, working groups, districts, towns) manage the regimes and the
members of their own jurisdiction; every change of consequence writes an audit row. Members
are enrolled in bulk from the person registry (`members_sync`: everyone whose key group has an
active regime) or one by one with their unit.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict
from fangkong.core.filejobs import file_job_create
from fangkong.core.models import FileJob, Institution, Region, User
from fangkong.core.permissions import authorize
from fangkong.core.scoping import scope_of
from fangkong.core.validators import FieldError
from fangkong.keygroups.models import KeyGroupMember, KeyGroupRegime
from fangkong.keygroups.selectors import Rules, rules_for
from fangkong.masstesting.models import POOL_SIZES, Campaign
from fangkong.masstesting.planning.services import campaign_create
from fangkong.people.import_rows import cell_text
from fangkong.people.models import KeyGroup, Person
from fangkong.people.services.persons import id_number_index
from fangkong.people.sheets import (
    HEADER_SCAN_ROWS,
    Columns,
    TableError,
    open_table,
    refuse_workbook_bomb,
)

MAX_EVERY_DAYS = 90
MAX_ROUND_HOURS = 24 * 7
MAX_IMPORT_BYTES = 20 * 1024 * 1024  # a member list upload (API and page)
IMPORT_SUFFIXES = (".xlsx", ".xlsm", ".csv")
JOB_KIND = "keygroup_members"


def _require_planner(actor: User, region: Region | None) -> None:
    authorize(actor, "keygroup.manage", region=region)


def _clean_group(key_group: str) -> str:
    if key_group not in KeyGroup.values or not key_group:
        raise FieldError("key_group", _("Unknown key group: %(g)s") % {"g": key_group})
    return key_group


def _clean_regime(every_days: int, pool_size: int) -> None:
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        raise FieldError("every_days", _("Test every 1 to %(n)d days") % {"n": MAX_EVERY_DAYS})
    if pool_size not in POOL_SIZES:
        raise FieldError("pool_size", _("Pool size must be 1, 5, 10 or 20"))


# -- regimes ----------------------------------------------------------------------------------


@transaction.atomic
def regime_create(
    *, actor: User, region: Region, key_group: str, every_days: int, pool_size: int = 1
) -> KeyGroupRegime:
    _require_planner(actor, region)
    _clean_group(key_group)
    _clean_regime(every_days, pool_size)
    try:
        with transaction.atomic():
            regime = KeyGroupRegime.objects.create(
                region=region, key_group=key_group, every_days=every_days, pool_size=pool_size
            )
    except IntegrityError:
        raise Conflict(_("This region already has a regime for this key group")) from None
    audit_record(
        actor=actor,
        action="keygroup_regime.create",
        object_type="keygroup_regime",
        object_id=regime.pk,
        details={"key_group": key_group, "every_days": every_days, "pool_size": pool_size},
    )
    return regime


@transaction.atomic
def regime_update(
    *,
    actor: User,
    regime: KeyGroupRegime,
    every_days: int | None = None,
    pool_size: int | None = None,
    active: bool | None = None,
) -> KeyGroupRegime:
    _require_planner(actor, regime.region)
    regime = KeyGroupRegime.objects.select_for_update().get(pk=regime.pk)
    before = {
        "every_days": regime.every_days,
        "pool_size": regime.pool_size,
        "active": regime.active,
    }
    if every_days is not None:
        regime.every_days = every_days
    if pool_size is not None:
        regime.pool_size = pool_size
    if active is not None:
        regime.active = active
    _clean_regime(regime.every_days, regime.pool_size)
    regime.save(update_fields=["every_days", "pool_size", "active"])
    after = {
        "every_days": regime.every_days,
        "pool_size": regime.pool_size,
        "active": regime.active,
    }
    changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changed:
        audit_record(
            actor=actor,
            action="keygroup_regime.update",
            object_type="keygroup_regime",
            object_id=regime.pk,
            details=changed,
        )
    return regime


def regime_deactivate(*, actor: User, regime: KeyGroupRegime) -> KeyGroupRegime:
    return regime_update(actor=actor, regime=regime, active=False)


# -- members ----------------------------------------------------------------------------------


@transaction.atomic
def members_sync(*, actor: User, region: Region, today: dt.date | None = None) -> int:
    """Enrol every person of `region` whose key group has an active regime there; returns how
    many were enrolled. Idempotent (the (person, key group) key skips those already enrolled)
    and a fixed number of queries whatever the population."""
    _require_planner(actor, region)
    rules = rules_for(actor=actor, region=region)
    if not rules.by_group:
        return 0
    today = today or timezone.localdate()
    covered = Q(pk__in=[])
    for group, group_rules in rules.by_group.items():
        for rule in group_rules:
            path = rule.path if rule.path.startswith(region.path) else region.path
            covered |= Q(key_group=group, region_path__startswith=path)
    people = Person.objects.filter(covered, region_path__startswith=region.path)
    existing = set(
        KeyGroupMember.objects.filter(region_path__startswith=region.path).values_list(
            "person_id", "key_group"
        )
    )
    rows = [
        KeyGroupMember(
            person_id=pid, key_group=group, region_path=path, enrolled_on=today, active=True
        )
        for pid, group, path in people.values_list("pk", "key_group", "region_path")
        if (pid, group) not in existing
    ]
    KeyGroupMember.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    audit_record(
        actor=actor,
        action="keygroup_member.sync",
        object_type="region",
        object_id=region.code,
        details={"enrolled": len(rows)},
    )
    return len(rows)


def _unit_in_scope(actor: User, unit: Institution | None) -> None:
    if unit is not None and not Institution.objects.visible_to(actor).filter(pk=unit.pk).exists():
        raise FieldError("unit", _("Unknown unit or outside your jurisdiction"))


@transaction.atomic
def member_enrol(
    *,
    actor: User,
    person: Person,
    key_group: str,
    unit: Institution | None = None,
    unit_name: str = "",
    today: dt.date | None = None,
) -> KeyGroupMember:
    """Enrol one person (or update their unit and re-activate them if already enrolled)."""
    if not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise FieldError("person", _("Unknown person or outside your jurisdiction"))
    region = Region.objects.get(path=person.region_path)
    _require_planner(actor, region)
    _clean_group(key_group)
    _unit_in_scope(actor, unit)
    if rules_for(actor=actor, region=region).for_member(key_group, person.region_path) is None:
        raise FieldError("key_group", _("No active testing regime covers this key group here"))
    problem = _registry_group_problem(person.key_group, key_group)
    if problem:
        raise FieldError("key_group", problem)
    _registry_group_set({key_group: [person.pk]})
    member, created = KeyGroupMember.objects.select_for_update().get_or_create(
        person=person,
        key_group=key_group,
        defaults={
            "region_path": person.region_path,
            "enrolled_on": today or timezone.localdate(),
            "unit": unit,
            "unit_name": "" if unit else unit_name.strip()[:200],
        },
    )
    if not created:
        member.unit, member.unit_name = unit, "" if unit else unit_name.strip()[:200]
        member.active = True
        member.save(update_fields=["unit", "unit_name", "active"])
    audit_record(
        actor=actor,
        action="keygroup_member.enrol" if created else "keygroup_member.update",
        object_type="keygroup_member",
        object_id=member.pk,
        details={"key_group": key_group, "unit_id": unit.pk if unit else None},
    )
    return member


@transaction.atomic
def member_update(
    *,
    actor: User,
    member: KeyGroupMember,
    unit: Institution | None = None,
    unit_name: str | None = None,
    active: bool | None = None,
) -> KeyGroupMember:
    """Assign a member's unit (an institution, or a free unit name) or (de)activate them."""
    _require_planner(actor, Region.objects.get(path=member.region_path))
    _unit_in_scope(actor, unit)
    member = KeyGroupMember.objects.select_for_update().get(pk=member.pk)
    if unit is not None or unit_name is not None:
        member.unit = unit
        member.unit_name = "" if unit else (unit_name or "").strip()[:200]
    if active is not None:
        member.active = active
    member.save(update_fields=["unit", "unit_name", "active"])
    audit_record(
        actor=actor,
        action="keygroup_member.update",
        object_type="keygroup_member",
        object_id=member.pk,
        details={"unit_id": member.unit_id, "active": member.active},
    )
    return member


# -- import -----------------------------------------------------------------------------------

# Accepted headers of each column, in either language, and the field name errors report.
IMPORT_COLUMNS = {
    "id_number": ("身份证号", "身份证号码", "id number", "id_number"),
    "key_group": ("重点人群", "人群类别", "key group", "key_group"),
    "unit": ("单位", "工作单位", "unit"),
}


@dataclass
class ImportReport:
    rows: int = 0
    enrolled: int = 0
    updated: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason


def _group_lookup() -> dict[str, str]:
    """Key group by code or by its label in English or Chinese."""
    out: dict[str, str] = {}
    for code, label in KeyGroup.choices:
        if not code:
            continue
        out[code.lower()] = code
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                out[str(label).strip().lower()] = code
    return out


MEMBER_COLUMNS = Columns(IMPORT_COLUMNS, required=("id_number", "key_group"))


def _find_header(
    iterator: Iterator[Sequence[Any]], report: ImportReport
) -> tuple[dict[str, int], Iterator[Sequence[Any]], int] | None:
    """(columns, the rows after the header, the first data row's number); None with the
    missing columns reported on row 1 when no row among the first ten names them. A title
    or note above the header is skipped."""
    head = list(itertools.islice(iterator, HEADER_SCAN_ROWS))
    try:
        header_row, columns = MEMBER_COLUMNS.find(enumerate(head, start=1))
    except TableError:
        best = max((MEMBER_COLUMNS.map(r) for r in head), key=len, default={})
        for key in ("id_number", "key_group"):
            if key not in best:
                report.errors.append(
                    (1, key, _("Missing column: %(c)s") % {"c": IMPORT_COLUMNS[key][0]})
                )
        return None
    return columns, itertools.chain(head[header_row:], iterator), header_row + 1


def _cell(row: Sequence[Any], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return cell_text(row[index])


def members_import(
    *, actor: User, rows: Iterable[Sequence[Any]], today: dt.date | None = None
) -> ImportReport:
    """Enrol the members listed in a table (a title row may stand above the header): ID
    number matched by blind index among the persons the actor may see, key group, unit (an
    institution's exact name in the actor's jurisdiction, else kept as a unit name). Bad rows
    are reported by row number (as in the spreadsheet) and field; good rows are kept."""
    _require_planner(actor, None)
    report = ImportReport()
    found = _find_header(iter(rows), report)
    if found is None:
        return report
    header, body, first_row = found
    parsed = _parse_rows(body, header, report, first_row)
    _enrol_parsed(actor, parsed, report, today or timezone.localdate())
    report.errors.sort(key=lambda e: e[0])
    return report


def _parse_rows(
    rows: Iterable[Sequence[Any]], header: dict[str, int], report: ImportReport, first_row: int
) -> list[tuple[int, str, str, str]]:
    groups = _group_lookup()
    parsed = []
    for number, row in enumerate(rows, start=first_row):
        id_number = _cell(row, header["id_number"]).upper().replace(" ", "")
        if not id_number and not any(_cell(row, i) for i in header.values()):
            continue  # blank line
        report.rows += 1
        group = groups.get(_cell(row, header["key_group"]).lower())
        if not id_number:
            report.errors.append((number, "id_number", _("The ID number is empty")))
        elif group is None:
            report.errors.append((number, "key_group", _("Unknown key group")))
        else:
            parsed.append(
                (number, id_number_index(id_number), group, _cell(row, header.get("unit")))
            )
    return parsed


def _registry_group_problem(registered: str, group: str) -> str:
    """Routine rounds and coverage target people by the registry's key group: an enrolment
    must agree with it, or the member could never be sampled in their own group's round."""
    if registered and registered != group:
        return _(
            "The registry lists this person in another key group (%(g)s); correct it there"
        ) % {"g": KeyGroup(registered).label if registered in KeyGroup.values else registered}
    return ""


def _registry_group_set(by_group: dict[str, list[int]]) -> None:
    """Record the key group in the registry for enrolled people who had none (one statement
    per group)."""
    for group, pids in by_group.items():
        Person.objects.filter(pk__in=pids, key_group="").update(key_group=group)


def _row_problem(
    person: tuple[int, str, str] | None, group: str, rules: Any
) -> tuple[str, str] | None:
    """(field, reason) when an import row cannot be enrolled, None when it can."""
    if person is None:
        return "id_number", _("No person with this ID number in your jurisdiction")
    _pid, path, registered = person
    if rules.for_member(group, path) is None:
        return "key_group", _("No active testing regime covers this key group here")
    problem = _registry_group_problem(registered, group)
    return ("key_group", problem) if problem else None


def _enrol_lookups(
    actor: User, parsed: list[tuple[int, str, str, str]]
) -> tuple[dict[str, Any], dict[str, int], dict[tuple[int, str], KeyGroupMember]]:
    """The persons (by blind index), units (by name) and existing members of a parsed sheet."""
    bidx = {b for _n, b, _g, _u in parsed}
    persons = {
        b: (pid, path, registered)
        for pid, b, path, registered in Person.objects.visible_to(actor)
        .filter(id_number_bidx__in=bidx)
        .values_list("pk", "id_number_bidx", "region_path", "key_group")
    }
    names = {u for *_rest, u in parsed if u}
    units = dict(
        Institution.objects.visible_to(actor).filter(name__in=names).values_list("name", "pk")
    )
    existing = {
        (pid, g): m
        for m in KeyGroupMember.objects.filter(person_id__in=[p for p, *_rest in persons.values()])
        for pid, g in [(m.person_id, m.key_group)]
    }
    return persons, units, existing


def _enrol_parsed(
    actor: User, parsed: list[tuple[int, str, str, str]], report: ImportReport, today: dt.date
) -> None:
    """Constant queries: persons, institutions, regimes and existing members each in one go."""
    persons, units, existing = _enrol_lookups(actor, parsed)
    rules = rules_for(actor=actor)
    new, changed = [], []
    unregistered: dict[str, list[int]] = {}
    for number, b, group, unit in parsed:
        problem = _row_problem(persons.get(b), group, rules)
        if problem:
            report.errors.append((number, *problem))
            continue
        pid, path, registered = persons[b]
        if not registered:
            unregistered.setdefault(group, []).append(pid)
        unit_id = units.get(unit)
        member = existing.get((pid, group))
        if member is None:
            member = KeyGroupMember(
                person_id=pid, key_group=group, region_path=path, enrolled_on=today
            )
            existing[(pid, group)] = member
            new.append(member)
        elif member not in changed and member.pk:
            changed.append(member)
        member.unit_id, member.unit_name, member.active = (
            unit_id,
            "" if unit_id else unit[:200],
            True,
        )
    with transaction.atomic():
        _registry_group_set(unregistered)
        KeyGroupMember.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
        KeyGroupMember.objects.bulk_update(
            changed, ["unit", "unit_name", "active"], batch_size=2000
        )
        report.enrolled, report.updated = len(new), len(changed)
        audit_record(
            actor=actor,
            action="keygroup_member.import",
            object_type="region",
            object_id=scope_of(actor).region_path or "",
            details={
                "rows": report.rows,
                "enrolled": len(new),
                "updated": len(changed),
                "errors": len(report.errors),
            },
        )


def members_import_file(*, actor: User, path: Path, max_rows: int | None = None) -> ImportReport:
    try:
        with open_table(path, max_rows=max_rows or settings.SYNC_IMPORT_MAX_ROWS) as (rows, _n):
            return members_import(actor=actor, rows=rows)
    except TableError as exc:
        raise FieldError("file", exc.message) from None


def members_import_submit(
    *, actor: User, filename: str, content: bytes | IO[bytes] | Any
) -> FileJob:
    """Store a member list and queue it for the worker (`members_import_job`)."""
    _require_planner(actor, None)
    return file_job_create(
        actor=actor,
        kind=JOB_KIND,
        filename=filename,
        content=content,
        suffixes=IMPORT_SUFFIXES,
        max_bytes=MAX_IMPORT_BYTES,
        too_large=_("the file is larger than 20 MB"),
        region_path=scope_of(actor).region_path,
        check=refuse_workbook_bomb,
    )


def members_import_job(*, job: FileJob, actor: User, path: Path) -> dict[str, Any]:
    """File-job handler: enrol the stored list as the uploader; counts and bad rows."""
    report = members_import_file(actor=actor, path=path, max_rows=settings.IMPORT_MAX_ROWS)
    return {
        "rows": report.rows,
        "enrolled": report.enrolled,
        "updated": report.updated,
        "errors": [{"row": r, "field": f, "reason": why} for r, f, why in report.errors],
    }


# -- routine rounds ---------------------------------------------------------------------------


def routine_round_start(
    *,
    actor: User,
    regime: KeyGroupRegime,
    hours: int = 24,
    starts_at: dt.datetime | None = None,
    name: str = "",
) -> Campaign:
    """A campaign over the regime's region for its key group only, pooled at the regime's
    pool size, open for `hours` from `starts_at` (now by default)."""
    if not KeyGroupRegime.objects.filter(pk=regime.pk, active=True).exists():
        raise Conflict(_("The regime is not active"))
    if not 1 <= hours <= MAX_ROUND_HOURS:
        raise FieldError("hours", _("The window must be 1 to %(n)d hours") % {"n": MAX_ROUND_HOURS})
    starts_at = starts_at or timezone.now()
    label = KeyGroup(regime.key_group).label
    return campaign_create(
        actor=actor,
        name=name.strip()
        or _("Routine testing: %(group)s, %(day)s")
        % {"group": label, "day": f"{timezone.localtime(starts_at):%Y-%m-%d}"},
        region=regime.region,
        pool_size=regime.pool_size,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        key_groups=[regime.key_group],
        group_pool_sizes={regime.key_group: regime.pool_size},
    )


__all__ = [
    "ImportReport",
    "Rules",
    "member_enrol",
    "member_update",
    "members_import",
    "members_import_file",
    "members_sync",
    "regime_create",
    "regime_deactivate",
    "regime_update",
    "routine_round_start",
]
