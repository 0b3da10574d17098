"""Writes of the drill app: seeding the demo city once, and the demo accounts."""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import Institution, Region, RegionLevel, User
from fangkong.drill.accounts import DEMO_ACCOUNTS, AccountSpec
from fangkong.drill.citygen import (
    DEFAULT_SEED,
    DEFAULT_SIZE,
    CityPlan,
    ProgressFn,
    plan_city,
    stage_rng,
)
from fangkong.drill.institutions import plan_institutions
from fangkong.drill.names import CITY_CODE
from fangkong.drill.residents import ResidentMaker
from fangkong.people.models import IdType, Person
from fangkong.people.services.persons import PersonData, person_build, person_validate

CHUNK = 2_000
ACCOUNTS_FILE = "demo-accounts.json"


class CityConflict(RuntimeError):
    """The city's region code exists but holds no residents (not a city this code seeded)."""


@dataclass(frozen=True)
class SeedResult:
    created: bool
    regions: int
    institutions: int
    persons: int


def city_seeded() -> bool:
    """The seeding marker: the city region exists and has residents under it."""
    city = Region.objects.filter(code=CITY_CODE).first()
    return city is not None and Person.objects.filter(region_path__startswith=city.path).exists()


def city_seed(
    *, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, progress: ProgressFn | None = None
) -> SeedResult:
    """Create the demo city once; later calls change nothing and report `created=False`."""
    if size < 1:
        raise ValueError(_("the city needs at least one resident"))
    if city_seeded():
        city = Region.objects.get(code=CITY_CODE)
        return SeedResult(
            created=False,
            regions=Region.objects.filter(path__startswith=city.path).count(),
            institutions=Institution.objects.filter(region__path__startswith=city.path).count(),
            persons=Person.objects.filter(region_path__startswith=city.path).count(),
        )
    if Region.objects.filter(code=CITY_CODE).exists():
        raise CityConflict(
            _("region %(code)s exists but has no residents; use a fresh data directory")
            % {"code": CITY_CODE}
        )
    plan = plan_city(size=size, seed=seed)
    # One transaction: an interrupted seed leaves nothing behind, so the marker stays honest.
    with transaction.atomic():
        regions = _create_regions(plan)
        institutions = _create_institutions(plan, regions)
        persons = _create_persons(plan, regions, progress)
        audit_record(
            actor=None,
            action="drill.city_seed",
            object_type="region",
            object_id=CITY_CODE,
            details={"size": size, "seed": seed, "persons": persons},
        )
    return SeedResult(True, len(regions), institutions, persons)


def _create_regions(plan: CityPlan) -> dict[str, Region]:
    """Level by level, so every parent has its primary key before its children are built.

    bulk_create skips Region.save(), which is what computes `path`; the plan sets it.
    """
    by_code: dict[str, Region] = {}
    for level in RegionLevel.values:
        rows = []
        for rp in plan.regions:
            if rp.level != level:
                continue
            lat, lng = plan.projection.centroid(rp.quad)
            rows.append(
                Region(
                    code=rp.code,
                    name=rp.name,
                    level=rp.level,
                    parent=by_code[rp.parent.code] if rp.parent else None,
                    path=rp.path,
                    polygon=plan.projection.polygon(rp.quad),
                    centroid_lat=lat,
                    centroid_lng=lng,
                    population=rp.population,
                )
            )
        Region.objects.bulk_create(rows, batch_size=500)
        codes = [r.code for r in rows]
        # re-read rather than trust bulk_create to have filled in primary keys on every backend
        by_code.update({r.code: r for r in Region.objects.filter(code__in=codes)})
    return by_code


def _create_institutions(plan: CityPlan, regions: dict[str, Region]) -> int:
    rows = [
        Institution(
            code=ip.code,
            name=ip.name,
            kind=ip.kind,
            region=regions[ip.grid_code],
            address=ip.address,
            lat=ip.lat,
            lng=ip.lng,
            capacity=ip.capacity,
        )
        for ip in plan_institutions(plan)
    ]
    Institution.objects.bulk_create(rows, batch_size=500)
    return len(rows)


SPOT_CHECK_EVERY = 97


def _people(plan: CityPlan, regions: dict[str, Region]) -> Iterator[Person]:
    """Residents as unsaved Persons, encrypted by the same person_build as any registration.

    The generator emits IDs and phones already in canonical form (valid checksum, E.164), so
    full validation of all 50,000 would only cost time; a regular sample still goes through
    person_validate, which fails loudly if the generator and the validators ever disagree.
    """
    maker = ResidentMaker(stage_rng(plan.seed, "residents"))
    n = 0
    for grid in plan.grids:
        region = regions[grid.code]
        for r in maker.grid_residents(plan.addressing[grid.code], grid.population):
            data = PersonData(
                name=r.name,
                id_type=IdType.RESIDENT_ID,
                id_number=r.id_number,
                phone=r.phone,
                address=r.address,
                occupation=r.occupation,
                key_group=r.key_group,
            )
            if n % SPOT_CHECK_EVERY == 0:
                _spot_check(data)
            n += 1
            yield person_build(data=data, region=region, actor=None, source="demo")


