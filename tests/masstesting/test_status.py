"""Results to people: the latest result derived from scans, tubes and recheck tasks, the
"negative within 48 h?" validity answer, and the status API with its scoping."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from fangkong.core.models import AuditEvent, Region, Role, User
from fangkong.masstesting.models import (
    Campaign,
    RecheckReason,
    RecheckStatus,
    RecheckTask,
    RegistrationCode,
    Scan,
    ScanBatch,
    Tube,
    TubeKind,
    TubeStatus,
)
from fangkong.masstesting.results.status import (
    SampleState,
    latest_results,
    person_samples,
    validity,
)
from fangkong.masstesting.sampling.services.ingest import ScanIn, scan_batch_ingest
from fangkong.people.models import Person
from tests.factories import Tree, UserFactory
from tests.factories.masstesting import MassTestingSetup, campaign_setup, persons_with_codes

NOW = dt.datetime(2026, 4, 4, 12, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def people(region: Region, n: int) -> list[Person]:
    tokens = persons_with_codes(region, n)
    codes = RegistrationCode.objects.filter(token__in=tokens).select_related("person")
    by_token = {c.token: c.person for c in codes}
    return [by_token[t] for t in tokens]


def new_campaign(mt: MassTestingSetup, name: str = "第二轮") -> Campaign:
    c = mt.campaign
    return Campaign.objects.create(
        name=name, region=c.region, pool_size=10, starts_at=c.starts_at, ends_at=c.ends_at
    )


def sample(
    mt: MassTestingSetup,
    person: Person,
    at: dt.datetime,
    result: str = "",
    *,
    capacity: int = 10,
    campaign: Campaign | None = None,
    kind: str = TubeKind.POOL,
) -> Tube:
    """One scan of `person` into a fresh tube (rows written directly, at an exact time)."""
    campaign = campaign or mt.campaign
    n = next(_seq)
    tube = Tube.objects.create(
        campaign=campaign,
        barcode=f"S{n:06d}",
        point=mt.point,
        capacity=capacity,
        members=1,
        status=TubeStatus.RESULTED if result else TubeStatus.CLOSED,
        opened_at=at,
        kind=kind,
        result=result,
        resulted_at=at + dt.timedelta(hours=6) if result else None,
    )
    batch = ScanBatch.objects.create(point=mt.point, idempotency_key=f"k{n}", body_hash="x")
    Scan.objects.create(
        campaign=campaign,
        tube=tube,
        person=person,
        token="t",
        point=mt.point,
        batch=batch,
        scanned_at=at,
    )
    return tube


def recheck(
    mt: MassTestingSetup,
    person: Person,
    source: Tube,
    sampled_at: dt.datetime | None,
    result: str = "",
    *,
    status: str = "",
    sample_tube: Tube | None = None,
) -> RecheckTask:
    if not status:
        status = (
            RecheckStatus.RESULTED
            if result
            else (RecheckStatus.SAMPLED if sampled_at else RecheckStatus.OPEN)
        )
    return RecheckTask.objects.create(
        campaign=source.campaign,
        person=person,
        source_tube=source,
        region=person.region,
        region_path=person.region_path,
        reason=RecheckReason.POSITIVE_POOL,
        status=status,
        sampled_at=sampled_at,
        sample_tube=sample_tube,
        result=result,
        resulted_at=sampled_at + dt.timedelta(hours=4) if result and sampled_at else None,
    )


def state_of(person: Person) -> str:
    return str(latest_results(person_ids=[person.pk])[person.pk].state)


H = dt.timedelta(hours=1)


# ---------------------------------------------------------------- derivation, every state


def test_pool_states(tree: Tree, mt: MassTestingSetup) -> None:
    waiting, neg, pos, inv = people(tree.grid_a1, 4)
    sample(mt, waiting, NOW - H)
    sample(mt, neg, NOW - H, "negative")
    sample(mt, pos, NOW - H, "positive")
    sample(mt, inv, NOW - H, "invalid")
    latest = latest_results(person_ids=[waiting.pk, neg.pk, pos.pk, inv.pk])
    assert latest[waiting.pk].state == SampleState.AWAITING
    assert latest[waiting.pk].resulted_at is None
    assert latest[neg.pk].state == SampleState.NEGATIVE
    assert latest[neg.pk].resulted_at == NOW + 5 * H
    assert latest[neg.pk].campaign_name == "全员核酸"
    # a positive pool is not a positive person
    assert latest[pos.pk].state == SampleState.POOL_POSITIVE
    assert latest[inv.pk].state == SampleState.POOL_INVALID


def test_single_tube_states(tree: Tree, mt: MassTestingSetup) -> None:
    pos, inv, recheck_scan = people(tree.grid_a1, 3)
    sample(mt, pos, NOW - H, "positive", capacity=1)
    sample(mt, inv, NOW - H, "invalid", capacity=1)
    sample(mt, recheck_scan, NOW - H, "positive", capacity=1, kind=TubeKind.RECHECK)
    assert state_of(pos) == SampleState.POSITIVE
    assert state_of(inv) == SampleState.INVALID
    assert state_of(recheck_scan) == SampleState.POSITIVE


def test_never_sampled_is_absent(tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    assert latest_results(person_ids=[p.pk]) == {}
    assert latest_results(person_ids=[]) == {}


def test_recheck_follows_the_positive_pool(tree: Tree, mt: MassTestingSetup) -> None:
    opened, resampled, cleared, confirmed = people(tree.grid_a1, 4)
    for p in (opened, resampled, cleared, confirmed):
        pool = sample(mt, p, NOW - 10 * H, "positive")
        if p is opened:
            recheck(mt, p, pool, None)  # not resampled yet: still pool-positive
        elif p is resampled:
            recheck(mt, p, pool, NOW - 2 * H)
        elif p is cleared:
            recheck(mt, p, pool, NOW - 2 * H, "negative")
        else:
            recheck(mt, p, pool, NOW - 2 * H, "positive")
    assert state_of(opened) == SampleState.POOL_POSITIVE
    assert state_of(resampled) == SampleState.AWAITING
    assert state_of(cleared) == SampleState.NEGATIVE
    assert state_of(confirmed) == SampleState.POSITIVE
    assert latest_results(person_ids=[cleared.pk])[cleared.pk].recheck is True


def test_recheck_result_from_its_tube_and_counted_once(tree: Tree, mt: MassTestingSetup) -> None:
    """The task's result may lag its sample tube's; a scan into that tube is the same sample."""
    (p,) = people(tree.grid_a1, 1)
    pool = sample(mt, p, NOW - 10 * H, "invalid")
    other = new_campaign(mt)
    single = sample(
        mt, p, NOW - 2 * H, "negative", capacity=1, campaign=other, kind=TubeKind.RECHECK
    )
    recheck(mt, p, pool, NOW - 2 * H, status=RecheckStatus.SAMPLED, sample_tube=single)
    samples = person_samples(person_ids=[p.pk])[p.pk]
    assert [s.state for s in samples] == [SampleState.NEGATIVE, SampleState.POOL_INVALID]


def test_cancelled_recheck_is_ignored(tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    pool = sample(mt, p, NOW - 10 * H, "positive")
    recheck(mt, p, pool, NOW - 2 * H, "negative", status=RecheckStatus.CANCELLED)
    assert state_of(p) == SampleState.POOL_POSITIVE


def test_latest_is_the_most_recently_sampled(tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    sample(mt, p, NOW - 30 * H, "positive")
    sample(mt, p, NOW - 3 * H, campaign=new_campaign(mt, "第三轮"))
    latest = latest_results(person_ids=[p.pk])[p.pk]
    assert latest.state == SampleState.AWAITING
    assert latest.campaign_name == "第三轮"
    assert latest.sampled_at == NOW - 3 * H


def test_derived_from_the_batch_ingest(tree: Tree, mt: MassTestingSetup) -> None:
    tokens = persons_with_codes(tree.grid_a1, 3)
    scans = [ScanIn(barcode="B000001", token=t) for t in tokens]
    scan_batch_ingest(actor=mt.sampler, point=mt.point, idempotency_key="k", scans=scans)
    ids = list(RegistrationCode.objects.filter(token__in=tokens).values_list("person", flat=True))
    assert {str(r.state) for r in latest_results(person_ids=ids).values()} == {"awaiting"}
    Tube.objects.filter(barcode="B000001").update(result="negative", resulted_at=timezone.now())
    latest = latest_results(person_ids=ids)
    assert {str(r.state) for r in latest.values()} == {"negative"}


def test_latest_results_query_count_is_constant(
    tree: Tree, mt: MassTestingSetup, django_assert_num_queries: Any
) -> None:
    few, many = people(tree.grid_a1, 2), people(tree.grid_a1, 40)
    for i, p in enumerate([*few, *many]):
        pool = sample(mt, p, NOW - 5 * H, "positive" if i % 2 else "negative")
        if i % 2:
            recheck(mt, p, pool, NOW - H, "negative")
    with django_assert_num_queries(2):
        assert len(latest_results(person_ids=[p.pk for p in few])) == 2
    with django_assert_num_queries(2):
        latest = latest_results(person_ids=[p.pk for p in many])
    assert {str(r.state) for r in latest.values()} == {"negative"}


# ---------------------------------------------------------------- validity


def test_validity_48h_boundary(tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    taken = NOW - 48 * H
    sample(mt, p, taken, "negative")
    assert validity(person_id=p.pk, hours=48, now=NOW) == (True, taken)
    late = NOW + dt.timedelta(seconds=1)
    assert validity(person_id=p.pk, hours=48, now=late).valid is False
    assert validity(person_id=p.pk, hours=48, now=late).at is None
    assert validity(person_id=p.pk, hours=24, now=NOW).valid is False
    assert validity(person_id=p.pk, hours=72, now=NOW).at == taken


def test_validity_later_samples(tree: Tree, mt: MassTestingSetup) -> None:
    awaiting, invalid, pool_pos, positive, cleared = people(tree.grid_a1, 5)
    second = new_campaign(mt)
    for p in (awaiting, invalid, pool_pos, positive, cleared):
        sample(mt, p, NOW - 30 * H, "negative")
    sample(mt, awaiting, NOW - H, campaign=second)
    sample(mt, invalid, NOW - H, "invalid", campaign=second)
    sample(mt, pool_pos, NOW - H, "positive", campaign=second)
    sample(mt, positive, NOW - H, "positive", capacity=1, campaign=second)
    pool = sample(mt, cleared, NOW - 10 * H, "positive", campaign=second)
    recheck(mt, cleared, pool, NOW - 3 * H, "negative")

    def check(p: Person) -> tuple[bool, dt.datetime | None]:
        answer = validity(person_id=p.pk, now=NOW)
        return answer.valid, answer.at

    # awaiting or invalid later say nothing about the person: the earlier negative stands
    assert check(awaiting) == (True, NOW - 30 * H)
    assert check(invalid) == (True, NOW - 30 * H)
    assert check(pool_pos) == (False, None)
    assert check(positive) == (False, None)
    assert check(cleared) == (True, NOW - 3 * H)


def test_validity_without_a_negative(tree: Tree, mt: MassTestingSetup) -> None:
    never, waiting = people(tree.grid_a1, 2)
    sample(mt, waiting, NOW - H)
    assert validity(person_id=never.pk, now=NOW) == (False, None)
    assert validity(person_id=waiting.pk, now=NOW) == (False, None)


# ---------------------------------------------------------------- API

VALIDITY = "/api/v1/masstesting/status/validity"


@pytest.fixture
def negative_person(tree: Tree, mt: MassTestingSetup) -> tuple[Person, str, dt.datetime]:
    (p,) = people(tree.grid_a1, 1)
    taken = timezone.now().replace(microsecond=0) - 5 * H
    sample(mt, p, taken, "negative")
    return p, RegistrationCode.objects.get(person=p).token, taken


def test_validity_api_answers_only_yes_no_and_time(
    api_as: Any, users: dict[str, User], negative_person: Any
) -> None:
    _p, token, taken = negative_person
    users["checkpoint"] = UserFactory(
        username="gate", role=Role.DISTRICT, region=Region.objects.get(code="990102")
    )
    # a checkpoint of another district and a lab alike may check any code
    for who in ("checkpoint", "lab"):
        r = api_as(who).post(VALIDITY, {"token": token})
        assert r.status_code == 200, r.content
        body = r.json()
        assert set(body) == {"valid", "at"}
        assert body["valid"] is True
        assert dt.datetime.fromisoformat(body["at"]) == taken
    r = api_as("lab").post(VALIDITY, {"token": "FK1:" + token, "hours": 4})
    assert r.json() == {"valid": False, "at": None}


def test_validity_api_unknown_token_looks_like_no_negative(
    api_as: Any, negative_person: Any
) -> None:
    r = api_as("town_a2").post(VALIDITY, {"token": "nope-not-a-token"})
    assert r.status_code == 200
    assert r.json() == {"valid": False, "at": None}


def test_validity_api_bounds_and_auth(api_as: Any, negative_person: Any, tree: Tree) -> None:
    _p, token, _taken = negative_person
    assert api_as("town_a1").post(VALIDITY, {"token": token, "hours": 0}).status_code == 422
    assert api_as("town_a1").post(VALIDITY, {"token": token, "hours": 169}).status_code == 422
    assert api_as("town_a1").post(VALIDITY, {"token": token, "hours": 168}).status_code == 200
    from tests.clients import ApiClient

    assert ApiClient(None).post(VALIDITY, {"token": token}).status_code == 401


def test_validity_api_needs_a_unit_or_region(users: dict[str, User], negative_person: Any) -> None:
    from fangkong.core.services import api_token_issue
    from tests.clients import ApiClient

    nowhere = UserFactory(username="nowhere", role=Role.TOWN, region=None)
    r = ApiClient(api_token_issue(user=nowhere)).post(VALIDITY, {"token": negative_person[1]})
    assert r.status_code == 403


def test_person_latest_scoped(api_as: Any, negative_person: Any) -> None:
    p, _token, taken = negative_person
    url = f"/api/v1/masstesting/status/persons/{p.pk}/latest"
    r = api_as("town_a1").get(url)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "negative"
    assert dt.datetime.fromisoformat(body["sampled_at"]) == taken
    assert body["campaign_name"] == "全员核酸"
    for who in ("town_a2", "district_b", "lab", "admin"):
        assert api_as(who).get(url).status_code == 404, who


def test_person_latest_never_sampled(api_as: Any, tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    body = api_as("community_a1").get(f"/api/v1/masstesting/status/persons/{p.pk}/latest").json()
    assert body["state"] == "none"
    assert body["sampled_at"] is None


def test_person_code_scoped_and_audited(api_as: Any, tree: Tree, mt: MassTestingSetup) -> None:
    (p,) = people(tree.grid_a1, 1)
    RegistrationCode.objects.filter(person=p).delete()
    url = f"/api/v1/masstesting/status/persons/{p.pk}/code"
    for who in ("town_a2", "district_b", "admin", "sampler", "lab"):
        assert api_as(who).get(url).status_code == 404, who
    r = api_as("community_a1").get(url)
    assert r.status_code == 200
    token = RegistrationCode.objects.get(person=p).token
    assert r.json() == {"person_id": p.pk, "token": token, "payload": f"FK1:{token}"}
    assert api_as("town_a1").get(url).json()["token"] == token  # stable
    events = AuditEvent.objects.filter(action="masstesting.code_read", object_id=str(p.pk))
    assert events.count() == 2
