"""One small world for the permission matrix: an object of every kind the API addresses,
all in (or served from) community A1, and a user of every role at every jurisdiction
relation to it.

Relations, as the issue names them, say where the object lies seen from the user:

- own: in the user's own region (the user sits at community A1);
- child: in a child of the user's region (the user sits at town A1);
- parent: in the user's parent region (the user sits at grid A1, below the object);
- sibling: in a sibling region (the user sits at community A2);
- city: the user's jurisdiction is the whole city (city-wide grants).

Institution roles (sampler, lab) have no region: "own" is the object's institution, every
other relation another institution of the same kind.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from fangkong.command.models import Problem, ProblemKind, Reinspection, Unit, UnitMember
from fangkong.command.services import ledger, reports, supervision
from fangkong.command.services.evidence import Upload
from fangkong.core.models import Institution, InstitutionKind, Region, Role, User
from fangkong.keygroups import services as groups
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.models import RecheckTask, ResultBatch, Tube, TubeStatus
from fangkong.masstesting.planning.services import team_create
from fangkong.masstesting.results.services.resolve import pools_resolve
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.services.imports import import_job_create
from fangkong.people.services.measure_results import measure_record_test
from fangkong.people.services.measures import measure_start
from fangkong.quarantine.models import DoorEvent
from fangkong.quarantine.services import doors
from fangkong.quarantine.services import releases as quarantine_releases
from fangkong.quarantine.services import sites as quarantine_sites
from fangkong.quarantine.services import stays as quarantine_stays
from fangkong.quarantine.services import transfers as quarantine_transfers
from fangkong.screening.assistance_layout import COLUMNS
from fangkong.screening.models import ClassificationRule
from fangkong.screening.services import areas, assistance
from fangkong.tracing.models import CaseContact
from fangkong.tracing.services.cases import exposures_record
from fangkong.tracing.services.generations import case_compute_generations
from tests.factories import Tree, UserFactory, build_tree, make_person
from tests.factories.masstesting import campaign_setup
from tests.factories.measures import ensure_default_plans, propose
from tests.factories.rechecks import resulted_pools
from tests.factories.screening import (
    ensure_default_rules,
    make_area,
    make_screening,
    resident_ids,
    sheet_bytes,
)
from tests.factories.tracing import confirmed_case

RELATIONS = ("own", "child", "parent", "sibling", "city")
REGION_ROLES = [
    r
    for r in Role.values
    if r not in (Role.SAMPLER, Role.LAB, Role.SYSTEM_ADMIN, Role.SENTINEL, Role.QUARANTINE_SITE)
]
INSTITUTION_ROLES = {
    Role.SAMPLER: InstitutionKind.SAMPLING_POINT,
    Role.LAB: InstitutionKind.LAB,
    Role.SENTINEL: InstitutionKind.FEVER_CLINIC,
    Role.QUARANTINE_SITE: InstitutionKind.QUARANTINE_SITE,
}


@dataclass
class World:
    tree: Tree
    boss: User
    objects: dict[str, Any] = field(default_factory=dict)
    users: dict[tuple[str, str], User] = field(default_factory=dict)


def _relation_region(tree: Tree, relation: str) -> Region:
    return {
        "own": tree.community_a1,
        "child": tree.town_a1,
        "parent": tree.grid_a1,
        "sibling": tree.community_a2,
        "city": tree.city,
    }[relation]


def _users(world: World) -> None:
    tree = world.tree
    own_institutions = {
        Role.SAMPLER: world.objects["point"].institution,
        Role.LAB: tree.lab,
        Role.QUARANTINE_SITE: world.objects["site"].institution,
    }
    for role in Role.values:
        for relation in RELATIONS:
            name = f"m_{role}_{relation}"
            if role in INSTITUTION_ROLES:
                inst = own_institutions.get(role) if relation == "own" else None
                if inst is None:
                    inst = Institution.objects.create(
                        code=f"I-{role}-{relation}",
                        name=f"{role} {relation}",
                        kind=INSTITUTION_ROLES[role],
                        region=tree.community_a2 if relation != "own" else tree.community_a1,
                    )
                user = UserFactory(username=name, role=role, institution=inst)
            elif role == Role.SYSTEM_ADMIN:
                user = UserFactory(username=name, role=role)
            else:
                region = _relation_region(tree, relation)
                user = UserFactory(username=name, role=role, region=region)
            world.users[(role, relation)] = user


def _tracing(world: World) -> None:
    tree, boss = world.tree, world.boss
    index = make_person(tree.community_a1, name="病例甲")
    contact = make_person(tree.community_a1, name="密接乙")
    case = confirmed_case(actor=boss, person=index)
    exposures_record(
        actor=boss,
        case=case,
        items=[
            {
                "contact": {"person_id": contact.pk},
                "context": "household",
                "day": timezone.localdate(),
            }
        ],
    )
    case_compute_generations(actor=boss, case=case)
    world.objects.update(
        case=case,
        investigation=case.investigation,
        contact=CaseContact.objects.filter(case=case).first(),
    )


def _screening(world: World) -> None:
    tree, boss = world.tree, world.boss
    ids = resident_ids(2, seed=77)
    header = [zh for _f, zh, _en in COLUMNS]
    content = sheet_bytes(header, [["甲", ids[0], "", "", "", "", "", "", ""]])
    request = assistance.assistance_import(
        actor=boss,
        info=assistance.RequestInfo(from_jurisdiction="外市", reference_number="M1"),
        filename="名单.xlsx",
        content=content,
    )
    zone = areas.zone_create(
        actor=boss,
        data=areas.zone_validate(
            actor=boss, name="东一封控区", kind="lockdown", grid_codes=[tree.grid_a1.code]
        ),
    )
    world.objects.update(
        record=make_screening(boss, tree.community_a1),
        area=make_area(code="310115"),
        zone=zone,
        rule=ClassificationRule.objects.order_by("pk").first(),
        request=request,
    )


def _masstesting(world: World) -> None:
    tree, boss = world.tree, world.boss
    holder: dict[str, User] = {}
    setup = campaign_setup(tree, holder)
    sampler = setup.sampler
    resident = make_person(tree.grid_a1, name="居民丙")
    token = registration_code_for(person=resident).token
    scan_batch_ingest(
        actor=sampler,
        point=setup.point,
        idempotency_key="matrix-1",
        scans=[ScanIn(barcode="MX0001", token=token, scanned_at=timezone.now())],
    )
    tube = Tube.objects.get(barcode="MX0001")
    tube.status, tube.closed_at = TubeStatus.CLOSED, timezone.now()
    tube.save(update_fields=["status", "closed_at"])
    box = lab_services.box_pack(
        actor=sampler, point=setup.point, lab=tree.lab, code="BOX-M1", tube_barcodes=["MX0001"]
    )
    lab_user = UserFactory(username="m_lab_seed", role=Role.LAB, institution=tree.lab)
    lab_services.box_hand_over(actor=sampler, box=box)
    lab_services.tubes_receive(actor=lab_user, lab=tree.lab, barcodes=["MX0001"])
    lab_services.results_batch_ingest(
        actor=lab_user,
        lab=tree.lab,
        idempotency_key="matrix-r1",
        items=[lab_services.ResultIn(barcode="NOPE", result="negative")],
    )
    positive = resulted_pools(setup.point, tree.grid_a1, tubes=1, size=2, result="positive")
    pools_resolve(tube_ids=[t.pk for t in positive])
    regime = groups.regime_create(
        actor=boss, region=tree.district_a, key_group="medical", every_days=7
    )
    member = groups.member_enrol(actor=boss, person=resident, key_group="medical")
    world.objects.update(
        campaign=setup.campaign,
        point=setup.point,
        tube=Tube.objects.get(pk=tube.pk),
        team=team_create(actor=boss, point=setup.point, name="一队"),
        box=box,
        batch=ResultBatch.objects.order_by("pk").first(),
        task=RecheckTask.objects.order_by("pk").first(),
        regime=regime,
        member=member,
        resident=resident,
        sampler=sampler,
    )


def _quarantine(world: World) -> None:
    """An active site in community A1 with three rooms; a resident allocated to one of them,
    another allocated to the next and on a transfer there (not yet picked up)."""
    tree, boss = world.tree, world.boss
    site = quarantine_sites.site_create(
        actor=boss, code="QM1", name="矩阵隔离点", region=tree.community_a1
    )
    numbers = ("101", "102", "103", "104")
    rooms = [quarantine_sites.RoomIn(building="1", floor=1, number=n) for n in numbers]
    quarantine_sites.rooms_add(actor=boss, site=site, rooms=rooms)
    site = quarantine_sites.site_set_state(actor=boss, site=site, state="active")
    guest = make_person(tree.community_a1, name="隔离丁")
    measure = propose(guest, start=timezone.localdate())
    stay = quarantine_stays.stays_allocate(actor=boss, measures=[measure], site=site).stays[0]
    rider = propose(make_person(tree.community_a1, name="转运戊"), start=timezone.localdate())
    taken = quarantine_stays.stays_allocate(actor=boss, measures=[rider], site=site).stays[0]
    release = _release(world, site)
    free = site.rooms.exclude(pk__in=[stay.room_id, taken.room_id, release.stay.room_id]).get()
    driver = UserFactory(username="m_fixture_driver", role=Role.DRIVER, region=tree.community_a1)
    transfer = quarantine_transfers.transfer_create(
        actor=boss,
        measures=[rider],
        route=quarantine_transfers.Route(
            pickup_kind="checkpoint",
            pickup_place="矩阵卡口",
            destination_kind="site",
            destination_site=site,
        ),
        crew=quarantine_transfers.Crew(vehicle="浙A·M1", driver=driver, escort="矩阵医生"),
        deadline=timezone.now() + dt.timedelta(hours=2),
    )
    event = _door_event(world)
    world.objects.update(
        site=site, room=free, stay=stay, transfer=transfer, driver=driver, event=event,
        release=release,
        rider_code=registration_code_for(person=rider.person).token,
    )  # fmt: skip


def _release(world: World, site: Any) -> Any:
    """A resident of community A1 at the site for the 7 days of a 7+3, all tests negative,
    whose release the site has proposed."""
    boss = world.boss
    start = timezone.localdate() - dt.timedelta(days=6)
    measure = propose(make_person(world.tree.community_a1, name="解除庚"), start=start)
    measure = measure_start(actor=boss, measure=measure, start=start)
    stay = quarantine_stays.stays_allocate(actor=boss, measures=[measure], site=site).stays[0]
    stay = quarantine_stays.stay_check_in(actor=boss, stay=stay)
    for day in measure.tests.values_list("day", flat=True):
        measure_record_test(measure=measure, on=day, result="negative")
    return quarantine_releases.release_propose(actor=boss, stay=stay)


def _door_event(world: World) -> Any:
    """A door-sensor alert at the home of a resident of community A1 under home quarantine."""
    boss = world.boss
    home = propose(make_person(world.tree.community_a1, name="居家己"), "home_quarantine_7",
                   start=timezone.localdate())  # fmt: skip
    home = measure_start(actor=boss, measure=home)
    doors.door_sensor_install(actor=boss, measure=home, device_id="M-DS-1")
    event = doors.EventIn("M-DS-1", "m1", "opened", timezone.now())
    doors.door_events_ingest(actor=boss, events=[event])
    return DoorEvent.objects.get(event_id="m1")


def _command(world: World) -> None:
    """The city's office (the boss acts for it) and community A1's unit below it, with an
    order to the unit whose obligation carries a photo."""
    tree, boss = world.tree, world.boss
    office = Unit.objects.create(
        code="M-OFFICE", name="矩阵防控办", kind="office", region=tree.city
    )
    unit = Unit.objects.create(
        code="M-UNIT", name="矩阵社区", kind="community", region=tree.community_a1, superior=office
    )
    for each in (office, unit):
        UnitMember.objects.create(unit=each, user=boss)
    issue = ledger.issue_create(
        actor=boss, issuer=office, kind="order", title="矩阵指令",
        deadline=timezone.now() + dt.timedelta(days=2), parts=[ledger.Part(unit=unit)],
    )  # fmt: skip
    obligation = issue.obligations.get()
    ledger.obligation_note(
        actor=boss, obligation=obligation, text="矩阵进展",
        files=[Upload("m.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)],
    )  # fmt: skip
    evidence = obligation.events.get(kind="note").files.get()
    template = reports.template_create(
        actor=boss, region=tree.city, code="M-DAILY", name="矩阵日报", unit_kinds=["community"],
        cutoff=dt.time(10), fields=[reports.FieldSpec("visits", "走访户数")],
        starts_on=timezone.localdate() - dt.timedelta(days=7),
    )  # fmt: skip
    problem, reinspection = _problems(boss, office, unit, tree)
    world.objects.update(
        issuer_unit=office, unit=unit, issue=issue, obligation=obligation, evidence=evidence,
        template=template, problem=problem, reinspection=reinspection,
    )  # fmt: skip


def _problems(boss: User, office: Unit, unit: Unit, tree: Tree) -> tuple[Problem, Reinspection]:
    """An open supervision problem, and a closed one drawn for re-inspection."""
    made = [
        supervision.problem_record(
            actor=boss,
            inspector_unit=office,
            unit=unit,
            kind=ProblemKind.objects.get(code="SCAN"),
            severity="minor",
            site=site,
            region=tree.community_a1,
            description="矩阵问题",
        )
        for site in ("矩阵市场", "矩阵小区")
    ]
    ledger.obligation_note(actor=boss, obligation=made[1].obligation, text="已整改", complete=True)
    ledger.obligation_verify(actor=boss, obligation=made[1].obligation)
    drawn = supervision.reinspection_draw(actor=boss, region=tree.community_a1, share=1.0)
    return made[0], drawn[0]


def _command_members(world: World) -> None:
    """Every user whose jurisdiction holds community A1 acts for its unit; the city's users
    act for the office too (so the matrix reaches both the granted and the refused answer)."""
    for (_role, relation), user in world.users.items():
        if relation in ("own", "child", "city") and user.region is not None:
            UnitMember.objects.create(unit=world.objects["unit"], user=user)
        if relation == "city":
            UnitMember.objects.create(unit=world.objects["issuer_unit"], user=user)


def build_world() -> World:
    ensure_default_plans()
    ensure_default_rules()
    tree = build_tree()
    boss = UserFactory(username="m_boss", role=Role.COMMAND_OFFICE, region=tree.city)
    world = World(tree=tree, boss=boss)
    person = make_person(tree.community_a1, name="居民甲")
    world.objects.update(
        person=person,
        measure=propose(person, start=timezone.localdate()),
        job=import_job_create(
            actor=boss,
            filename="people.csv",
            content=io.BytesIO("姓名,身份证号\n".encode()),
            enqueue=False,
        ),
        region=tree.community_a1,
        plan_key="centralised_7_home_3",
    )
    _tracing(world)
    _screening(world)
    _masstesting(world)
    _quarantine(world)
    _command(world)
    _users(world)
    _command_members(world)
    world.objects["file_job"] = _file_job(world)
    return world


def _file_job(world: World) -> Any:
    """A finished assistance-list job of district A (the page renders its result)."""
    from fangkong.core.models import FileJob, FileJobStatus

    request = world.objects["request"]
    return FileJob.objects.create(
        kind="assistance",
        created_by=request.created_by,
        region_path=world.tree.district_a.path,
        filename="协查.xlsx",
        file_sha256="0" * 64,
        status=FileJobStatus.DONE,
        finished_at=timezone.now(),
        result={"request_id": str(request.pk), "total_rows": 1, "assigned_count": 1},
    )


def today() -> dt.date:
    return timezone.localdate()
