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
