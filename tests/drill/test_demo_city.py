"""The synthetic demo city, the demo accounts, `fangkong demo` and the production start check."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import phonenumbers
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, TestCase, override_settings
from django.utils import timezone, translation
from stdnum.cn import ric

from fangkong.cli import data_dir_flag
from fangkong.command import selectors as csel
from fangkong.command import selectors_reports as rsel
from fangkong.command.models import DailyReport, Meeting, Obligation, Unit
from fangkong.core import vault
from fangkong.core.models import (
    AuditEvent,
    Institution,
    InstitutionKind,
    Region,
    RegionLevel,
    Role,
    User,
)
from fangkong.drill.citygen import plan_city, stage_rng
from fangkong.drill.geo import polygon_bbox
from fangkong.drill.outbreak import MARKER, outbreak_seed, outbreak_seeded
from fangkong.drill.outbreak_people import SMALL_FANOUT, Local, Population, TreePlanner, TreeSpec
from fangkong.drill.residents import ResidentMaker
from fangkong.drill.services import (
    ACCOUNTS_FILE,
    DemoAccountClash,
    city_seed,
    demo_accounts_ensure,
)
from fangkong.people.measures_models import ControlMeasure, MeasureState
from fangkong.people.models import Person
from fangkong.people.selectors.measures import measure_list
from fangkong.people.services import measures
from fangkong.people.services.persons import ADDRESS_PURPOSE, ID_PURPOSE, PHONE_PURPOSE
from fangkong.quarantine import selectors as qsel
from fangkong.quarantine.models import Site, Stay, TransferLeg
from fangkong.quarantine.reserve import reserve_region
from fangkong.screening.models import RiskArea, ScreeningRecord, ScreeningSource, Zone
from fangkong.screening.selectors import (
    risk_area_list,
    screening_by_token,
    screening_list,
    zone_list,
)
from fangkong.serving.checks import production_start_problems
from fangkong.tracing.models import Case, CaseContact, Exposure
from fangkong.tracing.selectors import case_list, investigation_list
from fangkong.tracing.services.cases import case_create
from tests.conftest import FAST_HASHERS

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
    # the residents, plus the visitors registered when their arrival was confirmed
    assert Person.objects.filter(source="demo").count() == SIZE
    assert Case.objects.count() == 5 and AuditEvent.objects.filter(action=MARKER).count() == 1


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
    settings.MODE_EXPLICIT = True  # FANGKONG_MODE=production in the environment
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


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_serve_refuses_to_start_without_fangkong_mode_set(settings: Any, mode: str) -> None:
    # an unset variable means demo: keys generated on disk, demo accounts allowed
    settings.MODE, settings.DEMO_MODE, settings.MODE_EXPLICIT = mode, mode == "demo", False
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("serve")
    assert "FANGKONG_MODE" in str(refused.value) and "explicitly" in str(refused.value)


def test_serve_without_fangkong_mode_exits_non_zero(tmp_path: Path) -> None:
    keep = ("PATH", "HOME", "LANG", "VIRTUAL_ENV")
    child_env = {k: v for k, v in os.environ.items() if k in keep}
    child_env.update(FANGKONG_DATA_DIR=str(tmp_path), LANGUAGE="en")
    done = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "serve", "--port", "1"],
        cwd=Path(__file__).resolve().parents[2],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "FANGKONG_MODE" in done.stderr and "Serving" not in done.stdout


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


def test_demo_passwords_pass_the_validators_and_a_weak_stored_one_is_replaced(
    city: dict[str, Region], tmp_path: Path, fast_hashing: None
) -> None:
    first = demo_accounts_ensure(data_dir=tmp_path)
    for account in first:
        assert len(account.password) >= 12
        validate_password(account.password, User.objects.get(username=account.username))
    # an accounts file from before the 12-character rule: its short password is not reused
    path = tmp_path / ACCOUNTS_FILE
    rows = json.loads(path.read_text())
    rows[0]["password"] = "short-pw-1"
    path.write_text(json.dumps(rows))
    User.objects.filter(username=rows[0]["username"]).delete()
    second = {a.username: a.password for a in demo_accounts_ensure(data_dir=tmp_path)}
    fresh = second[rows[0]["username"]]
    assert fresh != "short-pw-1" and len(fresh) >= 12
    assert User.objects.get(username=rows[0]["username"]).check_password(fresh)


# -- the demo outbreak ------------------------------------------------------------------------


class TestOutbreak(TestCase):
    """One seeded outbreak shared by the read-only checks (seeding costs about 1.5 s)."""

    users: dict[str, User]

    @classmethod
    def setUpTestData(cls) -> None:
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS), TemporaryDirectory() as tmp:
            city_seed(size=SIZE, seed=7)
            demo_accounts_ensure(data_dir=Path(tmp))
        result = outbreak_seed(seed=7)
        assert result.created and not result.skipped
        cls.users = {
            u.username: u for u in User.objects.filter(is_demo=True).select_related("region")
        }

    def test_outbreak_is_live_with_every_state_the_screens_show(self) -> None:
        office = self.users["city_office"]
        cases = list(case_list(actor=office))
        assert len(cases) == 5 and {c.status for c in cases} == {"confirmed"}
        # one case per town, one in each town of district 1 (the two demo towns among them)
        towns = [c.region_path.split("/")[2] for c in cases]
        assert len(set(towns)) == 5 and {"990101001", "990101002", "990101003"} <= set(towns)
        for case in cases:
            generations = set(
                CaseContact.objects.filter(case=case).values_list("generation", flat=True)
            )
            assert generations == {1, 2, 3}, case.pk
            assert Exposure.objects.filter(case=case).exists()
        # a contact is one person in one case: the trees never share anybody
        contacts = list(CaseContact.objects.values_list("person_id", flat=True))
        assert len(contacts) == len(set(contacts))
        states = set(ControlMeasure.objects.values_list("state", flat=True))
        assert {"proposed", "in_force", "extended", "released", "converted"} <= states
        converted = ControlMeasure.objects.get(state=MeasureState.CONVERTED)
        assert converted.converted_to == "case"
        assert Case.objects.filter(person_id=converted.person_id, kind="asymptomatic").exists()
        overdue = list(investigation_list(actor=office, overdue=True))
        assert [i.case.region_path.split("/")[2] for i in overdue] == ["990101002"]
        assert measure_list(actor=office, overdue="release").exists()
        assert measure_list(actor=office, overdue="test").exists()

    def test_outbreak_arrivals_risk_areas_and_zones(self) -> None:
        office = self.users["city_office"]
        levels = {a.division_code: a.level for a in risk_area_list(actor=office)}
        assert levels["310115"] == "high" and levels["110105"] == "medium"
        assert levels["440305"] == "low"  # revised down: the high-risk version is history
        assert RiskArea.objects.filter(division_code="440305", level="high").exists()
        assert "120101" not in levels  # its validity window has ended
        zones = list(zone_list(actor=office))
        assert sorted(z.kind for z in zones) == ["control", "lockdown"]
        lockdown = next(z for z in zones if z.kind == "lockdown")
        assert list(lockdown.grids.values_list("code", flat=True)) == ["990101001001G01"]
        records = ScreeningRecord.objects.all()
        assert 30 <= records.count() <= 45
        pending = records.filter(status="pending")
        assert pending.count() > records.count() / 2
        classified = records.filter(status="classified")
        assert classified.filter(measure__isnull=False).count() >= 5
        assert classified.filter(measure__isnull=True).exists()  # no rule applies: record only
        assert len({r.source for r in records}) >= 6
        for town in ("town_east_1", "town_east_2"):
            assert screening_list(actor=self.users[town], status="pending").count() >= 5
        declared = pending.filter(source=ScreeningSource.SELF_DECLARATION)
        assert declared.count() >= 2
        record = declared.filter(destination__code="990101001001").first()
        assert record is not None
        for username in ("town_east_1", "community_1"):
            assert screening_by_token(actor=self.users[username], token=record.token).exists()
        assert not screening_by_token(actor=self.users["town_east_2"], token=record.token).exists()

    def test_outbreak_is_written_by_the_demo_accounts(self) -> None:
        by_action = dict(
            AuditEvent.objects.filter(
                action__in=("case.create", "risk_area.create", "zone.create", "screening.confirm")
            ).values_list("action", "actor_username")
        )
        assert by_action["case.create"] == "wg_tracing"
        assert by_action["risk_area.create"] == "city_office"
        assert by_action["zone.create"] == "district_east"
        assert by_action["screening.confirm"] in set(self.users) - {"wg_tracing"}
        assert AuditEvent.objects.filter(action=MARKER).count() == 1

    def test_town_users_see_their_own_cases_and_not_the_siblings(self) -> None:
        own = {}
        for town, code in (("town_east_1", "990101001"), ("town_east_2", "990101002")):
            cases = list(case_list(actor=self.users[town]))
            assert len(cases) == 1 and cases[0].region.code.startswith(code)
            own[town] = cases[0]
            assert measure_list(actor=self.users[town]).exists()
        mine, theirs = own["town_east_1"], own["town_east_2"]
        # the grid worker of the first case's grid sees that case too
        assert case_list(actor=self.users["grid_1"]).get() == mine
        self.client.force_login(self.users["town_east_1"])
        assert self.client.get(f"/tracing/cases/{theirs.pk}/").status_code == 404
        page = self.client.get(f"/tracing/cases/{mine.pk}/")
        assert page.status_code == 200
        assert mine.person.id_number_mask in page.content.decode()
        listing = self.client.get("/tracing/").content.decode()
        assert mine.person.id_number_mask in listing
        # masks keep only place code + check digit, so two persons' may coincide
        if theirs.person.id_number_mask != mine.person.id_number_mask:
            assert theirs.person.id_number_mask not in listing
        inbox = self.client.get("/screening/")
        assert inbox.status_code == 200
        first = screening_list(actor=self.users["town_east_1"], status="pending").first()
        assert first is not None and first.id_number_mask in inbox.content.decode()
        assert self.client.get("/control/").status_code == 200

    def test_outbreak_quarantine_housed_in_transit_and_in_reserve(self) -> None:
        office = self.users["city_office"]
        assert not qsel.awaiting_room(actor=office).exists()  # 应隔尽隔
        # the demo site's vehicles: one completed through two handovers, one overdue
        moving = {t.code: t for t in qsel.transfer_list(actor=office, state="all")}
        completed = [t for t in moving.values() if t.state == "completed"]
        assert len(completed) == 1
        leg = TransferLeg.objects.get(transfer=completed[0])
        assert [h.kind for h in leg.handovers.all()] == ["pickup", "delivery"]
        assert Stay.objects.get(person_id=leg.person_id, state="checked_in")
        assert [t.overdue for t in moving.values()].count(True) == 1
        driver = self.users["driver_1"]
        assert qsel.transfer_list(actor=driver, state="open", mine=True).count() == 2
        # the reserve: rooms per 10,000 residents per district and the 24 h need
        found = reserve_region(actor=office)
        assert found.rows and all(r.region.population for r in found.rows)
        assert any(r.per_10k for r in found.rows) and found.total.need_24h >= 0
        # this morning's checks at the demo site: one flagged for the doctor, two missed
        own = self.users["quarantine_1"]
        rows = qsel.site_health(actor=own, site=Site.objects.get(institution=own.institution))
        assert sum(r.flagged for r in rows) == 1 and sum(not r.checks for r in rows) >= 2
        # home quarantine: a few check-ins missed and one door alert, rolled up to the city
        rollup = qsel.home_rollup(actor=office, region=office.region)[0]
        assert rollup.alerts == 1 and rollup.under_watch >= 3
        rows = qsel.home_watch(actor=office)
        assert rows[0].alerts and sum(1 for r in rows if r.checks) >= 1
        # one person whose days at a site were served is released: notice issued, the
        # room sent to disinfection, the person no longer in a room
        done = qsel.release_list(actor=office, state="confirmed").select_related("stay__room")
        release = done.first()
        assert release is not None and release.notice_no and release.token
        assert release.stay.state == "checked_out"
        assert release.stay.room.state == "disinfection"
        assert qsel.release_list(actor=office, state="proposed").count() <= 1
        # releasing a quarantined person sends the room to disinfection
        in_force = Stay.objects.filter(state="checked_in", measure__state="in_force")
        stay = in_force.select_related("measure", "room").first()
        assert stay is not None
        measures.measure_release(actor=office, measure=stay.measure, reason="期满解除")
        stay.refresh_from_db()
        assert stay.state == "checked_out" and stay.room.state == "disinfection"

    def test_outbreak_command_units_orders_and_directives(self) -> None:
        office, now = self.users["city_office"], timezone.now()
        kinds = Counter(Unit.objects.values_list("kind", flat=True))
        assert kinds["department"] >= 8 and kinds["working_group"] >= 2 and kinds["town"] >= 5
        # the towns' queues: the sweep order, one verified, one awaiting verification
        east_1 = csel.my_queue(actor=self.users["town_east_1"], now=now)
        assert east_1.exists()
        everything = csel.obligation_list(actor=office, now=now)
        states = Counter(everything.values_list("state", flat=True))
        assert states["verified"] == 1 and states["completed"] == 1
        stages = csel.stage_counts(everything, now)
        assert stages["escalated"] >= 1  # the backdated order, silent for two days
        # the dispatch meeting's directives: lead and supporting units told apart
        meeting = Meeting.objects.get()
        roles = set(
            Obligation.objects.filter(issue__meeting=meeting).values_list("role", flat=True)
        )
        assert roles == {"lead", "support"}
        # a sibling town sees none of the other town's obligations
        theirs = csel.obligation_list(actor=self.users["town_east_2"], now=now)
        assert not theirs.filter(region_path__startswith=east_1.first().region_path).exists()

    def test_outbreak_daily_reports_some_on_time_one_late_one_zero_the_rest_missing(self) -> None:
        office, now = self.users["city_office"], timezone.now()
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        result = rsel.compliance(actor=office, start=yesterday, end=yesterday, now=now)
        by_unit = {(r.unit.name, r.template.name): r for r in result.units}
        towns = [r for (_u, t), r in by_unit.items() if t.startswith("乡镇")]
        on_time = [r.unit.name for r in towns if r.on_time]
        late = [r.unit.name for r in towns if r.late]
        assert len(on_time) == 1 and len(late) == 1 and on_time != late
        assert sum(1 for r in towns if r.missing) == len(towns) - 2 > 0
        day = result.days[0]
        assert day.zero == 1 and day.expected == len(result.units) > day.submitted
        # the town's known figures were filled in by the system and kept beside the report
        report = DailyReport.objects.filter(day=yesterday, template__code__contains="TOWN").first()
        assert report is not None and set(report.prefilled) == {
            "arrivals", "under_control", "tubes", "overdue"
        }  # fmt: skip
        # the sibling town sees its own duty only
        east_2 = rsel.compliance(
            actor=self.users["town_east_2"], start=yesterday, end=yesterday, now=now
        )
        assert [r.unit.name for r in east_2.units] == late

    def test_seeding_the_outbreak_twice_adds_nothing(self) -> None:
        models: list[Any] = [
            Case, CaseContact, Exposure, ControlMeasure, ScreeningRecord, RiskArea, Zone,
            AuditEvent, Person,
        ]  # fmt: skip
        before = [m.objects.count() for m in models]
        again = outbreak_seed(seed=99)
        assert outbreak_seeded() and not again.created and not again.skipped
        assert [m.objects.count() for m in models] == before
        assert again.summary.cases == 5 and again.summary.pending_screenings > 0


def test_outbreak_leaves_a_city_with_its_own_cases_alone(
    city: dict[str, Region], tmp_path: Path, fast_hashing: None
) -> None:
    demo_accounts_ensure(data_dir=tmp_path)
    tracer = User.objects.get(username="wg_tracing")
    person = Person.objects.order_by("pk").first()
    assert person is not None
    today = timezone.localdate()
    case_create(actor=tracer, person=person, kind="confirmed", report_date=today, source="local")
    result = outbreak_seed(seed=7)
    assert not result.created and result.skipped and not outbreak_seeded()
    assert Case.objects.count() == 1 and not ScreeningRecord.objects.exists()


def _four_from(pk: int) -> list[int]:
    first = pk - (pk - 1) % 4
    return list(range(first, first + 4))


def test_contact_trees_are_deterministic_and_never_reuse_a_person() -> None:
    residents = [Local(pk, grid_id=pk // 10, town=f"99010100{pk % 3 + 1}", working_age=True)
                 for pk in range(1, 400)]  # fmt: skip
    days = [dt.date(2025, 1, d) for d in range(1, 5)]

    def plan() -> list[Any]:
        pop = Population(residents)
        # households of four consecutive residents, as the generator writes them
        pop._households = {
            grid: {pk: _four_from(pk) for pk in range(grid * 10, grid * 10 + 10)}
            for grid in range(40)
        }
        planner = TreePlanner(pop, stage_rng(5, "contacts"), {}, SMALL_FANOUT)
        return planner.tree(TreeSpec(root=1, first_context="workplace", first_place="x", days=days))

    first, second = plan(), plan()
    assert first == second
    assert {c.generation for c in first} == {1, 2, 3}
    people = [c.person for c in first]
    assert len(people) == len(set(people)) and 1 not in people
    assert all(c.day in days for c in first)
