"""Issue 8: no answer tells an outsider that an ID is registered in another jurisdiction, nor
what name it is registered under, and no ID alone binds the wrong person.

Every test uses a town user (town A1) and a person registered in the sibling district B.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from fangkong.core.http import Conflict
from fangkong.core.models import AuditEvent, User
from fangkong.people.measures_models import ControlMeasure
from fangkong.people.models import ImportStatus
from fangkong.people.services.imports import import_job_create, import_job_run
from fangkong.screening.assistance_layout import COLUMNS
from fangkong.screening.models import ScreeningRecord
from fangkong.screening.services import arrivals as screening_services
from fangkong.screening.services import assistance
from fangkong.tracing.models import Exposure
from tests.clients import page_client
from tests.factories import Tree, make_person, make_resident_id
from tests.factories.screening import ensure_default_rules, make_screening, sheet_bytes
from tests.factories.tracing import confirmed_case

HEADER = [zh for _f, zh, _en in COLUMNS]
REGISTERED = "赵登记"  # the name district B registered the person under
ENTERED = "钱录入"  # the name the outsider types


@pytest.fixture(autouse=True)
def _seeded(db: Any, settings: Any, tmp_path: Any) -> None:
    ensure_default_rules()
    settings.DATA_DIR = tmp_path


# ---------------------------------------------------------------- 1. assistance-request import


def test_assistance_items_show_what_the_uploader_entered_not_the_registered_name(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    id_number = make_resident_id()
    elsewhere = make_person(tree.community_b1, name=REGISTERED, id_number=id_number)
    # no region on the row: it stays in town A1's own queue, bound to district B's person
    row = [ENTERED, id_number, "13912345678", "某路1号", "", "", "", "密接", ""]
    request = assistance.assistance_import(
        actor=users["town_a1"],
        info=assistance.RequestInfo(from_jurisdiction="外市指挥部"),
        filename="list.xlsx",
        content=sheet_bytes(HEADER, [row]),
    )

    items = api_as("town_a1").get(f"/api/v1/screening/assistance-requests/{request.pk}/items")
    assert items.status_code == 200
    (item,) = items.json()["results"]
    assert item["name"] == ENTERED
    assert item["person_id"] is None  # district B's person id is not the town's to know
    assert REGISTERED not in items.content.decode()
    assert REGISTERED[0] + "*" not in items.content.decode()  # nor its mask

    page = page_client(users["town_a1"]).get(f"/screening/assistance/{request.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ENTERED in html and REGISTERED not in html
    assert f"/people/{elsewhere.pk}/" not in html
    record = ScreeningRecord.objects.get(assistance_item__request=request)
    screening = api_as("town_a1").get(f"/api/v1/screening/screenings/{record.pk}").json()
    assert screening["name"] == ENTERED and screening["person_id"] is None
    detail = page_client(users["town_a1"]).get(reverse("screening:detail", args=[record.pk]))
    assert detail.status_code == 200
    assert reverse("people:person_detail", args=[elsewhere.pk]) not in detail.content.decode()

    # the district that owns the person, reading the same request, is the importer's parent's
    # sibling: it sees nothing of the request at all
    other = api_as("district_b").get(f"/api/v1/screening/assistance-requests/{request.pk}/items")
    assert other.status_code == 404


# ---------------------------------------------------------------- 2a. registering a person


def test_registering_an_id_held_elsewhere_is_referred_not_refused(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    id_number = make_resident_id()
    elsewhere = make_person(tree.community_b1, name=REGISTERED, id_number=id_number)
    api = api_as("town_a1")
    r = api.post(
        "/api/v1/people",
        {"name": ENTERED, "id_number": id_number, "region_code": tree.community_a1.code},
    )
    assert r.status_code == 202, r.content
    body = r.json()
    assert set(body) == {"detail", "existing"} and body["existing"] is None
    text = r.content.decode()
    for secret in (REGISTERED, elsewhere.region.name, elsewhere.region.code, "another juris"):
        assert secret not in text
    # the referral reaches the command office over the owner, naming both sides
    event = AuditEvent.objects.get(action="person.registration_referred")
    assert event.object_id == str(elsewhere.pk)
    assert event.details["to_region"] == tree.community_a1.code
    # nothing changed hands: the person stays where district B registered them
    elsewhere.refresh_from_db()
    assert elsewhere.region_id == tree.community_b1.pk and elsewhere.name == REGISTERED
    # the answer is the same for any ID held elsewhere, and names nobody
    id_two = make_resident_id()
    make_person(tree.town_b1, name="李另外", id_number=id_two)
    again = api.post(
        "/api/v1/people",
        {"name": ENTERED, "id_number": id_two, "region_code": tree.community_a1.code},
    )
    assert again.status_code == 202 and again.json() == body
    assert "李另外" not in again.content.decode()


# ---------------------------------------------------------------- 2b. person import counters


def test_import_counts_documents_held_elsewhere_like_new_ones(
    tree: Tree, users: dict[str, User]
) -> None:
    own_id, far_id, new_id = make_resident_id(), make_resident_id(), make_resident_id()
    make_person(tree.community_a1, name="本镇已登记", id_number=own_id)
    far = make_person(tree.community_b1, name=REGISTERED, id_number=far_id)
    header = "name,id_type,id_number,phone,address,community"
    lines = [header] + [
        f"{name},resident_id,{number},13912345678,某路1号,{tree.community_a1.code}"
        for name, number in (("本镇已登记", own_id), (ENTERED, far_id), ("新人", new_id))
    ]
    content = ("\r\n".join(lines) + "\r\n").encode()
    job = import_job_create(
        actor=users["town_a1"], filename="list.csv", content=content, enqueue=False
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    # only the town's own resident is "already registered"; district B's is counted with the
    # new ones, exactly as if the number had never been seen
    assert (job.existing_count, job.created_count, job.error_count) == (1, 2, 0)
    far.refresh_from_db()
    assert far.region_id == tree.community_b1.pk and far.name == REGISTERED
    event = AuditEvent.objects.get(action="person.registration_referred")
    assert (event.object_id, event.details["persons"]) == (str(job.pk), [far.pk])


# ---------------------------------------------------------------- 2c. exposures by ID alone


def _town_case(tree: Tree, users: dict[str, User]) -> Any:
    index = make_person(tree.community_a1, name="病例本人", id_number=make_resident_id())
    return confirmed_case(actor=users["town_a1"], person=index)


def test_exposure_by_id_binds_an_outsider_only_when_the_name_matches(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    case = _town_case(tree, users)
    far_id = make_resident_id()
    far = make_person(tree.community_b1, name=REGISTERED, id_number=far_id)
    day = timezone.localdate().isoformat()
    items: list[Any] = [
        {"contact": {"id_number": far_id, "name": ENTERED}, "context": "venue", "day": day},
        {"contact": {"id_number": far_id}, "context": "workplace", "day": day},
        # the registered name, typed with a full-width space: normalised, it matches
        {
            "contact": {"id_number": far_id, "name": " 赵\u3000登记"},
            "context": "vehicle",
            "day": day,
        },
    ]
    r = api_as("town_a1").post(f"/api/v1/tracing/cases/{case.pk}/exposures", {"items": items})
    assert r.status_code == 200, r.content
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["error", "error", "created"]
    assert REGISTERED not in r.content.decode()
    # no exposure ties the wrong contact to district B's person
    assert list(Exposure.objects.values_list("context", flat=True)) == ["vehicle"]
    bound = Exposure.objects.get()
    assert {bound.person_a_id, bound.person_b_id} == {far.pk, case.person_id}
    # the unmatched entries are referred to the command office over both, not dropped
    event = AuditEvent.objects.get(action="exposure.contact_referred")
    assert event.details["persons"] == [far.pk, far.pk]


# ---------------------------------------------------------------- 2d. confirming a screening


def test_screening_confirm_binds_a_registered_id_only_when_the_name_matches(
    tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    far_id = make_resident_id()
    far = make_person(tree.community_b1, name=REGISTERED, id_number=far_id)
    record = make_screening(users["town_a1"], tree.community_a1, name=ENTERED, id_number=far_id)
    api = api_as("town_a1")
    r = api.post(f"/api/v1/screening/screenings/{record.pk}/confirm")
    assert r.status_code == 409, r.content
    assert REGISTERED not in r.content.decode()
    record.refresh_from_db()
    assert (record.status, record.person_id, record.measure_id) == ("pending", None, None)
    assert not ControlMeasure.objects.filter(person=far).exists()
    # flagged for review: the command office sees which record and which registration
    event = AuditEvent.objects.get(action="screening.needs_review")
    assert event.object_id == str(record.pk) and event.details["person"] == far.pk

    # the registered name, normalised (half-width, spaces), binds the registered person
    same = make_screening(users["town_a1"], tree.community_a1, name="赵 登记", id_number=far_id)
    r = api.post(f"/api/v1/screening/screenings/{same.pk}/confirm")
    assert r.status_code == 200, r.content
    same.refresh_from_db()
    assert same.person_id == far.pk


def test_assistance_row_under_another_name_is_not_confirmed_onto_the_holder(
    tree: Tree, users: dict[str, User]
) -> None:
    far_id = make_resident_id()
    make_person(tree.community_b1, name=REGISTERED, id_number=far_id)
    row = [ENTERED, far_id, "13912345678", "某路1号", "", "", "", "密接", ""]
    request = assistance.assistance_import(
        actor=users["town_a1"],
        info=assistance.RequestInfo(from_jurisdiction="外市指挥部"),
        filename="list.xlsx",
        content=sheet_bytes(HEADER, [row]),
    )
    record = ScreeningRecord.objects.get(assistance_item__request=request)
    with pytest.raises(Conflict):
        screening_services.screening_confirm(actor=users["town_a1"], record=record)
    record.refresh_from_db()
    assert record.status == "pending" and record.measure_id is None
