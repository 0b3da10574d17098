"""The batch scan ingest: exactly-once under retries and concurrency, per-scan errors, scope."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.core.models import Institution, Region, Role, User
from fangkong.masstesting.models import Campaign, RegistrationCode, SamplingPoint, Scan, Tube
from fangkong.masstesting.sampling.services.codes import registration_code_for
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.factories import Tree, UserFactory

URL = "/api/v1/masstesting/scans/batch"


def persons(region: Region, n: int) -> list[str]:
    """n persons with registration codes, in bulk: the ingest is under test, not the vault."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        Person(
            name="p",
            id_type="resident_id",
            id_number_ct="x",
            id_number_bidx=f"{tag}{i}",
            id_number_mask="1***",
            region=region,
            region_path=region.path,
        )
        for i in range(n)
    ]
    Person.objects.bulk_create(rows)
    created = Person.objects.filter(id_number_bidx__startswith=tag)
    return [registration_code_for(person=p).token for p in created]


@pytest.fixture
def setup(tree: Tree, users: dict[str, User]) -> dict[str, Any]:
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="全员核酸",
        region=tree.district_a,
        pool_size=10,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=23),
    )
    inst = Institution.objects.create(
        code="SP1", name="东一采样点", kind="sampling_point", region=tree.community_a1
    )
    point = SamplingPoint.objects.create(
        campaign=campaign, name="东一采样点", region=tree.community_a1, institution=inst
    )
    other = SamplingPoint.objects.create(
        campaign=campaign, name="南一采样点", region=tree.community_a2
    )
    sampler = UserFactory(username="sampler1", role=Role.SAMPLER, institution=inst)
    users["sampler"] = sampler
    return {"campaign": campaign, "point": point, "other": other, "sampler": sampler}


def scans_for(tokens: list[str], prefix: str = "T") -> list[dict[str, Any]]:
    return [{"barcode": f"{prefix}{i // 10:05d}", "token": t} for i, t in enumerate(tokens)]


def post(api: Any, point: SamplingPoint, scans: list[dict[str, Any]], key: str) -> Any:
    client = api.client
    return client.post(
        URL,
        {"point_id": point.pk, "scans": scans},
        content_type="application/json",
        headers={**api.headers, "Idempotency-Key": key},
    )


