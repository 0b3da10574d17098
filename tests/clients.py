"""The suite's one way to act as someone: a signed-in page client, or a JSON client holding an
API token. Test modules import these instead of writing their own login helpers."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from fangkong.core.models import User
from fangkong.core.services import api_token_issue


def page_client(user: User) -> Client:
    """A browser-like client with `user`'s session (no password round trip: tests of the login
    itself post to /login/ directly)."""
    client = Client()
    client.force_login(user)
    return client


class ApiClient:
    """Django test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, data: Any = None) -> Any:
        return self.client.post(
            path, data or {}, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(path, data, content_type="application/json", headers=self.headers)


def api_client(user: User) -> ApiClient:
    return ApiClient(api_token_issue(user=user))


def zh(msgid: str, **values: Any) -> str:
    """`msgid` as a zh-Hans user reads it, with its placeholders filled."""
    with translation.override("zh-hans"):
        text = gettext(msgid)
    return text % values if values else text
