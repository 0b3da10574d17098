"""The synthetic demo city, the demo accounts, `fangkong demo` and the production start check."""

from __future__ import annotations

import io
import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation
from stdnum.cn import ric

from fangkong.cli import data_dir_flag
from fangkong.core import vault
from fangkong.core.models import Institution, InstitutionKind, Region, RegionLevel, Role, User
from fangkong.drill.checks import production_start_problems
from fangkong.drill.citygen import plan_city, stage_rng
from fangkong.drill.geo import polygon_bbox
from fangkong.drill.residents import ResidentMaker
from fangkong.drill.services import (
    ACCOUNTS_FILE,
    DemoAccountClash,
    city_seed,
    demo_accounts_ensure,
)
from fangkong.people.models import Person
from fangkong.people.services import ADDRESS_PURPOSE, ID_PURPOSE, PHONE_PURPOSE

pytestmark = pytest.mark.django_db

SIZE = 600
CODE_LENGTH = {
    RegionLevel.CITY: 6,
    RegionLevel.DISTRICT: 6,
    RegionLevel.TOWN: 9,
    RegionLevel.COMMUNITY: 12,
    RegionLevel.GRID: 15,
}


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    # Argon2 costs ~0.1 s a password; the accounts' behaviour does not depend on the hasher
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def city(db: Any) -> dict[str, Region]:
    result = city_seed(size=SIZE, seed=7)
    assert result.created and result.persons == SIZE
    return {r.code: r for r in Region.objects.all()}


def _contains(outer: tuple[float, ...], inner: tuple[float, ...], eps: float = 1e-9) -> bool:
    return (
        inner[0] >= outer[0] - eps
        and inner[1] >= outer[1] - eps
        and inner[2] <= outer[2] + eps
        and inner[3] <= outer[3] + eps
    )


