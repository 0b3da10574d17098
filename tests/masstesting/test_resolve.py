"""Resolving lab results: recheck tasks per member of a positive or invalid pool, tests on the
measures of people under control, case proposals for positive single tubes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.core.models import AuditEvent, User
from fangkong.masstesting.models import RecheckTask, Tube, TubeKind
from fangkong.masstesting.results.services.rechecks import recheck_sample
from fangkong.masstesting.results.services.resolve import pools_resolve
from fangkong.people.measures_models import MeasureTest
from fangkong.tracing.models import Case, CaseSource, CaseStatus
from tests.factories import Tree
from tests.factories.masstesting import MassTestingSetup, campaign_setup
from tests.factories.measures import in_force
from tests.factories.rechecks import result_tube, resulted_pools

pytestmark = pytest.mark.django_db


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def ids(tubes: list[Tube]) -> list[int]:
    return [t.pk for t in tubes]


def test_three_positive_pools_give_thirty_tasks_in_the_right_grids(
    mt: MassTestingSetup, tree: Tree
) -> None:
    east = resulted_pools(mt.point, tree.grid_a1, tubes=2, result="positive")
    south = resulted_pools(mt.other, tree.grid_a2, tubes=1, result="positive")
    negative = resulted_pools(mt.point, tree.grid_a1, tubes=4, result="negative")

    summary = pools_resolve(tube_ids=ids(east + south + negative))

    assert summary.rechecks_created == 30
    tasks = RecheckTask.objects.all()
    assert tasks.count() == 30
    by_grid = {g: tasks.filter(region=g).count() for g in (tree.grid_a1, tree.grid_a2)}
    assert by_grid == {tree.grid_a1: 20, tree.grid_a2: 10}
    assert set(tasks.values_list("reason", "status", "at_home")) == {
        ("positive_pool", "open", False)
    }
    assert all(t.region_path == t.person.region_path for t in tasks.select_related("person"))
    assert set(tasks.values_list("source_tube_id", flat=True)) == set(ids(east + south))
    assert not tasks.filter(source_tube__in=negative).exists()
    assert AuditEvent.objects.filter(action="recheck.create", actor=None).count() == 1


def test_invalid_pool_gives_tasks(mt: MassTestingSetup, tree: Tree) -> None:
    tube = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="invalid")
    assert pools_resolve(tube_ids=ids(tube)).rechecks_created == 10
    assert set(RecheckTask.objects.values_list("reason", flat=True)) == {"invalid_pool"}


def test_resolving_again_creates_nothing(mt: MassTestingSetup, tree: Tree) -> None:
    tubes = resulted_pools(mt.point, tree.grid_a1, tubes=3, result="positive")
    pools_resolve(tube_ids=ids(tubes))
    again = pools_resolve(tube_ids=ids(tubes) + ids(tubes))
    assert again.rechecks_created == 0
    assert RecheckTask.objects.count() == 30


def test_unresulted_and_unknown_tubes_are_ignored(mt: MassTestingSetup, tree: Tree) -> None:
    tubes = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="")
    assert pools_resolve(tube_ids=[*ids(tubes), 999_999]).rechecks_created == 0
    assert pools_resolve(tube_ids=[]).rechecks_created == 0


def test_query_count_does_not_grow_with_the_number_of_tubes(
    mt: MassTestingSetup, tree: Tree
) -> None:
    warm = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    pools_resolve(tube_ids=ids(warm))  # the audit chain's head row is created once
    few = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    many = resulted_pools(mt.point, tree.grid_a1, tubes=8, result="positive")
    many += resulted_pools(mt.point, tree.grid_a1, tubes=8, result="negative")
    with CaptureQueriesContext(connection) as small:
        pools_resolve(tube_ids=ids(few))
    with CaptureQueriesContext(connection) as large:
        assert pools_resolve(tube_ids=ids(many)).rechecks_created == 80
    # savepoint, rechecks INSERT, pool members under control, single tubes, audit (4), release
    assert len(large.captured_queries) == len(small.captured_queries) == 11


def test_person_under_control_is_resampled_at_home_and_tests_recorded(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    positive = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    negative = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="negative")
    today = timezone.localdate()
    at_home = positive[0].scans.first().person
    calm = negative[0].scans.first().person
    m_home = in_force(at_home, users["town_a1"], start=today)
    m_calm = in_force(calm, users["town_a1"], start=today)

    summary = pools_resolve(tube_ids=ids(positive + negative))

    task = RecheckTask.objects.get(person=at_home)
    assert task.at_home is True
    assert RecheckTask.objects.filter(at_home=True).count() == 1
    # a positive pool says nothing yet about each member; a negative one does
    assert not MeasureTest.objects.filter(measure=m_home, result__gt="").exists()
    assert MeasureTest.objects.get(measure=m_calm, day=today).result == "negative"
    assert summary.measure_tests_recorded == 1


def _resample_and_result(task: RecheckTask, actor: User, barcode: str, result: str) -> Tube:
    task = recheck_sample(actor=actor, task=task, barcode=barcode)
    assert task.sample_tube is not None
    tube = result_tube(task.sample_tube, result)
    return tube


def test_positive_single_recheck_proposes_a_case_once(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    pool = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    pools_resolve(tube_ids=ids(pool))
    first, second = RecheckTask.objects.order_by("pk")[:2]
    pos = _resample_and_result(first, users["community_a1"], "R-1", "positive")
    neg = _resample_and_result(second, users["community_a1"], "R-2", "negative")
    assert pos.kind == TubeKind.RECHECK and pos.point == mt.point

    summary = pools_resolve(tube_ids=[pos.pk, neg.pk])
    again = pools_resolve(tube_ids=[pos.pk, neg.pk])

    assert (summary.cases_proposed, again.cases_proposed) == (1, 0)
    assert summary.recheck_tubes_resolved == 2
    case = Case.objects.get()
    assert case.person_id == first.person_id
    assert (case.status, case.source, case.kind) == (
        CaseStatus.REPORTED,
        CaseSource.MASS_TESTING,
        "asymptomatic",
    )
    assert case.created_by is None  # the system proposed it
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.result) == ("resulted", "positive")
    assert (second.status, second.result) == ("resulted", "negative")


def test_invalid_single_tube_reopens_the_task(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    pool = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="invalid")
    pools_resolve(tube_ids=ids(pool))
    task = RecheckTask.objects.order_by("pk").first()
    assert task is not None
    tube = _resample_and_result(task, users["community_a1"], "R-9", "invalid")
    pools_resolve(tube_ids=[tube.pk])
    task.refresh_from_db()
    assert (task.status, task.result) == ("open", "invalid")
    # and it can be resampled again
    task = recheck_sample(actor=users["community_a1"], task=task, barcode="R-10")
    assert task.status == "sampled" and task.result == ""


def test_recheck_of_person_under_control_records_the_single_result(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    pool = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    person = pool[0].scans.first().person
    measure = in_force(person, users["town_a1"], start=timezone.localdate())
    pools_resolve(tube_ids=ids(pool))
    task = RecheckTask.objects.get(person=person)
    tube = _resample_and_result(task, users["community_a1"], "R-3", "negative")
    summary = pools_resolve(tube_ids=[tube.pk])
    assert summary.measure_tests_recorded == 1
    assert MeasureTest.objects.get(measure=measure, day=timezone.localdate()).result == "negative"


def test_existing_case_is_not_proposed_again(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], settings: Any
) -> None:
    from fangkong.tracing.services.cases import case_create

    pool = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    pools_resolve(tube_ids=ids(pool))
    task = RecheckTask.objects.order_by("pk").first()
    assert task is not None
    case_create(
        actor=users["town_a1"],
        person=task.person,
        kind="confirmed",
        report_date=timezone.localdate(),
        source="local",
    )
    tube = _resample_and_result(task, users["community_a1"], "R-4", "positive")
    assert pools_resolve(tube_ids=[tube.pk]).cases_proposed == 0
    assert Case.objects.count() == 1


def test_person_status_counts_follow_pools_and_rechecks(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    from fangkong.masstesting.results.selectors import campaign_person_status_counts

    positive = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")
    resulted_pools(mt.point, tree.grid_a1, tubes=2, result="negative")
    resulted_pools(mt.other, tree.grid_a2, tubes=1, result="")
    pools_resolve(tube_ids=ids(positive))
    task = RecheckTask.objects.order_by("pk").first()
    assert task is not None
    tube = _resample_and_result(task, users["community_a1"], "R-5", "negative")
    pools_resolve(tube_ids=[tube.pk])

    counts = campaign_person_status_counts(actor=users["city"], campaign_id=mt.campaign.pk)
    assert counts == {
        "awaiting_result": 10,
        "negative": 21,
        "recheck_pending": 9,
        "positive": 0,
        "invalid": 0,
        "recheck_cancelled": 0,
    }
    town_a2 = campaign_person_status_counts(actor=users["town_a2"], campaign_id=mt.campaign.pk)
    assert sum(town_a2.values()) == 10  # the point in community A2 only
    lab = campaign_person_status_counts(actor=users["lab"], campaign_id=mt.campaign.pk)
    assert sum(lab.values()) == 0


def test_corrected_pool_results_undo_what_they_caused(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User]
) -> None:
    from fangkong.masstesting.lab.services import tube_result_correct

    was_positive = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="positive")[0]
    was_negative = resulted_pools(mt.point, tree.grid_a1, tubes=1, result="negative")[0]
    Tube.objects.filter(pk__in=[was_positive.pk, was_negative.pk]).update(lab=tree.lab)
    today = timezone.localdate()
    member = was_negative.scans.first().person
    measure = in_force(member, users["town_a1"], start=today)
    pools_resolve(tube_ids=[was_positive.pk, was_negative.pk])
    resampled = RecheckTask.objects.filter(source_tube=was_positive).order_by("pk").first()
    recheck_sample(actor=users["community_a1"], task=resampled, barcode="R-9")
    assert MeasureTest.objects.get(measure=measure, day=today).result == "negative"

    lab = users["lab"]
    tube_result_correct(actor=lab, tube=was_positive, result="negative", reason="标签贴错")
    statuses = set(RecheckTask.objects.filter(source_tube=was_positive).values_list("status"))
    assert statuses == {("cancelled",), ("sampled",)}  # the resampled tube still counts
    tube_result_correct(actor=lab, tube=was_negative, result="positive", reason="复核后更正")
    assert MeasureTest.objects.get(measure=measure, day=today).result == ""  # pending again
    assert RecheckTask.objects.filter(source_tube=was_negative, status="open").count() == 10
    audit = AuditEvent.objects.filter(action="tube.result_correct").order_by("pk")
    assert [a.details["rechecks_cancelled"] for a in audit] == [9, 0]
    assert [a.details["measure_tests_reset"] for a in audit] == [0, 1]
