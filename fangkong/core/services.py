"""Writes for accounts: login with progressive delays, API tokens, demo-account checks."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import models, transaction
from django.db.models import Count, Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from fangkong.core.audit import audit_record
from fangkong.core.models import ApiToken, LoginAttempt, User

# The first wait past the free failures; every further failure doubles it.
FIRST_DELAY_SECONDS = 1


class LoginDelayed(Exception):
    """Too many recent failures for this account or client address: wait `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("login delayed")
        self.retry_after = retry_after
        self.message = _("Too many failed logins; try again later")


def _delay(failures: int, free: int) -> float:
    """Seconds to wait after the last of `failures`: none for the free ones, then doubling."""
    if failures <= free:
        return 0.0
    return float(
        min(settings.LOGIN_MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failures - free - 1))
    )


def _wait_left(failures: models.QuerySet[LoginAttempt], *, free: int) -> float:
    found = failures.aggregate(n=Count("id"), last=Max("at"))
    if not found["n"]:
        return 0.0
    until = found["last"] + timedelta(seconds=_delay(found["n"], free))
    return (until - timezone.now()).total_seconds()


def _horizon() -> timedelta:
    """How long a failure counts: the window, and never less than the longest wait."""
    return max(
        timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES),
        timedelta(seconds=settings.LOGIN_MAX_DELAY_SECONDS),
    )


def login_wait(*, username: str, client_ip: str) -> int:
    """Whole seconds this account, or anyone from this address, must still wait (0: none)."""
    recent = LoginAttempt.objects.filter(at__gte=timezone.now() - _horizon(), success=False)
    left = _wait_left(recent.filter(username=username.lower()), free=settings.LOGIN_FREE_FAILURES)
    if client_ip:
        by_ip = recent.filter(client_ip=client_ip)
        left = max(left, _wait_left(by_ip, free=settings.LOGIN_ADDRESS_FREE_FAILURES))
    return math.ceil(left) if left > 0 else 0


def login_attempts_purge() -> int:
    """Delete attempts too old to count; called on every recorded attempt."""
    deleted, _types = LoginAttempt.objects.filter(at__lt=timezone.now() - _horizon()).delete()
    return deleted


def login_check(
    *, request: HttpRequest | None, username: str, password: str, client_ip: str
) -> User | None:
    """Authenticate, recording the attempt; raise LoginDelayed while a wait is running.

    The wait is checked before the password, so a delayed account cannot be probed, and a
    refused attempt is not recorded, so waiting it out is all a user has to do.
    """
    wait = login_wait(username=username, client_ip=client_ip)
    if wait:
        raise LoginDelayed(wait)
    user = authenticate(request, username=username, password=password)
    # one indexed delete per attempt keeps the table at one window's worth of rows
    login_attempts_purge()
    LoginAttempt.objects.create(
        username=username.lower()[:150],
        client_ip=client_ip,
        at=timezone.now(),
        success=user is not None,
    )
    if user is None:
        return None
    assert isinstance(user, User)
    # Forget only this account's failures from this address. Clearing by username OR address
    # would let an attacker reset the per-address counter (and victims' per-account counters)
    # by logging in to an account of their own between guesses.
    LoginAttempt.objects.filter(
        username=username.lower(), client_ip=client_ip, success=False
    ).delete()
    audit_record(
        actor=user, action="auth.login", object_type="user", object_id=user.pk, client_ip=client_ip
    )
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _auth_hash(user: User) -> str:
    # its own salt, so a token's hash can never stand in for a session's
    return salted_hmac("fangkong.core.ApiToken", user.password, algorithm="sha256").hexdigest()


@transaction.atomic
def api_token_issue(*, user: User) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        digest=_digest(raw),
        auth_hash=_auth_hash(user),
        expires_at=timezone.now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    return raw


def api_token_get(*, raw: str) -> ApiToken | None:
    """The live token for `raw`: unexpired, its user active, the password unchanged since."""
    token = (
        ApiToken.objects.select_related("user", "user__region", "user__institution")
        .filter(digest=_digest(raw), expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if not constant_time_compare(token.auth_hash, _auth_hash(token.user)):
        return None
    return token


def api_token_user(*, raw: str) -> User | None:
    token = api_token_get(raw=raw)
    return token.user if token is not None else None


@transaction.atomic
def auth_logout(*, actor: User, token: ApiToken | None, client_ip: str) -> None:
    """Revoke the token the request came with (the caller ends a session itself).

    Only that token: the user's other devices keep theirs until they log out, the token
    expires, or the password changes.
    """
    if token is not None:
        assert token.user_id == actor.pk
        token.delete()
    audit_record(
        actor=actor,
        action="auth.logout",
        object_type="user",
        object_id=actor.pk,
        client_ip=client_ip,
        details={"via": "token" if token is not None else "session"},
    )


def demo_accounts_present() -> bool:
    return User.objects.filter(is_demo=True).exists()
