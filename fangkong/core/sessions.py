"""Session lifetime: an idle timeout measured on what a person does, and an absolute cap.

Django's own idle timeout (the cookie's age renewed on every request) cannot tell a person
from the mass-testing board refreshing itself every 15 s, so an unattended board would stay
signed in forever. Here the session keeps two stamps instead:

- `LOGIN_AT`, set when the user signs in: past `SESSION_MAX_HOURS` the session ends however
  busy it is;
- `ACTIVE_AT`, renewed by every request except those that mark themselves as background
  polls (header `X-Fangkong-Poll: 1`, sent by the board's timer and the import progress
  poller): past `SESSION_IDLE_MINUTES` without one, the session ends.

A client that marks every request as a poll only shortens its own session. Bearer-token API
clients carry no session and are not affected (their tokens have their own lifetime).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

LOGIN_AT = "fangkong_login_at"
ACTIVE_AT = "fangkong_active_at"
POLL_HEADER = "X-Fangkong-Poll"


def _now() -> float:
    # timezone.now() rather than time.time(), so one clock (and the tests' clock) rules both
    return timezone.now().timestamp()


def stamp_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """`user_logged_in` receiver: the session starts now."""
    if request is not None and hasattr(request, "session"):
        now = _now()
        request.session[LOGIN_AT] = now
        request.session[ACTIVE_AT] = now


def is_poll(request: HttpRequest) -> bool:
    return request.headers.get(POLL_HEADER) == "1"


def session_expired(session: Any, *, now: float) -> bool:
    login_at = session.get(LOGIN_AT)
    active_at = session.get(ACTIVE_AT)
    if login_at is None or active_at is None:
        return True  # signed in before these stamps existed: sign in again
    if now - float(login_at) > settings.SESSION_MAX_HOURS * 3600:
        return True
    return now - float(active_at) > settings.SESSION_IDLE_MINUTES * 60


class SessionLifetimeMiddleware:
    """Ends sessions past the idle timeout or the absolute lifetime; renews on activity.

    Sits after AuthenticationMiddleware: `logout` replaces `request.user`, so the view sees
    an anonymous request (401 on the API, a redirect to the sign-in page in the UI).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            now = _now()
            if session_expired(session, now=now):
                logout(request)
            elif not is_poll(request):
                session[ACTIVE_AT] = now
        return self.get_response(request)


__all__ = ["SessionLifetimeMiddleware", "is_poll", "session_expired", "stamp_login"]