def test_batch_three_times_same_answer_no_duplicates(setup: Any, tree: Tree, api_as: Any) -> None:
    tokens = persons(tree.community_a1, 25)
    api = api_as("sampler")
    answers = [post(api, setup["point"], scans_for(tokens), "k1") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    bodies = [a.json() for a in answers]
    assert bodies[0]["counts"] == {"accepted": 25, "duplicate": 0, "rejected": 0}
    assert [b["results"] for b in bodies] == [bodies[0]["results"]] * 3
    assert [b["replayed"] for b in bodies] == [False, True, True]
    assert Scan.objects.count() == 25
    assert sorted(Tube.objects.values_list("members", flat=True)) == [5, 10, 10]


def test_same_key_different_body_is_409(setup: Any, tree: Tree, api_as: Any) -> None:
    tokens = persons(tree.community_a1, 3)
    api = api_as("sampler")
    assert post(api, setup["point"], scans_for(tokens), "k").status_code == 200
    assert post(api, setup["point"], scans_for(tokens[:2]), "k").status_code == 409


def test_same_people_under_new_key_are_duplicates(setup: Any, tree: Tree, api_as: Any) -> None:
    tokens = persons(tree.community_a1, 4)
    api = api_as("sampler")
    post(api, setup["point"], scans_for(tokens), "a")
    body = post(api, setup["point"], scans_for(tokens, "U"), "b").json()
    assert body["counts"] == {"accepted": 0, "duplicate": 4, "rejected": 0}
    assert {r["reason"] for r in body["results"]} == {"already_sampled"}
    assert Scan.objects.count() == 4


def test_bad_items_rejected_rest_accepted(setup: Any, tree: Tree, api_as: Any) -> None:
    tokens = persons(tree.community_a1, 13)
    outsider = persons(tree.community_b1, 1)[0]
    api = api_as("sampler")
    post(api, setup["point"], [{"barcode": "C1", "token": tokens[12], "action": "close"}], "c")
    Tube.objects.create(
        campaign=setup["campaign"],
        barcode="OTHER",
        point=setup["other"],
        capacity=10,
        opened_at=timezone.now(),
    )
    scans = [{"barcode": "FULL", "token": t} for t in tokens[:11]]
    scans += [
        {"barcode": "FULL", "token": "no-such-code"},
        {"barcode": "C1", "token": tokens[11]},
        {"barcode": "OTHER", "token": tokens[11]},
        {"barcode": "", "token": tokens[11]},
        {"barcode": "X", "token": outsider},
    ]
    body = post(api, setup["point"], scans, "bad").json()
    reasons = [r["reason"] for r in body["results"]]
    assert reasons[:10] == [""] * 10
    assert reasons[10:] == [
        "tube_full",
        "unknown_code",
        "tube_closed",
        "wrong_point",
        "malformed",
        "wrong_campaign",
    ]
    assert all(r["message"] for r in body["results"][10:])
    assert body["counts"] == {"accepted": 10, "duplicate": 0, "rejected": 6}
    assert Tube.objects.get(barcode="FULL").members == 10


def test_too_many_scans_is_413_and_key_required(setup: Any, api_as: Any) -> None:
    api = api_as("sampler")
    scans = [{"barcode": "T", "token": "x"}] * 5001
    assert post(api, setup["point"], scans, "big").status_code == 413
    response = api.client.post(
        URL, {"point_id": setup["point"].pk, "scans": []}, content_type="application/json",
        headers=api.headers,
    )  # fmt: skip
    assert response.status_code == 422
    assert not Scan.objects.exists()


def test_scope_sampler_sees_own_point_sibling_sees_nothing(
    setup: Any, tree: Tree, api_as: Any
) -> None:
    tokens = persons(tree.community_a1, 2)
    post(api_as("sampler"), setup["point"], scans_for(tokens), "s")
    sampler = api_as("sampler")
    assert [p["id"] for p in sampler.get("/api/v1/masstesting/points").json()["items"]] == [
        setup["point"].pk
    ]
    assert post(sampler, setup["other"], scans_for(tokens), "o").status_code == 404
    town_b = UserFactory(username="town_b1", role=Role.TOWN, region=tree.town_b1)
    from fangkong.core.services import api_token_issue
    from tests.clients import ApiClient

    sibling = ApiClient(api_token_issue(user=town_b))
    cid, pid = setup["campaign"].pk, setup["point"].pk
    assert sibling.get(f"/api/v1/masstesting/campaigns/{cid}").status_code == 404
    assert sibling.get(f"/api/v1/masstesting/points/{pid}").status_code == 404
    assert sibling.get("/api/v1/masstesting/campaigns").json()["count"] == 0
    assert sibling.get("/api/v1/masstesting/tubes").json()["count"] == 0
    tube = Tube.objects.get()
    assert sibling.get(f"/api/v1/masstesting/tubes/{tube.pk}").status_code == 404
    town_a2 = api_as("town_a2")
    assert town_a2.get("/api/v1/masstesting/tubes").json()["count"] == 0
    assert api_as("district_a").get("/api/v1/masstesting/tubes").json()["count"] == 1


def _ingest_queries(setup: Any, tokens: list[str], key: str) -> int:
    scans = [ScanIn(barcode=s["barcode"], token=s["token"]) for s in scans_for(tokens, key)]
    point = SamplingPoint.objects.select_related("campaign__region").get(pk=setup["point"].pk)
    with CaptureQueriesContext(connection) as ctx:
        result = scan_batch_ingest(
            actor=setup["sampler"], point=point, idempotency_key=key, scans=scans
        )
    assert result.counts["accepted"] == len(tokens)
    return len(ctx.captured_queries)


def test_ingest_query_count_constant(setup: Any, tree: Tree) -> None:
    small = _ingest_queries(setup, persons(tree.community_a1, 10), "q1")
    large = _ingest_queries(setup, persons(tree.community_a1, 120), "q2")
    assert small == large
    # savepoint + batch row, codes, tubes (lock, create, re-lock), seen, insert, tubes, batch;
    # PostgreSQL answers codes and seen in one join but stages the COPY in a temporary table
    assert small == 14


def test_list_query_counts(
    setup: Any, tree: Tree, api_as: Any, django_assert_num_queries: Any
) -> None:
    post(api_as("sampler"), setup["point"], scans_for(persons(tree.community_a1, 30)), "l")
    api = api_as("district_a")
    # auth (token joined to its user), then count + page
    for url in ("campaigns", "points", "tubes"):
        with django_assert_num_queries(3):
            assert api.get(f"/api/v1/masstesting/{url}").status_code == 200


def test_registration_code_is_stable_and_opaque(tree: Tree) -> None:
    persons(tree.community_a1, 1)
    person = Person.objects.get()
    code = registration_code_for(person=person)
    assert registration_code_for(person=person) == code
    assert len(code.token) == 22 and person.id_number_bidx not in code.token
    assert RegistrationCode.objects.count() == 1


def test_create_campaign_and_point(tree: Tree, api_as: Any) -> None:
    api = api_as("district_a")
    body = {
        "name": "全员核酸第一轮",
        "region_id": tree.district_a.pk,
        "pool_size": 10,
        "starts_at": timezone.now().isoformat(),
        "ends_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
    }
    created = api.post("/api/v1/masstesting/campaigns", body)
    assert created.status_code == 201
    cid = created.json()["id"]
    point = {"name": "东一", "region_id": tree.community_a1.pk, "grid_ids": [tree.grid_a1.pk]}
    assert api.post(f"/api/v1/masstesting/campaigns/{cid}/points", point).status_code == 201
    assert api.post("/api/v1/masstesting/campaigns", {**body, "pool_size": 7}).status_code == 422
    other = {**body, "region_id": tree.district_b.pk}
    assert api.post("/api/v1/masstesting/campaigns", other).status_code == 404
    assert api_as("lab").post("/api/v1/masstesting/campaigns", body).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_store_once(setup: Any, tree: Tree) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite in-memory cannot run concurrent writers")
    point = setup["point"]
    tokens = persons(tree.community_a1, 40)
    actor = setup["sampler"]
    same = [ScanIn(barcode=s["barcode"], token=s["token"]) for s in scans_for(tokens)]
    shifted = [ScanIn(barcode=s["barcode"], token=s["token"]) for s in scans_for(tokens, "Z")]
    jobs = [("same", same)] * 3 + [("other", shifted)] * 2
    answers: list[Any] = []
    barrier = threading.Barrier(len(jobs))

    def run(key: str, scans: list[ScanIn]) -> None:
        barrier.wait()
        try:
            answers.append((key, scan_batch_ingest(
                actor=actor, point=point, idempotency_key=key, scans=scans
            )))  # fmt: skip
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 5
    assert Scan.objects.count() == 40
    same_answers = [r for k, r in answers if k == "same"]
    assert len({(r.batch_id, str(r.exceptions)) for r in same_answers}) == 1
    total = {k: r.counts["accepted"] for k, r in answers if not r.replayed}
    assert sum(total.values()) == 40
    assert sum(Tube.objects.values_list("members", flat=True)) == 40


def test_overload_is_shed_with_429(setup: Any, tree: Tree, api_as: Any, monkeypatch: Any) -> None:
    from fangkong.masstesting.sampling import api as mt_api

    monkeypatch.setattr(mt_api, "_INFLIGHT", threading.BoundedSemaphore(1))
    mt_api._INFLIGHT.acquire()  # one batch already in flight, the limit is one
    tokens = persons(tree.community_a1, 2)
    response = post(api_as("sampler"), setup["point"], scans_for(tokens), "busy")
    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert not Scan.objects.exists()
    mt_api._INFLIGHT.release()
    assert post(api_as("sampler"), setup["point"], scans_for(tokens), "busy").status_code == 200


def test_key_group_campaign_rejects_persons_outside_its_groups(
    setup: Any, tree: Tree, api_as: Any
) -> None:
    from tests.factories.masstesting import persons_with_codes

    campaign = setup["campaign"]
    campaign.key_groups = ["cold_chain"]
    campaign.save()
    targeted = persons_with_codes(tree.community_a1, 2, key_group="cold_chain")
    others = persons_with_codes(tree.community_a1, 1, key_group="medical")
    others += persons_with_codes(tree.community_a1, 1)
    body = post(api_as("sampler"), setup["point"], scans_for(targeted + others), "kg").json()
    assert [r["reason"] for r in body["results"]] == ["", "", "not_targeted", "not_targeted"]
    assert body["results"][2]["message"]
    assert Scan.objects.count() == 2


def test_open_with_pool_size_sets_capacity(setup: Any, tree: Tree, api_as: Any) -> None:
    campaign = setup["campaign"]
    campaign.group_pool_sizes = {"medical": 1}
    campaign.save()
    tokens = persons(tree.community_a1, 3)
    scans = [
        {"barcode": "S1", "action": "open", "pool_size": 1},
        {"barcode": "S1", "token": tokens[0]},
        {"barcode": "S1", "token": tokens[1]},
        {"barcode": "S2", "action": "open", "pool_size": 7},
        {"barcode": "S3", "action": "open", "pool_size": "x"},
        {"barcode": "S4", "action": "open"},
        {"barcode": "S4", "token": tokens[2]},
    ]
    api = api_as("sampler")
    body = post(api, setup["point"], scans, "ps").json()
    reasons = [r["reason"] for r in body["results"]]
    assert reasons == ["", "", "tube_full", "bad_pool_size", "bad_pool_size", "", ""]
    capacities = dict(Tube.objects.values_list("barcode", "capacity"))
    assert capacities["S1"] == 1 and capacities["S4"] == 10
    # the same body again is a replay, not a conflict: pool_size is part of a stable hash
    assert post(api, setup["point"], scans, "ps").json()["replayed"] is True
    # an old client's body (no pool_size anywhere) hashes as it always did
    import hashlib
    import json

    from fangkong.masstesting.sampling.services.ingest import body_hash

    old = [ScanIn(barcode="A", token="t", action="add")]
    before = json.dumps([1, [["A", "t", "", "add"]]], separators=(",", ":"))
    assert body_hash(1, old) == hashlib.sha256(before.encode()).hexdigest()


def test_scan_times_from_a_wrong_clock_are_refused(setup: Any, tree: Tree, api_as: Any) -> None:
    tokens = persons(tree.community_a1, 4)
    now = timezone.now()
    scans = [
        {"barcode": "W1", "token": tokens[0], "scanned_at": now.isoformat()},
        {
            "barcode": "W1",
            "token": tokens[1],
            "scanned_at": (now + dt.timedelta(days=2)).isoformat(),
        },
        {
            "barcode": "W1",
            "token": tokens[2],
            "scanned_at": (now - dt.timedelta(days=9)).isoformat(),
        },
        {"barcode": "W1", "token": tokens[3], "scanned_at": now.replace(tzinfo=None).isoformat()},
    ]
    body = post(api_as("sampler"), setup["point"], scans, "clock").json()
    assert [r["reason"] for r in body["results"]] == ["", "bad_time", "bad_time", "bad_time"]
    assert Scan.objects.count() == 1
