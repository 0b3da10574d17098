"""Issue 8, item 3 (uploads): page numbers clamped, request bodies capped per route, scan
batches shed before JSON parsing, workbooks checked for decompressed size and rows before
parsing, CSV read as a stream."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from fangkong.core.models import User
from tests.factories import Tree, make_person

HUGE_PAGE = 10**30


@pytest.mark.parametrize(
    "url",
    ["/api/v1/people", "/api/v1/masstesting/campaigns", "/api/v1/tracing/cases"],
)
def test_a_huge_page_number_is_clamped_not_a_server_error(
    url: str, tree: Tree, api_as: Any
) -> None:
    make_person(tree.grid_a1, name="甲")
    r = api_as("city").get(url, page=HUGE_PAGE)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["page"] < 10**9 and body["count"] >= 0
    items = [v for k, v in body.items() if isinstance(v, list)]
    assert items == [[]]


def test_a_huge_page_number_on_a_list_page_shows_the_last_page(
    tree: Tree, users: dict[str, User]
) -> None:
    make_person(tree.grid_a1, name="甲")
    client = Client()
    client.force_login(users["city"])
    r = client.get("/people/", {"page": HUGE_PAGE})
    assert r.status_code == 200


# ---------------------------------------------------------------- request bodies

SCANS = "/api/v1/masstesting/scans/batch"


@pytest.fixture
def sampler(tree: Tree, users: dict[str, User], api_as: Any) -> Any:
    from tests.factories_masstesting import campaign_setup

    setup = campaign_setup(tree, users)
    return setup, api_as("sampler")


def _raw_post(api: Any, url: str, body: bytes, **headers: str) -> Any:
    return api.client.post(
        url, body, content_type="application/json", headers={**api.headers, **headers}
    )


def test_an_oversize_scan_batch_is_shed_by_content_length_before_parsing(
    sampler: Any, settings: Any
) -> None:
    from fangkong.masstesting.models import ScanBatch

    settings.BATCH_MAX_BYTES = 64 * 1024
    _setup, api = sampler
    # not even JSON: a 413 proves the body was never parsed (a parse would answer 422)
    r = _raw_post(api, SCANS, b"x" * (64 * 1024 + 1), **{"Idempotency-Key": "big"})
    assert r.status_code == 413
    assert "64" in r.json()["detail"]
    assert not ScanBatch.objects.exists()
    small = _raw_post(api, SCANS, b"x" * 100, **{"Idempotency-Key": "small"})
    assert small.status_code == 422


def test_too_many_scans_is_413(sampler: Any) -> None:
    setup, api = sampler
    body = {"point_id": setup.point.pk, "scans": [{"barcode": "T", "token": "x"}] * 5001}
    r = api.client.post(
        SCANS, body, content_type="application/json",
        headers={**api.headers, "Idempotency-Key": "many"},
    )  # fmt: skip
    assert r.status_code == 413 and "5000" in r.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/masstesting/results/batch",
        "/api/v1/masstesting/lab/receive",
        "/api/v1/tracing/cases/1/exposures",
    ],
)
def test_the_json_batch_apis_cap_their_bodies(url: str, api_as: Any, settings: Any) -> None:
    settings.BATCH_MAX_BYTES = 1024
    r = _raw_post(api_as("city"), url, b"{" + b" " * 2048 + b"}")
    assert r.status_code == 413, r.content
    assert "detail" in r.json()


def test_every_other_body_is_capped_globally(api_as: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    r = _raw_post(api_as("city"), "/api/v1/people/search", b"{" + b" " * 8192 + b"}")
    assert r.status_code == 413 and "detail" in r.json()
    page = Client().post("/login/", {"username": "x" * 8192, "password": "y"})
    assert page.status_code == 413


def test_an_upload_is_capped_by_the_largest_import(users: dict[str, User], settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BYTES = 1024
    client = Client()
    client.force_login(users["town_a1"])
    big = SimpleUploadedFile("list.csv", b"a,b\n" * (400 * 1024))
    r = client.post("/people/import/", {"file": big})
    assert r.status_code == 413
