"""Closed-loop transfers: dispatch, two handovers scanned by the receiving sides (the crew at
pickup, the site at arrival, which checks the person in), overdue at query time, nobody in two
places, bad scans named, scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.core.errors import Conflict
from fangkong.core.models import Role, User
from fangkong.core.permissions import Forbidden
from fangkong.core.validators import FieldError
from fangkong.masstesting.sampling.services.codes import code_payload, registration_code_for
from fangkong.people.models import ControlMeasure
from fangkong.quarantine import selectors as sel
from fangkong.quarantine.models import HandoverKind, LegState, Stay, StayState, Transfer
from fangkong.quarantine.services import stays, transfers
from tests.clients import api_client, zh
from tests.factories import Tree, UserFactory
from tests.factories.quarantine import SiteSetup, active_site, corridor_rooms, quarantined

BASE = "/api/v1/quarantine/transfers"


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> SiteSetup:
    return active_site(users["district_a"], tree.town_a2, corridor_rooms(pairs=3))


@pytest.fixture
def driver(tree: Tree) -> User:
    return UserFactory(username="driver_a", role=Role.DRIVER, region=tree.district_a)


def _housed(tree: Tree, users: dict[str, User], setup: SiteSetup, name: str) -> ControlMeasure:
    measure = quarantined(tree.community_a1, name=name)
    stays.stays_allocate(actor=users["district_a"], measures=[measure], site=setup.site)
    return measure


def _dispatch(
    users: dict[str, User], setup: SiteSetup, driver: User, measures: list[ControlMeasure],
    hours: int = 2,
) -> Transfer:  # fmt: skip
    return transfers.transfer_create(
        actor=users["district_a"],
        measures=measures,
        route=transfers.Route(
            pickup_kind="checkpoint",
            pickup_place="G60 高速卡口",
            destination_kind="site",
            destination_site=setup.site,
        ),
        crew=transfers.Crew(vehicle="浙A·D1234", driver=driver, escort="王医生"),
        deadline=timezone.now() + dt.timedelta(hours=hours),
    )


def _code(measure: ControlMeasure) -> str:
    return code_payload(registration_code_for(person=measure.person).token)


def test_two_handovers_take_a_person_from_the_checkpoint_into_their_room(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User
) -> None:
    a, b = _housed(tree, users, setup, "甲"), _housed(tree, users, setup, "乙")
    transfer = _dispatch(users, setup, driver, [a, b])
    assert transfer.code.startswith("ZY") and transfer.region_path == tree.community_a1.path
    # the crew receives the person at the checkpoint
    pickup = transfers.transfer_scan(actor=driver, transfer=transfer, code=_code(a), place="卡口")
    assert pickup.kind == HandoverKind.PICKUP and pickup.leg.state == LegState.ON_BOARD
    transfer.refresh_from_db()
    assert transfer.state == "under_way"
    # the site's staff receive them at the door: delivered and checked in at once
    arrival = transfers.transfer_scan(
        actor=setup.staff, transfer=transfer, code=_code(a), place="隔离点大门"
    )
    assert arrival.kind == HandoverKind.DELIVERY and arrival.checked_in
    assert Stay.objects.get(measure=a).state == StayState.CHECKED_IN
    handovers = [(h.kind, h.place, h.by) for h in arrival.leg.handovers.all()]
    assert handovers == [("pickup", "卡口", driver), ("delivery", "隔离点大门", setup.staff)]
    with pytest.raises(Conflict, match=zh("this person was already delivered")):
        transfers.transfer_scan(actor=setup.staff, transfer=transfer, code=_code(a), place="门")
    # b still on the way: the transfer stays open until b arrives
    transfers.transfer_scan(actor=driver, transfer=transfer, code=_code(b), place="卡口")
    transfers.transfer_scan(actor=setup.staff, transfer=transfer, code=_code(b), place="大门")
    transfer.refresh_from_db()
    assert transfer.state == "completed" and transfer.finished_at is not None


def test_nobody_is_in_two_places(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User
) -> None:
    a = _housed(tree, users, setup, "甲")
    transfer = _dispatch(users, setup, driver, [a])
    stay = Stay.objects.get(measure=a)
    with pytest.raises(Conflict, match=transfer.code):
        stays.stay_check_in(actor=setup.staff, stay=stay)
    with pytest.raises(Conflict, match=transfer.code):
        _dispatch(users, setup, driver, [a])
    # cancelled, the person is off the vehicle and the site may check them in
    transfers.transfer_cancel(actor=users["district_a"], transfer=transfer, reason="改派")
    assert stays.stay_check_in(actor=setup.staff, stay=stay).state == StayState.CHECKED_IN


def test_an_open_transfer_past_its_deadline_is_overdue(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User
) -> None:
    late = _dispatch(users, setup, driver, [_housed(tree, users, setup, "甲")])
    on_time = _dispatch(users, setup, driver, [_housed(tree, users, setup, "乙")], hours=5)
    Transfer.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(minutes=1))
    office = users["district_a"]
    assert [t.pk for t in sel.transfer_list(actor=office, overdue=True)] == [late.pk]
    flags = {t.pk: t.overdue for t in sel.transfer_list(actor=office)}
    assert flags == {late.pk: True, on_time.pk: False}
    assert [t.pk for t in sel.transfer_list(actor=driver, mine=True)] == [late.pk, on_time.pk]


def test_bad_dispatch_and_bad_scans_are_named(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User
) -> None:
    a = _housed(tree, users, setup, "甲")
    with pytest.raises(FieldError, match=zh("the deadline must be in the future")):
        _dispatch(users, setup, driver, [a], hours=-1)
    not_a_driver = UserFactory(username="lab_x", role=Role.LAB, institution=tree.lab)
    with pytest.raises(FieldError, match=zh("this user cannot drive a transfer here")):
        _dispatch(users, setup, not_a_driver, [a])
    transfer = _dispatch(users, setup, driver, [a])
    stranger = quarantined(tree.community_a1, name="路人")
    with pytest.raises(FieldError, match=transfer.code):
        transfers.transfer_scan(actor=driver, transfer=transfer, code=_code(stranger), place="x")
    with pytest.raises(FieldError, match=zh("say where the handover takes place")):
        transfers.transfer_scan(actor=driver, transfer=transfer, code=_code(a), place=" ")
    transfers.transfer_scan(actor=driver, transfer=transfer, code=_code(a), place="卡口")
    # delivery at a site is the site's to scan: a town cannot receive for it
    with pytest.raises(Forbidden):
        transfers.transfer_scan(
            actor=users["town_a1"], transfer=transfer, code=_code(a), place="门"
        )
    with pytest.raises(Forbidden):
        _dispatch({"district_a": users["town_a1"]}, setup, driver, [a])


def test_the_api_round_trip_and_a_sibling_sees_nothing(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User, api_as: Any
) -> None:
    a = _housed(tree, users, setup, "欧阳明")
    body = {
        "measure_ids": [a.pk], "pickup_kind": "station", "pickup_place": "高铁站出站口",
        "destination_kind": "site", "destination_site_id": setup.site.pk, "vehicle": "浙A·D1",
        "driver_id": driver.pk, "escort": "李护士",
        "deadline": (timezone.now() + dt.timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    r = api_as("district_a").post(BASE, body)
    assert r.status_code == 201, r.json()
    made = r.json()
    assert made["legs"][0]["person_name"] == "欧*明" and made["persons"] == 1
    scan = api_client(driver).post(f"{BASE}/{made['id']}/scan", {"code": "FK1:nope", "place": "站"})
    assert scan.status_code == 422
    ok = api_client(driver).post(f"{BASE}/{made['id']}/scan", {"code": _code(a), "place": "站"})
    assert ok.status_code == 200 and ok.json()["transfer"]["state"] == "under_way"
    assert api_as("district_b").get(f"{BASE}/{made['id']}").status_code == 404
    assert api_as("town_a2").get(BASE).json()["count"] == 0  # a resident of A1
    assert api_as("town_a1").get(BASE).json()["count"] == 1
    again = api_as("district_a").post(BASE, body)
    assert again.status_code == 409


def test_the_pages_dispatch_scan_and_land_the_driver_on_their_trips(
    tree: Tree, users: dict[str, User], setup: SiteSetup, driver: User
) -> None:
    a = _housed(tree, users, setup, "甲")
    office = Client()
    office.force_login(users["district_a"])
    listing = office.get("/quarantine/transfers/")
    assert listing.status_code == 200 and 'data-testid="dispatch-form"' in listing.content.decode()
    deadline = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "transfer-measures": [a.pk], "transfer-pickup_kind": "checkpoint",
        "transfer-pickup_place": "卡口", "transfer-destination_site": setup.site.pk,
        "transfer-vehicle": "浙A·1", "transfer-driver": driver.pk, "transfer-escort": "医生",
        "transfer-deadline": deadline,
    }  # fmt: skip
    missing = office.post("/quarantine/transfers/", {**form, "transfer-escort": ""})
    assert missing.status_code == 422
    made = office.post("/quarantine/transfers/", form)
    assert made.status_code == 302
    transfer = Transfer.objects.get()
    crew = Client()
    crew.force_login(driver)
    assert crew.get("/").url == "/quarantine/transfers/mine/"
    mine = crew.get("/quarantine/transfers/mine/").content.decode()
    assert transfer.code in mine
    wrong = crew.post(
        f"/quarantine/transfers/{transfer.pk}/scan/", {"code": "FK1:zz", "place": "卡口"}
    )
    assert wrong.status_code == 422
    assert zh("this code is not on transfer %(code)s", code=transfer.code) in wrong.content.decode()
    ok = crew.post(
        f"/quarantine/transfers/{transfer.pk}/scan/", {"code": _code(a), "place": "卡口"}
    )
    assert ok.status_code == 302
    sibling = Client()
    sibling.force_login(users["district_b"])
    assert sibling.get(f"/quarantine/transfers/{transfer.pk}/").status_code == 404
