"""Transport and lab receipt: boxes packed from closed tubes, handed over, received by scan;
a lab sees only what was handed to it, a sampler only its own point."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from fangkong.core.http import Conflict, Forbidden
from fangkong.core.models import Institution, Role, User
from fangkong.core.validators import FieldError
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.models import BoxStatus, TransferBox, Tube, TubeStatus
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from tests.clients import ApiClient, api_client
from tests.factories import Tree, UserFactory
from tests.factories.masstesting import MassTestingSetup, campaign_setup, persons_with_codes

BOXES = "/api/v1/masstesting/lab/boxes"
TUBES = "/api/v1/masstesting/lab/tubes"
RECEIVE = "/api/v1/masstesting/lab/receive"


def fill_tubes(
    setup: MassTestingSetup, tree: Tree, n: int, *, per: int = 3, prefix: str = "T", close=True
) -> list[str]:
    """n tubes at the setup's point, `per` people each, closed; their barcodes."""
    tokens = persons_with_codes(tree.community_a1, n * per)
    scans = []
    barcodes = [f"{prefix}{i:04d}" for i in range(n)]
    for i, barcode in enumerate(barcodes):
        chunk = tokens[i * per : (i + 1) * per]
        for j, token in enumerate(chunk):
            last = close and j == len(chunk) - 1
            scans.append(ScanIn(barcode=barcode, token=token, action="close" if last else "add"))
    result = scan_batch_ingest(
        actor=setup.sampler, point=setup.point, idempotency_key=f"fill-{prefix}", scans=scans
    )
    assert result.counts["accepted"] == n * per
    return barcodes


def second_lab(tree: Tree, users: dict[str, User]) -> Institution:
    lab2 = Institution.objects.create(code="LAB2", name="第二检测所", kind="lab", region=tree.city)
    users["lab2"] = UserFactory(username="lab2", role=Role.LAB, institution=lab2)
    return lab2


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def pack(api: ApiClient, mt: MassTestingSetup, lab: Institution, code: str, barcodes: list[str]):
    body = {"point_id": mt.point.pk, "lab_id": lab.pk, "code": code, "tube_barcodes": barcodes}
    return api.post(BOXES, body)


def test_box_flow_pack_hand_over_receive(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    barcodes = fill_tubes(mt, tree, 3)
    sampler, lab = api_client(mt.sampler), api_as("lab")
    created = pack(sampler, mt, tree.lab, "BOX-1", barcodes)
    assert created.status_code == 201, created.json()
    box = created.json()
    assert (box["status"], box["tube_count"], box["lab_name"]) == ("packed", 3, "示范检测所")
    assert set(Tube.objects.values_list("status", flat=True)) == {TubeStatus.BOXED}
    # packed but not handed over: the lab sees the box coming, none of its tubes yet
    assert lab.get(TUBES).json()["count"] == 0
    assert lab.get(f"{BOXES}/{box['id']}").json()["status"] == "packed"
    assert lab.post(RECEIVE, {"barcodes": barcodes[:1]}).json()["counts"]["unknown"] == 1
    handed = sampler.post(f"{BOXES}/{box['id']}/hand-over")
    assert handed.json()["status"] == "handed_over"
    assert sampler.post(f"{BOXES}/{box['id']}/hand-over").status_code == 409
    assert lab.get(TUBES).json()["count"] == 3
    answer = lab.post(RECEIVE, {"barcodes": [barcodes[0], barcodes[1], "NOPE", barcodes[0]]})
    assert answer.json()["results"] == [
        {"barcode": barcodes[0], "status": "received"},
        {"barcode": barcodes[1], "status": "received"},
        {"barcode": "NOPE", "status": "unknown"},
    ]
    again = lab.post(RECEIVE, {"barcodes": [barcodes[1], barcodes[2]]}).json()
    assert again["counts"] == {"received": 1, "already_received": 1, "unknown": 0}
    stored = TransferBox.objects.get()
    assert (stored.received_count, stored.status) == (3, BoxStatus.RECEIVED)
    assert stored.received_at is not None
    assert Tube.objects.filter(status=TubeStatus.RECEIVED, lab=tree.lab).count() == 3
    awaiting = lab.get(TUBES, awaiting_result="true").json()
    assert awaiting["count"] == 3 and awaiting["items"][0]["box_code"] == "BOX-1"


def test_box_received_count_partial(mt: MassTestingSetup, tree: Tree, users: Any) -> None:
    barcodes = fill_tubes(mt, tree, 4)
    box = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="B", tube_barcodes=barcodes
    )
    lab_services.box_hand_over(actor=mt.sampler, box=box)
    lab_services.tubes_receive(actor=users["lab"], lab=tree.lab, barcodes=barcodes[:2])
    box.refresh_from_db()
    assert (box.received_count, box.status) == (2, BoxStatus.HANDED_OVER)


