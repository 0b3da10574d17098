"""Authentication: tokens, lock-out, password hashing, session idle timeout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from fangkong.core.models import ApiToken, AuditEvent, LoginAttempt, Role, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
START = dt.datetime(2022, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def alice(tree: Any) -> User:
    return UserFactory(username="alice", role=Role.TOWN, region=tree.town_a1)


def _login(username: str, password: str, *, ip: str = "10.0.0.1", client: Any = None) -> Any:
    return (client or Client()).post(
        TOKEN_URL,
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def _me(token: str, *, client: Any = None) -> Any:
    return (client or Client()).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_token_exchange_and_bearer_use(alice: User) -> None:
    r = _login("alice", PASSWORD)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["token_type"] == "Bearer" and len(body["token"]) >= 40
    me = _me(body["token"])
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["role"] == "town"
    # only the digest is stored, never the token itself
    assert not ApiToken.objects.filter(digest=body["token"]).exists()
    assert AuditEvent.objects.filter(action="auth.login", object_id=str(alice.pk)).exists()


def test_wrong_password_is_401_and_says_nothing_about_the_account(alice: User) -> None:
    wrong = _login("alice", "not-the-password")
    unknown = _login("nobody-here", "not-the-password", ip="10.0.0.2")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Token abc", ""])
def test_bad_token_is_401(alice: User, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    assert Client().get("/api/v1/me", headers=headers).status_code == 401
    assert Client().get("/api/v1/people", headers=headers).status_code == 401


def test_bad_token_on_a_post_is_401_not_a_csrf_403(alice: User, tree: Any) -> None:
    """API clients re-authenticate on 401; a CSRF 403 for a stale token would strand them."""
    client = Client(enforce_csrf_checks=True)
    r = client.post(
        "/api/v1/people",
        {"name": "x", "id_number": "x", "region_code": tree.grid_a1.code},
        content_type="application/json",
        headers={"Authorization": "Bearer expired-or-wrong"},
    )
    assert r.status_code == 401


def test_session_post_without_csrf_token_is_refused(alice: User, tree: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    r = client.post(
        "/api/v1/people/search", {"phone": "13800138000"}, content_type="application/json"
    )
    assert r.status_code == 403


def test_expired_token_is_401(alice: User) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        token = _login("alice", PASSWORD).json()["token"]
        traveller.shift(dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS, minutes=-1))
        assert _me(token).status_code == 200
        traveller.shift(dt.timedelta(minutes=2))
        assert _me(token).status_code == 401


def test_token_of_a_deactivated_user_is_401(alice: User) -> None:
    token = _login("alice", PASSWORD).json()["token"]
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert _me(token).status_code == 401


def test_account_locks_after_five_failures_even_with_the_right_password(alice: User) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        for i in range(settings.LOGIN_MAX_FAILURES):
            # different addresses: the per-account limit must hold on its own
            assert _login("alice", "guess", ip=f"10.1.0.{i}").status_code == 401
        locked = _login("alice", PASSWORD, ip="10.9.9.9")
        assert locked.status_code == 429
        assert locked["Retry-After"] == "900"
        assert "token" not in locked.json()
        # still locked just inside the window, released just after it
        traveller.shift(dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES, seconds=-5))
        assert _login("alice", PASSWORD, ip="10.9.9.9").status_code == 429
        traveller.shift(dt.timedelta(seconds=10))
        assert _login("alice", PASSWORD, ip="10.9.9.9").status_code == 200


def test_client_address_locks_after_five_failures_across_usernames(tree: Any) -> None:
    victims = [UserFactory(username=f"v{i}", region=tree.town_a1) for i in range(6)]
    with time_machine.travel(START, tick=False) as traveller:
        for victim in victims[:5]:
            assert _login(victim.username, "guess", ip="10.2.0.7").status_code == 401
        # a sixth account, right password, same address: refused
        assert _login(victims[5].username, PASSWORD, ip="10.2.0.7").status_code == 429
        # the same account from another address is fine (it has no failures of its own)
        assert _login(victims[5].username, PASSWORD, ip="10.2.0.8").status_code == 200
        traveller.shift(dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES, seconds=1))
        assert _login(victims[5].username, PASSWORD, ip="10.2.0.7").status_code == 200


def test_own_successful_login_does_not_reset_the_lock_on_others(alice: User, tree: Any) -> None:
    """An attacker with an account of their own must not be able to launder failures."""
    UserFactory(username="mallory", region=tree.town_a2)
    ip = "10.3.0.1"
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        assert _login("alice", "guess", ip=ip).status_code == 401
    assert _login("mallory", PASSWORD, ip=ip).status_code == 200
    assert _login("alice", "guess", ip=ip).status_code == 401
    assert _login("alice", PASSWORD, ip=ip).status_code == 429


def test_success_clears_the_accounts_own_failures(alice: User) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _login("alice", "typo", ip="10.4.0.1")
    assert _login("alice", PASSWORD, ip="10.4.0.1").status_code == 200
    assert not LoginAttempt.objects.filter(username="alice", success=False).exists()
    assert _login("alice", "typo", ip="10.4.0.1").status_code == 401
    assert _login("alice", PASSWORD, ip="10.4.0.1").status_code == 200


def test_argon2_is_the_password_hasher(argon2_hashers: list[str], tree: Any) -> None:
    assert argon2_hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    user = UserFactory(username="hashed", region=tree.town_a1)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert _login("hashed", PASSWORD).status_code == 200


# --- session idle timeout -----------------------------------------------------------------


def test_session_settings_describe_a_30_minute_idle_timeout() -> None:
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_idle_session_is_logged_out_on_the_api(alice: User) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        client = Client()
        client.force_login(alice)
        assert client.get("/api/v1/me").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        # the test client keeps the cookie forever, so only server-side expiry can refuse it
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/api/v1/people").status_code == 401


def test_active_session_stays_logged_in(alice: User) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        client = Client()
        client.force_login(alice)
        for _ in range(6):  # two hours of activity, never 30 minutes idle
            traveller.shift(dt.timedelta(minutes=20))
            assert client.get("/api/v1/me").status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/api/v1/me").status_code == 200


def test_forwarded_address_is_ignored_unless_trusted(alice: User, settings: Any) -> None:
    """Without a trusted proxy, a client-set X-Forwarded-For must not dodge the lock-out."""
    for i in range(settings.LOGIN_MAX_FAILURES):
        r = Client().post(
            TOKEN_URL,
            {"username": f"nobody{i}", "password": "guess"},
            content_type="application/json",
            REMOTE_ADDR="10.5.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
        assert r.status_code == 401
    assert _login("alice", PASSWORD, ip="10.5.0.1").status_code == 429


def test_trusted_proxy_uses_the_address_it_appended(alice: User, settings: Any) -> None:
    settings.TRUST_X_FORWARDED_FOR = True
    for i in range(settings.LOGIN_MAX_FAILURES):
        # the client forges a different first entry each time; the proxy appends the real one
        r = Client().post(
            TOKEN_URL,
            {"username": f"nobody{i}", "password": "guess"},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.254",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.5",
        )
        assert r.status_code == 401
    assert set(LoginAttempt.objects.values_list("client_ip", flat=True)) == {"203.0.113.5"}
    # another client behind the same proxy is not locked out
    other = Client().post(
        TOKEN_URL,
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert other.status_code == 200
