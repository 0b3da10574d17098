"""The self-service page has its own secret link, apart from the QR token shown at every
checkpoint: issued (and rotated) and revoked by staff through the permission table, stored
only as a keyed hash, audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from fangkong.core.models import AuditEvent, User
from fangkong.core.permissions import PermissionDenied
from fangkong.masstesting.models import RegistrationCode
from fangkong.masstesting.sampling.services import codes
from fangkong.masstesting.sampling.services.codes import registration_code_for
from tests.factories import Tree, make_person

LINK_API = "/api/v1/masstesting/status/persons/{pk}/code/link"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def test_qr_token_does_not_open_the_page(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1, name="李四")
    token = registration_code_for(person=person).token
    assert Client().get(f"/hs/{token}/").status_code == 404
    codes.self_service_link_issue(actor=users["community_a1"], person=person)
    assert Client().get(f"/hs/{token}/").status_code == 404


def test_issued_link_opens_the_page_and_is_stored_hashed(
    tree: Tree, users: dict[str, User]
) -> None:
    person = make_person(tree.grid_a1, name="李四")
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    assert url.startswith("/hs/") and url.endswith("/")
    secret = url.split("/")[2]
    assert len(secret) == 32
    code = RegistrationCode.objects.get(person=person)
    assert secret != code.token
    assert code.link_hash and secret not in code.link_hash
    r = Client().get(url)
    assert r.status_code == 200
    assert "李*" in r.content.decode()
    event = AuditEvent.objects.get(action="masstesting.link_issue", object_id=str(person.pk))
    assert secret not in str(event.details)


def test_new_link_invalidates_the_old_one(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1)
    old = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    new = codes.self_service_link_issue(actor=users["town_a1"], person=person)
    assert old != new
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200


def test_revoked_link_is_a_404(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1)
    url = codes.self_service_link_issue(actor=users["community_a1"], person=person)
    codes.self_service_link_revoke(actor=users["community_a1"], person=person)
    assert Client().get(url).status_code == 404
    assert RegistrationCode.objects.get(person=person).link_hash is None
    assert AuditEvent.objects.filter(
        action="masstesting.link_revoke", object_id=str(person.pk)
    ).exists()


def test_link_services_ask_the_permission_table(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.grid_a1)
    for who in ("town_a2", "district_b", "lab", "admin"):
        with pytest.raises(PermissionDenied):
            codes.self_service_link_issue(actor=users[who], person=person)
        with pytest.raises(PermissionDenied):
            codes.self_service_link_revoke(actor=users[who], person=person)
    assert not AuditEvent.objects.filter(action__startswith="masstesting.link_").exists()


def test_link_api_issue_and_revoke(api_as: Any, tree: Tree) -> None:
    person = make_person(tree.grid_a1)
    path = LINK_API.format(pk=person.pk)
    for who in ("town_a2", "district_b", "admin", "lab"):
        assert api_as(who).post(path).status_code == 404, who
    r = api_as("community_a1").post(path)
    assert r.status_code == 200
    url = r.json()["url"]
    assert url.startswith("http://testserver/hs/")
    assert Client().get(url).status_code == 200
    assert api_as("town_a2").post(path + "/revoke").status_code == 404
    assert api_as("town_a1").post(path + "/revoke").status_code == 204
    assert Client().get(url).status_code == 404
