"""Lab results upload (JSON batch and xlsx): exactly-once under retries and concurrency,
per-item errors with the rest accepted, scope, overload shedding."""

from __future__ import annotations

import io
import threading
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from fangkong.core.http import Forbidden
from fangkong.core.models import AuditEvent, Institution, User
from fangkong.masstesting.lab import services as lab_services
from fangkong.masstesting.lab.services import ResultIn, results_batch_ingest, tube_result_correct
from fangkong.masstesting.lab.sheets import field_labels
from fangkong.masstesting.models import BoxStatus, ResultBatch, TransferBox, Tube, TubeStatus
from tests.clients import api_client
from tests.factories import Tree
from tests.factories.masstesting import MassTestingSetup, campaign_setup
from tests.masstesting.test_lab import fill_tubes, second_lab

URL = "/api/v1/masstesting/results/batch"
XLSX = "/api/v1/masstesting/lab/results/xlsx"


@pytest.fixture
def mt(tree: Tree, users: dict[str, User]) -> MassTestingSetup:
    return campaign_setup(tree, users)


def handed(mt: MassTestingSetup, tree: Tree, n: int, lab: Institution | None = None,
           prefix: str = "T") -> list[str]:  # fmt: skip
    """n closed tubes in one box handed over to `lab` (default the tree's lab)."""
    barcodes = fill_tubes(mt, tree, n, prefix=prefix)
    box = lab_services.box_pack(
        actor=mt.sampler, point=mt.point, lab=lab or tree.lab, code=f"BOX-{prefix}",
        tube_barcodes=barcodes,
    )  # fmt: skip
    lab_services.box_hand_over(actor=mt.sampler, box=box)
    return barcodes


def post(api: Any, items: list[dict[str, Any]], key: str) -> Any:
    return api.client.post(
        URL, {"items": items}, content_type="application/json",
        headers={**api.headers, "Idempotency-Key": key},
    )  # fmt: skip


def negatives(barcodes: list[str]) -> list[dict[str, Any]]:
    return [{"barcode": b, "result": "negative", "ct_value": None} for b in barcodes]


