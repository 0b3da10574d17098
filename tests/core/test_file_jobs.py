"""Lab results and assistance lists are parsed by the background worker, not the request
(issue 8: "lab and assistance xlsx parsed in the worker"): the request stores the file and
answers 202 with a job; the job runs once, under the uploader's permissions at run time."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.module_loading import import_string

from fangkong.core.filejobs import file_job_run
from fangkong.core.models import AuditEvent, FileJob, User
from fangkong.masstesting.lab.sheets import results_xlsx_submit
from fangkong.masstesting.models import ResultBatch
from fangkong.screening.models import AssistanceRequest
from fangkong.screening.services import assistance
from tests.factories import Tree
from tests.factories.masstesting import MassTestingSetup, campaign_setup
from tests.factories.screening import ensure_default_rules, resident_ids, sheet_bytes
from tests.masstesting.test_lab import second_lab
from tests.masstesting.test_results_api import handed, sheet

pytestmark = pytest.mark.django_db

ASSISTANCE = "/api/v1/screening/assistance-requests"
LAB_XLSX = "/api/v1/masstesting/lab/results/xlsx"


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path / "data"
    ensure_default_rules()


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def _list(tree: Tree) -> bytes:
    (good,) = resident_ids(1, seed=31)
    return sheet_bytes(["姓名", "证件号码", "所属社区"], [["王五", good, tree.community_a1.name]])


def _post_list(api: Any, content: bytes, reference: str = "R-1") -> Any:
    return api.client.post(
        ASSISTANCE,
        {
            "file": SimpleUploadedFile("协查.xlsx", content),
            "from_jurisdiction": "外市",
            "reference_number": reference,
        },
        headers=api.headers,
    )


def test_the_request_stores_and_the_worker_reads(
    tree: Tree, api_as: Any, run_file_jobs: Any
) -> None:
    api = api_as("city")
    r = _post_list(api, _list(tree))
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert not AssistanceRequest.objects.exists()  # nothing parsed in the request
    (job,) = run_file_jobs()
    assert job.status == "done" and AssistanceRequest.objects.count() == 1
    assert job.result["request_id"] == str(AssistanceRequest.objects.get().pk)
    assert "王五" not in str(job.result)  # the answer names no person
    audit = AuditEvent.objects.get(action="file_job.finish")
    assert audit.details == {"kind": "assistance", "status": "done", "file_sha256": job.file_sha256}


def test_a_retry_answers_the_same_job_and_a_new_reference_is_a_new_job(
    tree: Tree, api_as: Any, run_file_jobs: Any
) -> None:
    api = api_as("city")
    content = _list(tree)
    first, again = _post_list(api, content), _post_list(api, content)
    assert first.json()["id"] == again.json()["id"] and FileJob.objects.count() == 1
    other = _post_list(api, content, reference="R-2")
    assert other.json()["id"] != first.json()["id"]
    run_file_jobs()
    assert AssistanceRequest.objects.count() == 2


def test_a_job_delivered_twice_runs_once(tree: Tree, api_as: Any, run_file_jobs: Any) -> None:
    r = _post_list(api_as("city"), _list(tree))
    (job,) = run_file_jobs()
    again = file_job_run(job_id=job.pk)
    assert again.status == "done" and AssistanceRequest.objects.count() == 1
    assert r.json()["id"] == str(job.pk)


def test_fields_are_checked_in_the_request(tree: Tree, api_as: Any) -> None:
    api = api_as("city")
    r = api.client.post(
        ASSISTANCE,
        {"file": SimpleUploadedFile("协查.xlsx", _list(tree)), "from_jurisdiction": ""},
        headers=api.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "from_jurisdiction"
    assert _post_list(api_as("lab"), _list(tree)).status_code == 403
    assert not FileJob.objects.exists()


def test_the_uploader_is_checked_again_when_the_job_runs(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], run_file_jobs: Any
) -> None:
    barcodes = handed(mt, tree, 1)
    lab_user = users["lab"]
    content = sheet([["barcode", "result"], [barcodes[0], "negative"]])
    moved = results_xlsx_submit(actor=lab_user, filename="r.xlsx", content=content)
    lab_user.institution = second_lab(tree, users)  # moved to another lab before the worker ran
    lab_user.save()
    disabled = assistance.assistance_submit(
        actor=users["city"],
        info=assistance.RequestInfo(from_jurisdiction="外市"),
        filename="a.xlsx",
        content=_list(tree),
    )
    User.objects.filter(pk=users["city"].pk).update(is_active=False)
    jobs = {j.pk: j for j in run_file_jobs()}
    assert jobs[moved.pk].status == "failed" and jobs[moved.pk].message
    assert jobs[disabled.pk].status == "failed" and jobs[disabled.pk].message
    assert not ResultBatch.objects.exists() and not AssistanceRequest.objects.exists()


def test_through_the_database_task_backend(
    tree: Tree,
    users: dict[str, User],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    with django_capture_on_commit_callbacks(execute=True):
        job = assistance.assistance_submit(
            actor=users["city"],
            info=assistance.RequestInfo(from_jurisdiction="外市"),
            filename="a.xlsx",
            content=_list(tree),
        )
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "fangkong.core.tasks.run_file_job"
    args = queued.args_kwargs  # what `fangkong db_worker` does with it
    with django_capture_on_commit_callbacks(execute=True):
        import_string(queued.task_path).call(*args["args"], **args["kwargs"])
    job.refresh_from_db()
    assert job.status == "done" and AssistanceRequest.objects.count() == 1


def test_job_list_and_page_obey_scope(
    mt: MassTestingSetup, tree: Tree, api_as: Any, run_file_jobs: Any
) -> None:
    barcodes = handed(mt, tree, 1)
    lab = api_as("lab")
    f = SimpleUploadedFile("r.xlsx", sheet([["barcode", "result"], [barcodes[0], "negative"]]))
    lab_job = lab.client.post(LAB_XLSX, {"file": f}, headers=lab.headers).json()
    town_job = _post_list(api_as("town_a1"), _list(tree)).json()
    run_file_jobs()
    assert {j["id"] for j in lab.get("/api/v1/jobs").json()["results"]} == {lab_job["id"]}
    assert lab.get(f"/api/v1/jobs/{town_job['id']}").status_code == 404
    sibling = api_as("town_a2")
    assert sibling.get("/api/v1/jobs").json()["count"] == 0
    for job in (lab_job, town_job):
        assert sibling.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    district = api_as("district_a")  # the town's parent sees the town's job, not the lab's
    assert {j["id"] for j in district.get("/api/v1/jobs").json()["results"]} == {town_job["id"]}
