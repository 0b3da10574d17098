"""The self-service link from the person page: issued and shown once with its QR, replaced,
revoked; refused to roles the permission table does not allow; never in the logs."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.test import Client

from fangkong.core.logredact import RedactPersonalData, redact
from fangkong.core.models import AuditEvent, Role, User
from tests.clients import page_client
from tests.factories import Tree, UserFactory, make_person

pytestmark = pytest.mark.django_db


def _link(html: str) -> str:
    found = re.search(r'value="([^"]+)" data-testid="link-url"', html)
    assert found is not None
    return found.group(1)


def test_issue_show_once_replace_and_revoke(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.community_a1, name="居民乙")
    staff = page_client(users["community_a1"])
    detail = staff.get(f"/people/{person.pk}/").content.decode()
    assert 'data-testid="self-service-panel"' in detail
    page_url = f"/masstesting/persons/{person.pk}/link/"
    assert 'data-testid="link-url"' not in staff.get(page_url).content.decode()

    issued = staff.post(page_url, {"action": "issue"})
    assert issued.status_code == 200 and issued["Cache-Control"] == "no-store"
    html = issued.content.decode()
    assert 'data-testid="link-qr"' in html and "<svg" in html
    first = _link(html)
    assert "/hs/" in first
    public = Client()
    assert public.get(first).status_code == 200
    # shown once: the next view of the page tells when, never the link
    again = staff.get(page_url).content.decode()
    assert first not in again and 'data-testid="link-url"' not in again

    second = _link(staff.post(page_url, {"action": "issue"}).content.decode())
    assert second != first
    assert public.get(first).status_code == 404 and public.get(second).status_code == 200
    revoked = staff.post(page_url, {"action": "revoke"})
    assert revoked.status_code == 302
    assert public.get(second).status_code == 404
    actions = list(
        AuditEvent.objects.filter(object_id=str(person.pk))
        .filter(action__startswith="masstesting.link_")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["masstesting.link_issue"] * 2 + ["masstesting.link_revoke"]


def test_refused_and_out_of_scope(tree: Tree, users: dict[str, User]) -> None:
    person = make_person(tree.community_a1, name="居民丙")
    page_url = f"/masstesting/persons/{person.pk}/link/"
    grid = UserFactory(username="grid_x", role=Role.GRID_WORKER, region=tree.grid_a1)
    sibling = page_client(users["town_a2"])
    assert sibling.get(page_url).status_code == 404
    assert sibling.post(page_url, {"action": "issue"}).status_code == 404
    lab = page_client(users["lab"])
    assert lab.get(page_url).status_code == 404
    gw = page_client(grid)
    page = gw.get(page_url)
    if page.status_code == 200:  # a role that sees the person but may not hand out links
        assert 'data-testid="link-issue"' not in page.content.decode()
        assert gw.post(page_url, {"action": "issue"}).status_code == 403


def test_the_secret_never_reaches_a_log_line(db: Any) -> None:
    """A revoked link's 404 is logged by Django as "Not Found: <path>"."""
    line = "Not Found: /hs/Zx9_abc-DEF123456789ghijklmnop/"
    assert redact(line) == "Not Found: /hs/***/"
    record = logging.LogRecord("django.request", logging.WARNING, "", 0, "%s", (line,), None)
    RedactPersonalData().filter(record)
    assert record.getMessage() == "Not Found: /hs/***/"
