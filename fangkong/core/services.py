"""Writes for accounts: login with lock-out, API tokens, demo-account checks."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from fangkong.core.audit import audit_record
from fangkong.core.models import ApiToken, LoginAttempt, User


class LoginLocked(Exception):
    """Too many failed logins for this account or client address."""


def _recent_failures(*, username: str, client_ip: str) -> tuple[int, int]:
    since = timezone.now() - timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    recent = LoginAttempt.objects.filter(at__gte=since, success=False)
    by_user = recent.filter(username=username.lower()).count()
    by_ip = recent.filter(client_ip=client_ip).count() if client_ip else 0
    return by_user, by_ip


def login_check(
    *, request: HttpRequest | None, username: str, password: str, client_ip: str
) -> User | None:
    """Authenticate, recording the attempt; raise LoginLocked past the failure limit.

    The lock-out is checked before the password, so a locked account cannot be probed.
    """
    limit = settings.LOGIN_MAX_FAILURES
    by_user, by_ip = _recent_failures(username=username, client_ip=client_ip)
    if by_user >= limit or by_ip >= limit:
        raise LoginLocked()
    user = authenticate(request, username=username, password=password)
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


@transaction.atomic
def api_token_issue(*, user: User) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        digest=_digest(raw),
        expires_at=timezone.now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    return raw


def api_token_user(*, raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user", "user__region", "user__institution")
        .filter(digest=_digest(raw), expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user


def demo_accounts_present() -> bool:
    return User.objects.filter(is_demo=True).exists()
