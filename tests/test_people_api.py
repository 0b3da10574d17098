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
    assert body["id_number"] == idn[:4] + "*" * 10 + idn[-4:]
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
