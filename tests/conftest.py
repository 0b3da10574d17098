from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from fangkong.core.models import Role, User
from tests.factories import PASSWORD, Tree, UserFactory, build_tree

# Argon2 (the production hasher) costs ~0.15 s a password; every fixture user would pay it.
# Tests that exercise hashing itself request `argon2_hashers` to get the real setting back.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def argon2_hashers(settings: Any) -> list[str]:
    from config import settings as project_settings

    settings.PASSWORD_HASHERS = list(project_settings.PASSWORD_HASHERS)
    return settings.PASSWORD_HASHERS


@pytest.fixture
def tree(db: Any) -> Tree:
    return build_tree()


@pytest.fixture
def users(tree: Tree) -> dict[str, User]:
    """One user per scope that the scoping tests need, including sibling towns/districts."""
    return {
        "city": UserFactory(username="city", role=Role.COMMAND_OFFICE, region=tree.city),
        "district_a": UserFactory(username="dist_a", role=Role.DISTRICT, region=tree.district_a),
        "district_b": UserFactory(username="dist_b", role=Role.DISTRICT, region=tree.district_b),
        "town_a1": UserFactory(username="town_a1", role=Role.TOWN, region=tree.town_a1),
        "town_a2": UserFactory(username="town_a2", role=Role.TOWN, region=tree.town_a2),
        "community_a1": UserFactory(
            username="comm_a1", role=Role.COMMUNITY, region=tree.community_a1
        ),
        "lab": UserFactory(username="lab1", role=Role.LAB, institution=tree.lab),
        "admin": UserFactory(username="sysadmin", role=Role.SYSTEM_ADMIN),
        "inspector": UserFactory(username="insp", role=Role.INSPECTOR, region=tree.city),
    }


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


@pytest.fixture
def api_as(users: dict[str, User]) -> Any:
    from fangkong.core.services import api_token_issue

    def make(who: str) -> ApiClient:
        return ApiClient(api_token_issue(user=users[who]))

    return make


@pytest.fixture
def password() -> str:
    return PASSWORD
