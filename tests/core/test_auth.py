"""Authentication: tokens, progressive login delays, password hashing, session idle timeout."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from fangkong.core.models import ApiToken, AuditEvent, LoginAttempt, Role, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


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


def test_expired_token_is_401(alice: User, clock: Any) -> None:
    clock.travel(dt.timedelta(0))
    token = _login("alice", PASSWORD).json()["token"]
    clock.travel(dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS, minutes=-1))
    assert _me(token).status_code == 200
    clock.travel(dt.timedelta(minutes=2))
    assert _me(token).status_code == 401


def test_token_of_a_deactivated_user_is_401(alice: User) -> None:
    token = _login("alice", PASSWORD).json()["token"]
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert _me(token).status_code == 401


def _waits_while_guessing(clock: Any, *, rounds: int, ip: str = "10.1.1.1") -> list[int]:
    """Each round: the right password is refused during the wait, a guess after it fails."""
    waits = []
    for _ in range(rounds):
        refused = _login("alice", PASSWORD, ip="10.9.9.9")
        assert refused.status_code == 429, refused.content
        assert "token" not in refused.json()
        waits.append(int(refused["Retry-After"]))
        clock.travel(dt.timedelta(seconds=waits[-1] + 0.5))
        assert _login("alice", "guess", ip=ip).status_code == 401
    return waits


def test_account_failures_past_the_free_ones_double_a_wait(
    alice: User, clock: Any, settings: Any
) -> None:
    clock.travel(dt.timedelta(0))
    assert settings.LOGIN_FREE_FAILURES == 5 and settings.LOGIN_MAX_DELAY_SECONDS == 300
    for i in range(settings.LOGIN_FREE_FAILURES + 1):
        # different addresses: the per-account delay must hold on its own
        assert _login("alice", "guess", ip=f"10.1.0.{i}").status_code == 401
    # every further failure doubles the wait, up to the cap
    waits = _waits_while_guessing(clock, rounds=12)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    # a correct password after the wait succeeds
    clock.travel(dt.timedelta(seconds=settings.LOGIN_MAX_DELAY_SECONDS - 2))
    assert _login("alice", PASSWORD, ip="10.9.9.9").status_code == 429
    clock.travel(dt.timedelta(seconds=3))
    assert _login("alice", PASSWORD, ip="10.9.9.9").status_code == 200


def test_the_free_failures_cost_no_wait(alice: User, clock: Any, settings: Any) -> None:
    clock.travel(dt.timedelta(0))
    for _ in range(settings.LOGIN_FREE_FAILURES):
        assert _login("alice", "typo", ip="10.1.2.1").status_code == 401
    assert _login("alice", PASSWORD, ip="10.1.2.1").status_code == 200


def test_a_colleague_mistyping_behind_the_shared_address_blocks_no_one_else(
    tree: Any, clock: Any, settings: Any
) -> None:
    clock.travel(dt.timedelta(0))
    a = UserFactory(username="clerk_a", role=Role.COMMAND_OFFICE, region=tree.city)
    b = UserFactory(username="clerk_b", role=Role.COMMAND_OFFICE, region=tree.city)
    for _ in range(settings.LOGIN_FREE_FAILURES + 1):
        assert _login(a.username, "typo", ip="127.0.0.1").status_code == 401
    # A waits a moment; B, behind the same office address, signs in at once
    assert _login(a.username, PASSWORD, ip="127.0.0.1").status_code == 429
    assert _login(b.username, PASSWORD, ip="127.0.0.1").status_code == 200
    clock.travel(dt.timedelta(seconds=2))
    assert _login(a.username, PASSWORD, ip="127.0.0.1").status_code == 200


def test_an_address_guessing_across_accounts_waits_past_its_free_failures(
    tree: Any, clock: Any, settings: Any
) -> None:
    clock.travel(dt.timedelta(0))
    assert settings.LOGIN_ADDRESS_FREE_FAILURES == 50
    victim = UserFactory(username="victim", region=tree.town_a1)
    for i in range(settings.LOGIN_ADDRESS_FREE_FAILURES):
        assert _login(f"nobody{i}", "guess", ip="10.2.0.7").status_code == 401
    assert _login(victim.username, PASSWORD, ip="10.2.0.7").status_code == 200
    assert _login("nobody-more", "guess", ip="10.2.0.7").status_code == 401
    # past the address's free failures, every account from that address waits
    refused = _login(victim.username, PASSWORD, ip="10.2.0.7")
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    # the same account from another address is fine (it has no failures of its own)
    assert _login(victim.username, PASSWORD, ip="10.2.0.8").status_code == 200
    clock.travel(dt.timedelta(seconds=2))
    assert _login(victim.username, PASSWORD, ip="10.2.0.7").status_code == 200


def test_own_successful_login_does_not_reset_the_wait_of_others(
    alice: User, tree: Any, clock: Any, settings: Any
) -> None:
    """An attacker with an account of their own must not be able to launder failures."""
    clock.travel(dt.timedelta(0))
    UserFactory(username="mallory", region=tree.town_a2)
    ip = "10.3.0.1"
    for _ in range(settings.LOGIN_FREE_FAILURES):
        assert _login("alice", "guess", ip=ip).status_code == 401
    assert _login("mallory", PASSWORD, ip=ip).status_code == 200
    assert _login("alice", "guess", ip=ip).status_code == 401
    assert _login("alice", PASSWORD, ip=ip).status_code == 429


def test_success_clears_the_accounts_own_failures(alice: User) -> None:
    for _ in range(settings.LOGIN_FREE_FAILURES - 1):
        _login("alice", "typo", ip="10.4.0.1")
    assert _login("alice", PASSWORD, ip="10.4.0.1").status_code == 200
    assert not LoginAttempt.objects.filter(username="alice", success=False).exists()
    assert _login("alice", "typo", ip="10.4.0.1").status_code == 401
    assert _login("alice", PASSWORD, ip="10.4.0.1").status_code == 200


def test_old_login_attempts_are_purged_when_a_new_one_is_written(
    alice: User, clock: Any, settings: Any
) -> None:
    clock.travel(dt.timedelta(0))
    for ip in ("10.6.0.1", "10.6.0.2"):
        _login("alice", "typo", ip=ip)
        _login("stranger", "guess", ip=ip)
    assert LoginAttempt.objects.count() == 4
    clock.travel(dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES - 1))
    _login("alice", "typo", ip="10.6.0.3")
    assert LoginAttempt.objects.count() == 5  # nothing is old enough yet
    clock.travel(dt.timedelta(minutes=2))
    assert _login("alice", PASSWORD, ip="10.6.0.4").status_code == 200
    # only the attempts still inside the window are left: the last failure and the success
    left = LoginAttempt.objects.order_by("at")
    assert [(a.client_ip, a.success) for a in left] == [("10.6.0.3", False), ("10.6.0.4", True)]


def test_the_purge_keeps_failures_as_long_as_the_longest_wait(settings: Any, clock: Any) -> None:
    from fangkong.core.services import login_attempts_purge

    clock.travel(dt.timedelta(0))
    settings.LOGIN_FAILURE_WINDOW_MINUTES = 1
    settings.LOGIN_MAX_DELAY_SECONDS = 600
    LoginAttempt.objects.create(username="x", client_ip="10.7.0.1", at=clock.now(), success=False)
    clock.travel(dt.timedelta(minutes=9))
    assert login_attempts_purge() == 0
    clock.travel(dt.timedelta(minutes=2))
    assert login_attempts_purge() == 1
    assert not LoginAttempt.objects.exists()


# --- passwords ----------------------------------------------------------------------------


def test_password_validators_are_djangos_four_with_at_least_twelve_characters() -> None:
    names = [v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
        "UserAttributeSimilarityValidator",
    ]
    assert settings.AUTH_PASSWORD_VALIDATORS[0]["OPTIONS"] == {"min_length": 12}


@pytest.mark.parametrize(
    "weak",
    [
        "Tr0ub4dor&3",  # 11 characters
        "qwerty123456",  # on the common-passwords list
        "902184736150",  # only digits
        "zhang.wei.hongqiao",  # too close to the account's own name and e-mail
    ],
)
def test_weak_passwords_are_refused(tree: Any, weak: str) -> None:
    user = UserFactory.build(
        username="zhang.wei", email="zhang.wei.hongqiao@example.org", region=tree.town_a1
    )
    with pytest.raises(ValidationError):
        validate_password(weak, user)


def test_the_test_password_passes_the_validators(alice: User) -> None:
    assert len(PASSWORD) >= 12
    validate_password(PASSWORD, alice)


def test_argon2_is_the_password_hasher(argon2_hashers: list[str], tree: Any) -> None:
    assert argon2_hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    user = UserFactory(username="hashed", region=tree.town_a1)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert _login("hashed", PASSWORD).status_code == 200


# --- logout and revocation ------------------------------------------------------------------

LOGOUT_URL = "/api/v1/auth/logout"


def _logout(token: str) -> Any:
    return Client().post(LOGOUT_URL, headers={"Authorization": f"Bearer {token}"})


def test_logout_revokes_the_token_it_was_called_with_and_only_that(alice: User) -> None:
    used = _login("alice", PASSWORD).json()["token"]
    other = _login("alice", PASSWORD).json()["token"]
    assert _logout(used).status_code == 204
    assert _me(used).status_code == 401
    assert _logout(used).status_code == 401
    assert _me(other).status_code == 200  # another device's token is not this logout's
    assert AuditEvent.objects.filter(action="auth.logout", object_id=str(alice.pk)).exists()


def test_logout_ends_the_session(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    csrf = client.cookies["csrftoken"].value
    login = {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    assert client.post("/login/", login).status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    csrf = client.cookies["csrftoken"].value  # rotated at login
    assert client.post(LOGOUT_URL, headers={"X-CSRFToken": csrf}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302


def test_logout_without_credentials_is_401() -> None:
    assert Client().post(LOGOUT_URL).status_code == 401


def test_a_password_change_ends_every_token_and_session_of_the_user(alice: User, tree: Any) -> None:
    bob = UserFactory(username="bob", region=tree.town_a1)
    tokens = [_login("alice", PASSWORD).json()["token"] for _ in range(2)]
    bobs = _login("bob", PASSWORD).json()["token"]
    session = Client()
    session.post("/login/", {"username": "alice", "password": PASSWORD})
    assert session.get("/api/v1/me").status_code == 200
    # as `manage.py changepassword` or an administrator does it
    alice.set_password("a-new-password-for-alice")
    alice.save()
    assert all(_me(t).status_code == 401 for t in tokens)
    assert session.get("/api/v1/me").status_code == 401
    assert _me(bobs).status_code == 200 and bob.pk
    fresh = _login("alice", "a-new-password-for-alice").json()["token"]
    assert _me(fresh).status_code == 200


# --- session idle timeout -----------------------------------------------------------------


def test_session_settings_describe_idle_timeout_and_absolute_lifetime() -> None:
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_MAX_HOURS == 12
    # the cookie and the stored session last the absolute lifetime; idleness is the
    # middleware's to judge, so a poll can pass without renewing anything
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_board_polling_does_not_keep_an_unattended_session_alive(
    tree: Any, users: dict[str, User], clock: Any
) -> None:
    from tests.factories.masstesting import campaign_setup

    mt = campaign_setup(tree, users)
    clock.travel(dt.timedelta(0))
    client = Client()
    client.force_login(users["city"])
    board = f"/masstesting/board/{mt.campaign.pk}/"
    assert client.get(board).status_code == 200
    poll = {"X-Fangkong-Poll": "1"}
    api = f"/api/v1/masstesting/coverage/campaigns/{mt.campaign.pk}"
    # the board refreshes every 15 s for the whole idle timeout: every poll is answered
    for _ in range(settings.SESSION_IDLE_MINUTES * 4 - 1):
        clock.travel(dt.timedelta(seconds=15))
        assert client.get(api, headers=poll).status_code == 200
        assert client.get(f"{api}/progress", headers=poll).status_code == 200
    # ... but no one touched it: the next poll finds the session gone, and so does a person
    clock.travel(dt.timedelta(seconds=30))
    assert client.get(api, headers=poll).status_code == 401
    assert client.get(board).status_code == 302


def test_the_boards_timed_refresh_marks_itself_as_a_poll() -> None:
    from pathlib import Path

    import fangkong

    root = Path(fangkong.__file__).parent
    board = (root / "masstesting/static/masstesting/board.js").read_text()
    # the one JSON fetch sets the header when asked; the board asks on the timer's refresh
    shared = (root.parent / "static/js/behaviours.js").read_text()
    assert 'headers["X-Fangkong-Poll"] = "1"' in shared
    assert "getJSON(url, { poll: poll })" in board
    assert "refresh(true)" in board  # only the timer's refresh, not a click's
    progress = (root / "people/templates/people/imports/_progress.html").read_text()
    assert "X-Fangkong-Poll" in progress


def test_a_session_ends_after_its_absolute_lifetime_however_active(alice: User, clock: Any) -> None:
    clock.travel(dt.timedelta(0))
    client = Client()
    client.force_login(alice)
    for _ in range(settings.SESSION_MAX_HOURS * 3 - 1):  # busy all day, 20 minutes apart
        clock.travel(dt.timedelta(minutes=20))
        assert client.get("/api/v1/me").status_code == 200
    clock.travel(dt.timedelta(minutes=19))
    assert client.get("/api/v1/me").status_code == 200
    clock.travel(dt.timedelta(minutes=2))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302


def test_idle_session_is_logged_out_on_the_api(alice: User, clock: Any) -> None:
    clock.travel(dt.timedelta(0))
    client = Client()
    client.force_login(alice)
    assert client.get("/api/v1/me").status_code == 200
    clock.travel(dt.timedelta(minutes=31))
    # the test client keeps the cookie forever, so only server-side expiry can refuse it
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/people").status_code == 401


def test_active_session_stays_logged_in(alice: User, clock: Any) -> None:
    clock.travel(dt.timedelta(0))
    client = Client()
    client.force_login(alice)
    for _ in range(6):  # two hours of activity, never 30 minutes idle
        clock.travel(dt.timedelta(minutes=20))
        assert client.get("/api/v1/me").status_code == 200
    clock.travel(dt.timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200


def test_forwarded_address_is_ignored_unless_trusted(alice: User, settings: Any) -> None:
    """Without a trusted proxy, a client-set X-Forwarded-For must not dodge the delay."""
    settings.LOGIN_ADDRESS_FREE_FAILURES = 3
    for i in range(settings.LOGIN_ADDRESS_FREE_FAILURES + 1):
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
    settings.LOGIN_ADDRESS_FREE_FAILURES = 3
    for i in range(settings.LOGIN_ADDRESS_FREE_FAILURES + 1):
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