def test_pack_rejects_bad_tubes_and_writes_nothing(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    closed = fill_tubes(mt, tree, 2)
    still_open = fill_tubes(mt, tree, 1, prefix="O", close=False)
    Tube.objects.create(
        campaign=mt.campaign, barcode="ELSE", point=mt.other, capacity=10,
        status=TubeStatus.CLOSED, opened_at=timezone.now(),
    )  # fmt: skip
    lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="B1", tube_barcodes=closed[:1]
    )
    with pytest.raises(FieldError) as err:
        lab_services.box_pack(
            actor=mt.sampler, point=mt.point, lab=tree.lab, code="B2",
            tube_barcodes=[closed[1], still_open[0], "ELSE", "MISSING", closed[0]],
        )  # fmt: skip
    assert err.value.field == "tube_barcodes"
    for barcode in (still_open[0], "ELSE", "MISSING", closed[0]):
        assert barcode in err.value.message
    assert TransferBox.objects.count() == 1
    assert Tube.objects.get(barcode=closed[1]).box_id is None
    with pytest.raises(FieldError) as dup:
        lab_services.box_pack(
            actor=mt.sampler, point=mt.point, lab=tree.lab, code="B1", tube_barcodes=closed[1:]
        )
    assert dup.value.field == "code"
    not_a_lab = Institution.objects.create(
        code="H1", name="医院", kind="hospital", region=tree.city
    )
    with pytest.raises(FieldError) as bad_lab:
        lab_services.box_pack(
            actor=mt.sampler, point=mt.point, lab=not_a_lab, code="B3", tube_barcodes=closed[1:]
        )
    assert bad_lab.value.field == "lab"
    with pytest.raises(FieldError):
        lab_services.box_pack(
            actor=mt.sampler, point=mt.point, lab=tree.lab, code="B4", tube_barcodes=[" "]
        )


def test_who_may_pack(mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any):
    barcodes = fill_tubes(mt, tree, 3)
    # a lab and a sibling town do not even see the point: 404, like a missing one
    assert pack(api_as("lab"), mt, tree.lab, "X", barcodes).status_code == 404
    assert pack(api_as("town_a2"), mt, tree.lab, "X", barcodes).status_code == 404
    assert pack(api_as("district_b"), mt, tree.lab, "X", barcodes).status_code == 404
    other_inst = Institution.objects.create(
        code="SP-X", name="别的采样点", kind="sampling_point", region=tree.community_a2
    )
    stranger = UserFactory(username="sampler_x", role=Role.SAMPLER, institution=other_inst)
    assert pack(api_client(stranger), mt, tree.lab, "X", barcodes).status_code == 404
    # a community user sees the point but does not plan transport: 403
    assert pack(api_as("community_a1"), mt, tree.lab, "X", barcodes).status_code == 403
    assert pack(api_as("district_a"), mt, tree.lab, "D1", barcodes[:1]).status_code == 201
    with pytest.raises(Forbidden):
        lab_services.box_pack(
            actor=users["lab"], point=mt.point, lab=tree.lab, code="L", tube_barcodes=barcodes
        )
    assert TransferBox.objects.count() == 1


