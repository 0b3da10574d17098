from __future__ import annotations

from typing import Any

import pytest

from fangkong.core.models import AuditEvent
from tests.factories import make_person, make_resident_id

pytestmark = pytest.mark.django_db


def test_create_get_and_mask(tree: Any, api_as: Any) -> None:
    api = api_as("town_a1")
    idn = make_resident_id()
    r = api.post(
        "/api/v1/people",
        {
            "name": "李四",
            "id_number": idn,
            "phone": "13912345678",
            "address": "东街8号",
            "region_code": tree.grid_a1.code,
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["id_number"] == idn[:6] + "*" * 11 + idn[-1:]
    assert body["phone"] == "139****5678"
    assert idn not in r.content.decode()
    got = api.get(f"/api/v1/people/{body['id']}")
    assert got.status_code == 200
    assert "13912345678" not in got.content.decode()


def test_sibling_town_gets_404(tree: Any, api_as: Any) -> None:
    other = make_person(tree.grid_a2)
    api = api_as("town_a1")
    assert api.get(f"/api/v1/people/{other.pk}").status_code == 404
    assert api.post(f"/api/v1/people/{other.pk}/reveal", {"reason": "核查身份"}).status_code == 404
    assert api.patch(f"/api/v1/people/{other.pk}", {"name": "x"}).status_code == 404
    assert api.get("/api/v1/people").json()["count"] == 0
    assert api.get("/api/v1/people", region=tree.town_a2.code).json()["count"] == 0
    assert api_as("city").get("/api/v1/people").json()["count"] == 1


def test_bad_checksum_and_duplicate(tree: Any, api_as: Any) -> None:
    api = api_as("town_a1")
    idn = make_resident_id()
    bad = idn[:-1] + ("0" if idn[-1] != "0" else "1")
    r = api.post(
        "/api/v1/people", {"name": "王五", "id_number": bad, "region_code": tree.grid_a1.code}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "id_number"
    first = api.post(
        "/api/v1/people", {"name": "王五", "id_number": idn, "region_code": tree.grid_a1.code}
    )
    assert first.status_code == 201
    dup = api.post(
        "/api/v1/people", {"name": "王五", "id_number": idn, "region_code": tree.grid_a1.code}
    )
    assert dup.status_code == 409
    assert dup.json()["existing"]["id"] == first.json()["id"]


def test_reveal_is_audited(tree: Any, api_as: Any) -> None:
    p = make_person(tree.grid_a1, phone="13711112222")
    r = api_as("town_a1").post(
        f"/api/v1/people/{p.pk}/reveal", {"reason": "电话通知隔离", "fields": ["phone"]}
    )
    assert r.status_code == 200
    assert r.json()["phone"] == "+8613711112222"
    assert AuditEvent.objects.filter(action="person.reveal", object_id=str(p.pk)).count() == 1
    assert api_as("city").get("/api/v1/audit").json()["count"] >= 1
    assert api_as("town_a1").get("/api/v1/audit").status_code == 403


def test_partial_update_keeps_other_fields_and_audits_field_names(tree: Any, api_as: Any) -> None:
    idn = make_resident_id()
    p = make_person(tree.grid_a1, id_number=idn, phone="13711112222", tags=["返乡"])
    api = api_as("town_a1")
    r = api.patch(f"/api/v1/people/{p.pk}", {"phone": "13633334444", "tags": ["密接", "返乡"]})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["phone"] == "136****4444"
    assert body["id_number"] == idn[:6] + "*" * 11 + idn[-1:]
    assert body["tags"] == ["密接", "返乡"] and body["name"] == "张三"
    event = AuditEvent.objects.get(action="person.update", object_id=str(p.pk))
    assert event.details == {"fields": ["phone", "tags"]}
    # the old phone no longer finds the person, the new one does
    assert api.post("/api/v1/people/search", {"phone": "13711112222"}).json()["count"] == 0
    assert api.post("/api/v1/people/search", {"phone": "13633334444"}).json()["count"] == 1


def test_update_needs_a_field_and_search_needs_a_key(tree: Any, api_as: Any) -> None:
    p = make_person(tree.grid_a1)
    api = api_as("town_a1")
    assert api.patch(f"/api/v1/people/{p.pk}", {}).status_code == 422
    r = api.post("/api/v1/people/search", {})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "id_number"
    assert api.post("/api/v1/people/search", {"phone": "not a phone"}).json()["count"] == 0


def test_passport_holder_is_masked_and_has_no_birth_year(tree: Any, api_as: Any) -> None:
    r = api_as("town_a1").post(
        "/api/v1/people",
        {
            "name": "John Smith",
            "id_type": "passport",
            "id_number": "e 1234 5678",
            "region_code": tree.grid_a1.code,
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["id_number"] == "E*******8"
    assert r.json()["birth_year"] is None and r.json()["sex"] == "U"


def test_list_filters_and_paging(tree: Any, api_as: Any) -> None:
    make_person(tree.grid_a1, name="冷链甲", key_group="cold_chain", tags=["密接"])
    make_person(tree.grid_a1, name="冷链乙", key_group="cold_chain")
    make_person(tree.grid_a2, name="医护丙", key_group="medical", tags=["密接"])
    api = api_as("district_a")
    assert api.get("/api/v1/people", key_group="cold_chain").json()["count"] == 2
    assert api.get("/api/v1/people", tag="密接").json()["count"] == 2
    assert api.get("/api/v1/people", name="冷链").json()["count"] == 2
    paged = api.get("/api/v1/people", page=2, page_size=2).json()
    assert (paged["count"], paged["page"], len(paged["results"])) == (3, 2, 1)
    # page sizes are capped, so one request cannot pull the whole registry
    assert api.get("/api/v1/people", page_size=100000).json()["page_size"] == 200
    # a page far past the end is the first empty page, not a database OFFSET overflow (500)
    far = api.get("/api/v1/people", page=10**30, page_size=2).json()
    assert (far["page"], len(far["results"])) == (3, 0)


def test_bad_input_names_the_field(tree: Any, api_as: Any) -> None:
    api = api_as("town_a1")
    base = {"name": "王五", "id_number": make_resident_id(), "region_code": tree.grid_a1.code}
    cases = [
        ({"phone": "12345"}, "phone"),
        ({"name": "  "}, "name"),
        ({"id_type": "driving_licence"}, "id_type"),
        ({"key_group": "astronaut"}, "key_group"),
        ({"id_number": "1101051990"}, "id_number"),
        ({"region_code": "nowhere"}, "region"),
    ]
    for change, field in cases:
        r = api.post("/api/v1/people", {**base, **change})
        assert r.status_code == 422, (change, r.content)
        assert r.json()["detail"][0]["field"] == field