def _spot_check(data: PersonData) -> None:
    checked = person_validate(
        name=data.name,
        id_type=data.id_type,
        id_number=data.id_number,
        phone=data.phone,
        address=data.address,
        occupation=data.occupation,
        key_group=data.key_group,
    )
    if checked != data:
        # name the fields only: even synthetic personal data stays out of messages and logs
        differ = [k for k, v in asdict(checked).items() if asdict(data)[k] != v]
        raise RuntimeError(f"demo resident fields change under validation: {differ}")


def _create_persons(plan: CityPlan, regions: dict[str, Region], progress: ProgressFn | None) -> int:
    done, batch = 0, []
    for person in _people(plan, regions):
        batch.append(person)
        if len(batch) >= CHUNK:
            Person.objects.bulk_create(batch)
            done += len(batch)
            batch = []
            if progress:
                progress("residents", done, plan.size)
    if batch:
        Person.objects.bulk_create(batch)
        done += len(batch)
    if progress:
        progress("residents", done, plan.size)
    return done


# -- demo accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    region_code: str | None
    institution: str | None


def _resolve(spec: AccountSpec) -> tuple[Region | None, Institution | None]:
    region = Region.objects.get(code=spec.region_code) if spec.region_code else None
    institution = None
    if spec.institution_kind:
        institution = (
            Institution.objects.filter(
                kind=spec.institution_kind, region__path__startswith=f"{CITY_CODE}/"
            )
            .order_by("code")
            .first()
        )
        if institution is None:
            raise LookupError(f"the demo city has no {spec.institution_kind}")
    return region, institution


def _new_password() -> str:
    # letters and digits only, so it survives copy-paste into any shell or form
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _i in range(16))


def _valid_password(user: User, candidate: str | None) -> str:
    """`candidate` if it passes the password validators, else a fresh password that does.

    A file written before the 12-character rule holds passwords the validators now refuse.
    """
    for password in ([candidate] if candidate else []) + [_new_password() for _i in range(5)]:
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password
    raise RuntimeError("no generated password passed the validators")


def _read_accounts_file(path: Path) -> dict[str, str]:
    try:
        rows = json.loads(path.read_text())
        return {row["username"]: row["password"] for row in rows}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_accounts_file(path: Path, accounts: list[DemoAccount]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(a) for a in accounts], ensure_ascii=False, indent=2))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class DemoAccountClash(RuntimeError):
    """A demo username is taken by a real (non-demo) account, which we must not touch."""


def _ensure_account(spec: AccountSpec, known: dict[str, str]) -> tuple[DemoAccount, bool]:
    """The account for one spec, and whether it was created or given a new password."""
    region, institution = _resolve(spec)
    user = User.objects.filter(username=spec.username).first()
    if user is not None and not user.is_demo:
        raise DemoAccountClash(
            _("user %(name)s exists and is not a demo account") % {"name": spec.username}
        )
    password = known.get(spec.username)
    changed = user is None or password is None or not user.check_password(password)
    if changed:
        # a known password is reused only to recreate a missing user; an existing user whose
        # password the file does not match gets a new one (the file is the source of truth)
        reuse = known.get(spec.username) if user is None else None
        user = user or User(username=spec.username)
        user.role, user.working_group = spec.role, spec.working_group
        user.region, user.institution, user.is_demo = region, institution, True
        user.first_name = spec.title
        password = _valid_password(user, reuse)
        user.set_password(password)
        user.save()
    assert password is not None
    account = DemoAccount(
        username=spec.username,
        password=password,
        role=spec.role,
        region_code=region.code if region else None,
        institution=institution.name if institution else None,
    )
    return account, changed


@transaction.atomic
def demo_accounts_ensure(*, data_dir: Path) -> list[DemoAccount]:
    """One demo account per role (the city must be seeded); write `demo-accounts.json`.

    Passwords are random per data directory and made once. The file is the only place the
    plaintext lives; if it was lost, the accounts get fresh passwords and a fresh file.
    """
    path = data_dir / ACCOUNTS_FILE
    known = _read_accounts_file(path)
    accounts, changed = [], []
    for spec in DEMO_ACCOUNTS:
        account, was_changed = _ensure_account(spec, known)
        accounts.append(account)
        if was_changed:
            changed.append(spec.username)
    if changed:
        audit_record(
            actor=None,
            action="drill.demo_accounts",
            object_type="user",
            object_id=",".join(changed)[:64],
            details={"usernames": changed},
        )
    _write_accounts_file(path, accounts)
    return accounts