def test_scope_lab_sees_only_tubes_handed_to_it(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    lab2 = second_lab(tree, users)
    barcodes = fill_tubes(mt, tree, 4)
    box1 = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="B1", tube_barcodes=barcodes[:2]
    )
    box2 = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=lab2, code="B2", tube_barcodes=barcodes[2:]
    )
    for box in (box1, box2):
        lab_services.box_hand_over(actor=mt.sampler, box=box)
    lab1, other = api_as("lab"), api_client(users["lab2"])
    assert {t["barcode"] for t in lab1.get(TUBES).json()["items"]} == set(barcodes[:2])
    assert {t["barcode"] for t in other.get(TUBES).json()["items"]} == set(barcodes[2:])
    assert [b["code"] for b in lab1.get(BOXES).json()["items"]] == ["B1"]
    assert lab1.get(f"{BOXES}/{box2.pk}").status_code == 404
    assert lab1.post(f"{BOXES}/{box2.pk}/hand-over").status_code == 404
    # receiving another lab's tube: unknown, nothing written
    answer = lab1.post(RECEIVE, {"barcodes": [barcodes[2]]}).json()
    assert answer["results"] == [{"barcode": barcodes[2], "status": "unknown"}]
    assert Tube.objects.get(barcode=barcodes[2]).received_at is None
    # the sampler sees its point's boxes; siblings and strangers see nothing
    assert api_client(mt.sampler).get(BOXES).json()["count"] == 2
    assert api_as("district_a").get(BOXES).json()["count"] == 2
    for who in ("town_a2", "district_b"):
        assert api_as(who).get(BOXES).json()["count"] == 0
        assert api_as(who).get(TUBES).json()["count"] == 0
        assert api_as(who).get(f"{BOXES}/{box1.pk}").status_code == 404
    other_inst = Institution.objects.create(
        code="SP-Y", name="别的采样点", kind="sampling_point", region=tree.community_a2
    )
    stranger = UserFactory(username="sampler_y", role=Role.SAMPLER, institution=other_inst)
    assert api_client(stranger).get(BOXES).json()["count"] == 0
    assert api_client(stranger).get(f"{BOXES}/{box1.pk}").status_code == 404
    # only labs receive
    assert api_client(mt.sampler).post(RECEIVE, {"barcodes": barcodes}).status_code == 403
    with pytest.raises(Forbidden):
        lab_services.tubes_receive(actor=users["lab2"], lab=tree.lab, barcodes=barcodes)


def test_hand_over_twice_conflicts(mt: MassTestingSetup, tree: Tree) -> None:
    barcodes = fill_tubes(mt, tree, 1)
    box = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=tree.lab, code="B", tube_barcodes=barcodes
    )
    lab_services.box_hand_over(actor=mt.sampler, box=box)
    with pytest.raises(Conflict):
        lab_services.box_hand_over(actor=mt.sampler, box=box)
    assert Tube.objects.get().lab_id == tree.lab.pk


def test_list_query_counts(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any,
    django_assert_num_queries: Any,
) -> None:  # fmt: skip
    barcodes = fill_tubes(mt, tree, 6)
    for i in range(3):
        box = lab_services.box_pack(
            actor=mt.sampler, point=mt.point, lab=tree.lab, code=f"B{i}",
            tube_barcodes=barcodes[2 * i : 2 * i + 2],
        )  # fmt: skip
        lab_services.box_hand_over(actor=mt.sampler, box=box)
    lab_services.tubes_receive(actor=users["lab"], lab=tree.lab, barcodes=barcodes)
    for who in ("lab", "district_a"):
        api = api_as(who)
        # auth (token joined to user, region, institution), then count + page
        for url in (BOXES, TUBES, "/api/v1/masstesting/lab/batches"):
            with django_assert_num_queries(3):
                assert api.get(url).status_code == 200
