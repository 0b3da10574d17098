"""One paging answer for every list API: `items`; `results` survives one release as an alias."""

from __future__ import annotations

from typing import Any

from config.api import api
from fangkong.core.models import User
from tests.factories import Tree, make_person


def _schemas() -> dict[str, Any]:
    return api.get_openapi_schema()["components"]["schemas"]


def _page_schemas() -> dict[str, dict[str, Any]]:
    return {
        name: schema
        for name, schema in _schemas().items()
        if {"count", "page", "page_size"} <= set(schema.get("properties", {}))
    }


def test_every_page_answers_items_and_results_only_as_a_deprecated_alias() -> None:
    pages = _page_schemas()
    assert len(pages) >= 20
    for name, schema in pages.items():
        props = schema["properties"]
        assert "items" in props and "items" in schema.get("required", []), name
        if "results" in props:
            assert props["results"].get("deprecated") is True, name
            assert props["results"]["items"] == props["items"]["items"], name


def test_the_alias_carries_the_same_rows(tree: Tree, users: dict[str, User], api_as: Any) -> None:
    for i in range(3):
        make_person(tree.community_a1, name=f"居民{i}")
    page = api_as("town_a1").get("/api/v1/people", page_size=2).json()
    assert page["count"] == 3 and len(page["items"]) == 2
    assert page["results"] == page["items"]
    regions = api_as("town_a1").get("/api/v1/regions").json()
    assert regions["items"] and regions["results"] == regions["items"]