def test_region_tree_is_well_formed(city: dict[str, Region]) -> None:
    children: dict[str, list[Region]] = {}
    for region in city.values():
        assert len(region.code) == CODE_LENGTH[RegionLevel(region.level)], region.code
        assert region.polygon["type"] == "Polygon"
        ring = region.polygon["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        assert 35.9 < region.centroid_lat < 36.2 and 120.2 < region.centroid_lng < 120.6
        if region.parent_id is None:
            assert region.level == RegionLevel.CITY and region.path == f"{region.code}/"
            continue
        parent = next(r for r in city.values() if r.pk == region.parent_id)
        assert region.level == parent.level + 1
        # a district shares its city's first four digits (370200 → 370202), deeper levels
        # extend their parent's code
        prefix = parent.code[:4] if parent.level == RegionLevel.CITY else parent.code
        assert region.code.startswith(prefix)
        assert region.path == f"{parent.path}{region.code}/"
        assert _contains(polygon_bbox(parent.polygon), polygon_bbox(region.polygon))
        children.setdefault(parent.code, []).append(region)
        if region.level == RegionLevel.GRID:
            assert region.code[12] == "G" and region.code[13:].isdigit()
    for code, kids in children.items():
        level = city[code].level
        if level == RegionLevel.CITY:
            assert len(kids) == 2
        elif level == RegionLevel.DISTRICT:
            assert len(kids) >= 3
        elif level == RegionLevel.TOWN:
            assert 3 <= len(kids) <= 5
        elif level == RegionLevel.COMMUNITY:
            assert 3 <= len(kids) <= 6
        assert city[code].population == sum(k.population for k in kids)


def test_residents_live_in_grids_with_valid_documents(city: dict[str, Region]) -> None:
    persons = list(Person.objects.select_related("region"))
    assert len(persons) == SIZE
    per_grid = Counter(p.region.code for p in persons)
    for region in city.values():
        if region.level == RegionLevel.GRID:
            assert region.population == per_grid[region.code]
    assert {p.region.level for p in persons} == {RegionLevel.GRID}
    assert all(p.region_path == p.region.path for p in persons)
    ids = [vault.decrypt(p.id_number_ct, purpose=ID_PURPOSE) for p in persons]
    assert all(ric.is_valid(i) for i in ids) and len(set(ids)) == SIZE
    for p in persons[:100]:
        phone = vault.decrypt(p.phone_ct, purpose=PHONE_PURPOSE)
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
        address = vault.decrypt(p.address_ct, purpose=ADDRESS_PURPOSE)
        district = city[p.region.code[:6]]
        assert address.startswith(district.name) and address.endswith(("室", "号"))
        assert p.address_mask.endswith("****")
    assert any(p.key_group for p in persons)
    assert all(p.occupation for p in persons)


def test_institutions_cover_every_kind_the_drills_need(city: dict[str, Region]) -> None:
    kinds = set(Institution.objects.values_list("kind", flat=True))
    wanted = {
        InstitutionKind.FEVER_CLINIC,
        InstitutionKind.PHARMACY,
        InstitutionKind.LAB,
        InstitutionKind.QUARANTINE_SITE,
        InstitutionKind.SCHOOL,
        InstitutionKind.ENTERPRISE,
        InstitutionKind.COLD_STORE,
        InstitutionKind.WAREHOUSE,
        InstitutionKind.CHECKPOINT,
        InstitutionKind.SAMPLING_POINT,
    }
    assert wanted <= kinds
    for inst in Institution.objects.select_related("region"):
        assert inst.region.level == RegionLevel.GRID
        lng0, lat0, lng1, lat1 = polygon_bbox(inst.region.polygon)
        assert lng0 <= inst.lng <= lng1 and lat0 <= inst.lat <= lat1


def test_generation_is_deterministic() -> None:
    first, second = plan_city(size=SIZE, seed=11), plan_city(size=SIZE, seed=11)
    assert [(r.code, r.name, r.quad) for r in first.regions] == [
        (r.code, r.name, r.quad) for r in second.regions
    ]
    assert [r.name for r in plan_city(size=SIZE, seed=12).regions] != [
        r.name for r in first.regions
    ]
    grid = first.grids[0]
    made = [
        list(
            ResidentMaker(stage_rng(11, "residents")).grid_residents(first.addressing[grid.code], 9)
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]


def test_seeding_twice_adds_nothing(city: dict[str, Region]) -> None:
    counts = (Region.objects.count(), Institution.objects.count(), Person.objects.count())
    again = city_seed(size=SIZE * 2, seed=99)
    assert not again.created and again.persons == SIZE
    assert counts == (Region.objects.count(), Institution.objects.count(), Person.objects.count())


def test_demo_command_writes_one_account_per_role(
    settings: Any, tmp_path: Path, fast_hashing: None
) -> None:
    settings.DATA_DIR = tmp_path
    call_command("demo", "--no-serve", "--size", str(SIZE), stdout=io.StringIO())
    path = tmp_path / ACCOUNTS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = json.loads(path.read_text())
    assert set(rows[0]) == {"username", "password", "role", "region_code", "institution"}
    by_name = {row["username"]: row for row in rows}
    assert {row["role"] for row in rows} == set(Role.values)
    towns = [by_name["town_east_1"]["region_code"], by_name["town_east_2"]["region_code"]]
    districts = [by_name["district_east"]["region_code"], by_name["district_west"]["region_code"]]
    assert towns[0] != towns[1] and towns[0][:6] == towns[1][:6] == districts[0]
    assert districts[0] != districts[1] and districts[0][:4] == districts[1][:4]
    for username in ("sampler_1", "lab_1", "sentinel_1", "quarantine_1"):
        assert by_name[username]["institution"] and by_name[username]["region_code"] is None
    assert User.objects.filter(is_demo=True).count() == len(rows)
    # a second start keeps the city and the passwords
    call_command("demo", "--no-serve", stdout=io.StringIO())
    assert json.loads(path.read_text()) == rows
    assert Person.objects.count() == SIZE


def test_demo_accounts_log_in_and_town_sees_only_its_town(
    city: dict[str, Region], tmp_path: Path, fast_hashing: None
) -> None:
    accounts = {a.username: a for a in demo_accounts_ensure(data_dir=tmp_path)}
    tokens = {}
    for name, account in accounts.items():
        r = Client().post(
            "/api/v1/auth/token",
            {"username": name, "password": account.password},
            content_type="application/json",
        )
        assert r.status_code == 200, name
        tokens[name] = r.json()["token"]

    def people(username: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {tokens[username]}"}
        r = Client().get("/api/v1/people", {"page_size": 200}, headers=auth)
        assert r.status_code == 200
        return dict(r.json())

    for username in ("town_east_1", "town_east_2", "district_west"):
        region = city[accounts[username].region_code or ""]
        expected = Person.objects.filter(region_path__startswith=region.path).count()
        body = people(username)
        assert 0 < body["count"] == expected
        assert all(p["region_code"].startswith(region.code) for p in body["results"])
    assert people("city_office")["count"] == SIZE
    assert people("lab_1")["count"] == 0  # institution roles see no personal data


def test_production_start_check_refuses_demo_accounts_and_debug(
    settings: Any, tmp_path: Path
) -> None:
    settings.MODE, settings.DEMO_MODE, settings.DEBUG = "production", False, False
    assert production_start_problems() == []
    User.objects.create(username="demo_x", role=Role.TOWN, is_demo=True)
    assert [p.id for p in production_start_problems()] == ["fangkong.E102"]
    with translation.override("en"), pytest.raises(CommandError, match="demo accounts exist"):
        call_command("serve")
    with translation.override("en"), pytest.raises(CommandError, match="only in demo mode"):
        call_command("demo", "--no-serve")
    settings.DEBUG = True
    assert {p.id for p in production_start_problems()} == {"fangkong.E101", "fangkong.E102"}
    settings.MODE, settings.DEMO_MODE = "demo", True
    assert production_start_problems() == []


def test_cli_reads_data_dir_before_settings() -> None:
    assert data_dir_flag(["fangkong", "demo", "--data-dir", "/tmp/x", "--port", "1"]) == "/tmp/x"
    assert data_dir_flag(["fangkong", "demo", "--data-dir=/tmp/y"]) == "/tmp/y"
    assert data_dir_flag(["fangkong", "demo", "--port", "8311"]) is None
    assert data_dir_flag(["fangkong", "migrate", "--data-dir", "/tmp/x"]) is None


def test_lost_accounts_file_gets_fresh_passwords_and_real_users_are_left_alone(
    city: dict[str, Region], tmp_path: Path, fast_hashing: None
) -> None:
    first = {a.username: a.password for a in demo_accounts_ensure(data_dir=tmp_path)}
    (tmp_path / ACCOUNTS_FILE).unlink()
    second = {a.username: a.password for a in demo_accounts_ensure(data_dir=tmp_path)}
    assert set(first) == set(second) and all(first[u] != second[u] for u in first)
    assert User.objects.get(username="grid_1").check_password(second["grid_1"])
    User.objects.filter(username="sysadmin").update(is_demo=False)
    with pytest.raises(DemoAccountClash):
        demo_accounts_ensure(data_dir=tmp_path)