def test_batch_three_times_same_answer_no_duplicates(
    mt: MassTestingSetup, tree: Tree, api_as: Any
) -> None:
    barcodes = handed(mt, tree, 5)
    api = api_as("lab")
    positive = {"barcode": barcodes[4], "result": "positive", "ct_value": 31.5}
    items = [*negatives(barcodes[:4]), positive]
    answers = [post(api, items, "r1") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    bodies = [a.json() for a in answers]
    assert bodies[0]["counts"] == {"accepted": 5, "duplicate": 0, "rejected": 0}
    assert [b["results"] for b in bodies] == [bodies[0]["results"]] * 3
    assert [b["replayed"] for b in bodies] == [False, True, True]
    assert set(bodies[0]["resolve"]) >= {"rechecks_created", "cases_proposed"}
    assert ResultBatch.objects.count() == 1
    tube = Tube.objects.get(barcode=barcodes[4])
    assert (tube.result, tube.ct_value, tube.status) == ("positive", 31.5, TubeStatus.RESULTED)
    assert tube.result_batch_id == bodies[0]["batch_id"]
    # the receipt scan was skipped: the result proves arrival, and the box is complete
    assert tube.received_at is not None
    assert TransferBox.objects.get().status == BoxStatus.RECEIVED
    # the same results under a new key are duplicates, nothing rewritten
    again = post(api, items, "r2").json()
    assert again["counts"] == {"accepted": 0, "duplicate": 5, "rejected": 0}
    assert Tube.objects.get(barcode=barcodes[4]).result_batch_id == bodies[0]["batch_id"]


def test_same_key_different_body_is_409(mt: MassTestingSetup, tree: Tree, api_as: Any) -> None:
    barcodes = handed(mt, tree, 2)
    api = api_as("lab")
    assert post(api, negatives(barcodes), "k").status_code == 200
    assert post(api, negatives(barcodes[:1]), "k").status_code == 409


def test_bad_items_rejected_rest_accepted(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    lab2 = second_lab(tree, users)
    mine = handed(mt, tree, 6)
    theirs = handed(mt, tree, 1, lab=lab2, prefix="X")
    unshipped = fill_tubes(mt, tree, 1, prefix="U")
    api = api_as("lab")
    post(api, [{"barcode": mine[5], "result": "negative"}], "first")
    items = [
        {"barcode": mine[0], "result": "negative"},
        {"barcode": mine[1], "result": "阳性", "ct_value": "28.4"},
        {"barcode": "NO-SUCH", "result": "negative"},
        {"barcode": theirs[0], "result": "negative"},
        {"barcode": unshipped[0], "result": "negative"},
        {"barcode": mine[2], "result": "maybe"},
        {"barcode": mine[3], "result": "negative", "ct_value": 61},
        {"barcode": mine[3], "result": "negative", "ct_value": "abc"},
        {"barcode": mine[5], "result": "positive"},
        {"barcode": mine[5], "result": "negative"},
        {"barcode": "", "result": "negative"},
        "not an object",
        {"barcode": mine[0], "result": "negative"},
        {"barcode": mine[4], "result": "invalid", "ct_value": 0},
    ]
    body = post(api, items, "bad").json()
    reasons = [(r["status"], r["reason"]) for r in body["results"]]
    assert reasons == [
        ("accepted", ""),
        ("accepted", ""),
        ("rejected", "unknown_tube"),
        ("rejected", "unknown_tube"),
        ("rejected", "unknown_tube"),
        ("rejected", "bad_result"),
        ("rejected", "bad_ct"),
        ("rejected", "bad_ct"),
        ("rejected", "conflicting_result"),
        ("duplicate", "already_resulted"),
        ("rejected", "malformed"),
        ("rejected", "malformed"),
        ("duplicate", "already_resulted"),
        ("accepted", ""),
    ]
    assert all(r["message"] for r in body["results"] if r["status"] != "accepted")
    assert body["counts"] == {"accepted": 3, "duplicate": 2, "rejected": 9}
    assert Tube.objects.get(barcode=mine[1]).ct_value == 28.4
    assert Tube.objects.get(barcode=mine[5]).result == "negative"
    assert Tube.objects.get(barcode=theirs[0]).result == ""


def test_scope_and_roles(mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any):
    lab2 = second_lab(tree, users)
    barcodes = handed(mt, tree, 2)
    # another lab: the tubes are unknown to it, and it sees no batch of ours
    body = post(api_client(users["lab2"]), negatives(barcodes), "o").json()
    assert body["counts"] == {"accepted": 0, "duplicate": 0, "rejected": 2}
    post(api_as("lab"), negatives(barcodes), "mine")
    batches = "/api/v1/masstesting/lab/batches"
    assert api_client(users["lab2"]).get(batches).json()["count"] == 1  # its own, all rejected
    assert api_as("lab").get(batches).json()["count"] == 1
    for who in ("district_a", "town_a2", "district_b", "sampler"):
        assert post(api_as(who), negatives(barcodes), f"x-{who}").status_code == 403
    assert (
        api_as("town_a2").get("/api/v1/masstesting/lab/tubes", result="negative").json()["count"]
        == 0
    )
    assert (
        api_as("lab").get("/api/v1/masstesting/lab/tubes", result="negative").json()["count"] == 2
    )
    with pytest.raises(Forbidden):
        results_batch_ingest(actor=users["lab"], lab=lab2, idempotency_key="z", items=[])


def test_key_required_and_size_limit(mt: MassTestingSetup, tree: Tree, api_as: Any) -> None:
    api = api_as("lab")
    missing = api.client.post(URL, {"items": []}, content_type="application/json",
                              headers=api.headers)  # fmt: skip
    assert missing.status_code == 422
    assert post(api, [{"barcode": "T", "result": "negative"}] * 5001, "big").status_code == 413
    not_an_object = api.client.post(URL, "[]", content_type="application/json",
                                    headers={**api.headers, "Idempotency-Key": "k"})  # fmt: skip
    assert not_an_object.status_code == 422
    assert not ResultBatch.objects.exists()


def test_overload_is_shed_with_429(
    mt: MassTestingSetup, tree: Tree, api_as: Any, monkeypatch: Any
) -> None:
    from fangkong.masstesting.lab import api as mt_api

    barcodes = handed(mt, tree, 1)
    monkeypatch.setattr(mt_api, "_RESULTS_INFLIGHT", threading.BoundedSemaphore(1))
    mt_api._RESULTS_INFLIGHT.acquire()
    busy = post(api_as("lab"), negatives(barcodes), "busy")
    assert (busy.status_code, busy["Retry-After"]) == (429, "2")
    assert not ResultBatch.objects.exists()
    mt_api._RESULTS_INFLIGHT.release()
    assert post(api_as("lab"), negatives(barcodes), "busy").status_code == 200


def _ingest_queries(users: dict[str, User], tree: Tree, barcodes: list[str], key: str) -> int:
    items = [ResultIn(barcode=b, result="negative") for b in barcodes]
    with CaptureQueriesContext(connection) as ctx:
        answer = results_batch_ingest(
            actor=users["lab"], lab=tree.lab, idempotency_key=key, items=items
        )
    assert answer.counts["accepted"] == len(barcodes)
    return len(ctx.captured_queries)


def test_ingest_query_count_constant(mt: MassTestingSetup, tree: Tree, users: Any) -> None:
    small = _ingest_queries(users, tree, handed(mt, tree, 3, prefix="A"), "q1")
    large = _ingest_queries(users, tree, handed(mt, tree, 40, prefix="B"), "q2")
    assert small == large


def test_result_correction_is_audited(mt: MassTestingSetup, tree: Tree, users: Any) -> None:
    barcodes = handed(mt, tree, 1)
    results_batch_ingest(
        actor=users["lab"], lab=tree.lab, idempotency_key="c",
        items=[ResultIn(barcode=barcodes[0], result="negative")],
    )  # fmt: skip
    tube = Tube.objects.get()
    with pytest.raises(Exception, match="原因"):
        tube_result_correct(actor=users["lab"], tube=tube, result="positive", reason=" ")
    tube_result_correct(
        actor=users["lab"], tube=tube, result="positive", ct_value=33, reason="样本标签贴错"
    )
    tube.refresh_from_db()
    assert (tube.result, tube.ct_value) == ("positive", 33.0)
    event = AuditEvent.objects.get(action="tube.result_correct")
    assert event.details["old"]["result"] == "negative" and event.reason == "样本标签贴错"


def test_result_correction_api(
    mt: MassTestingSetup, tree: Tree, users: dict[str, User], api_as: Any
) -> None:
    barcodes = handed(mt, tree, 1)
    post(api_as("lab"), negatives(barcodes), "c")
    tube = Tube.objects.get()
    url = f"/api/v1/masstesting/lab/tubes/{tube.pk}/correct"
    body = {"result": "invalid", "reason": "内标异常"}
    assert api_as("district_b").post(url, body).status_code == 404
    second_lab(tree, users)
    assert api_client(users["lab2"]).post(url, body).status_code == 404
    assert api_as("district_a").post(url, body).status_code == 403
    assert api_as("lab").post(url, {**body, "reason": ""}).status_code == 422
    corrected = api_as("lab").post(url, body)
    assert corrected.status_code == 200 and corrected.json()["result"] == "invalid"


def sheet(rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(api: Any, content: bytes) -> Any:
    f = SimpleUploadedFile("results.xlsx", content)
    return api.client.post(XLSX, {"file": f}, headers=api.headers)


def uploaded(api: Any, content: bytes, run_file_jobs: Any) -> dict[str, Any]:
    """Upload, let the worker read the file, and answer the job as its poll shows it."""
    r = upload(api, content)
    assert r.status_code == 202, r.content
    assert r.json()["kind"] == "lab_results"
    run_file_jobs()
    job = api.get(f"/api/v1/jobs/{r.json()['id']}")
    assert job.status_code == 200
    return dict(job.json())


def test_xlsx_upload_with_bad_rows_and_replay(
    mt: MassTestingSetup, tree: Tree, api_as: Any, run_file_jobs: Any
) -> None:
    barcodes = handed(mt, tree, 4)
    content = sheet([
        ["试管条码", "结果", "Ct值"],
        [barcodes[0], "阴性", None],
        [barcodes[1], "阳性", 27.5],
        [None, None, None],
        ["NO-SUCH", "阴性", None],
        [barcodes[2], "阳", None],
        [barcodes[3], "无效", "abc"],
    ])  # fmt: skip
    api = api_as("lab")
    job = uploaded(api, content, run_file_jobs)
    assert job["status"] == "done", job
    body = job["result"]
    assert body["counts"] == {"accepted": 2, "duplicate": 0, "rejected": 3}
    with translation.override("zh-hans"):
        labels = field_labels()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (5, labels["barcode"]), (6, labels["result"]), (7, labels["ct_value"]),
    ]  # fmt: skip
    assert all(e["reason"] for e in body["errors"])
    again = upload(api, content)  # a retry after a timeout answers the job already there
    assert again.status_code == 202 and again.json()["id"] == job["id"]
    assert again.json()["result"] == body
    assert ResultBatch.objects.count() == 1
    assert api_as("district_b").get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert api_as("district_b").get("/api/v1/jobs").json()["count"] == 0
    assert api.get("/api/v1/jobs", kind="lab_results").json()["count"] == 1
    assert Tube.objects.get(barcode=barcodes[1]).ct_value == 27.5
    report = api.get(f"/api/v1/masstesting/lab/batches/{body['batch_id']}/errors.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(report.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [5, 6, 7]
    assert (
        api_as("district_b")
        .get(f"/api/v1/masstesting/lab/batches/{body['batch_id']}/errors.xlsx")
        .status_code
        == 404
    )


def test_xlsx_english_headers_and_bad_files(
    mt: MassTestingSetup, tree: Tree, api_as: Any, run_file_jobs: Any
) -> None:
    barcodes = handed(mt, tree, 1)
    api = api_as("lab")
    sheet_ok = sheet([["barcode", "result", "ct_value"], [barcodes[0], "negative", 0]])
    ok = uploaded(api, sheet_ok, run_file_jobs)
    assert ok["result"]["counts"]["accepted"] == 1
    # a file the worker cannot use fails its job with the reason, and stores nothing
    for bad in (sheet([["条码", "Ct值"], [barcodes[0], 1]]), b"not a workbook", sheet([])):
        failed = uploaded(api, bad, run_file_jobs)
        assert failed["status"] == "failed" and failed["message"] and not failed["result"]
    assert ResultBatch.objects.count() == 1
    assert upload(api, b"").status_code == 422  # refused in the request: nothing to queue
    assert upload(api_as("district_a"), sheet([["barcode", "result"]])).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_store_once(tree: Tree, users: dict[str, User]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite in-memory cannot run concurrent writers")
    mt = campaign_setup(tree, users)
    barcodes = handed(mt, tree, 30)
    lab_user = users["lab"]
    same = [ResultIn(barcode=b, result="negative") for b in barcodes]
    overlapping = [ResultIn(barcode=b, result="negative") for b in barcodes[10:]]
    jobs = [("same", same)] * 3 + [("other", overlapping)] * 2
    answers: list[Any] = []
    barrier = threading.Barrier(len(jobs))

    def run(key: str, items: list[ResultIn]) -> None:
        barrier.wait()
        try:
            answers.append((key, results_batch_ingest(
                actor=lab_user, lab=tree.lab, idempotency_key=key, items=items
            )))  # fmt: skip
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 5
    assert ResultBatch.objects.count() == 2
    same_answers = [a for k, a in answers if k == "same"]
    assert len({(a.batch_id, str(a.exceptions)) for a in same_answers}) == 1
    firsts = [a for _k, a in answers if not a.replayed]
    assert sum(a.counts["accepted"] for a in firsts) == 30
    assert Tube.objects.filter(result="negative").count() == 30
    box = TransferBox.objects.get()
    assert (box.received_count, box.status) == (30, BoxStatus.RECEIVED)


def test_reused_barcode_goes_to_the_tube_awaiting_its_result(
    tree: Tree, users: dict[str, User]
) -> None:
    first = campaign_setup(tree, users)
    old = handed(first, tree, 1, prefix="R")
    second = campaign_setup(tree, users)
    assert handed(second, tree, 1, prefix="R") == old  # the same printed barcode, reused
    for key, result in (("n", "negative"), ("p", "positive")):
        results_batch_ingest(
            actor=users["lab"], lab=tree.lab, idempotency_key=key,
            items=[ResultIn(barcode=old[0], result=result)],
        )  # fmt: skip
    assert Tube.objects.get(campaign=second.campaign).result == "negative"  # newest first
    assert Tube.objects.get(campaign=first.campaign).result == "positive"  # then the waiting one
