"""Response hardening shared by the UI and the API."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from fangkong.core.scoping import scope_guard


class NoStoreMiddleware:
    """Pages and API answers may hold personal data: never let a proxy or browser cache them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            response.setdefault("Cache-Control", "no-store")
        return response


# Scripts only from our own static files: no inline script or handler, no eval, no other
# origin (command centres run on closed networks; everything is vendored). Styles keep
# 'unsafe-inline' for now: templates still carry style="" attributes (bar widths, colours)
# and htmx injects its indicator style; an injected style cannot run script.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Every HTML answer carries the policy, error pages included (they extend the base)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def client_ip(request: HttpRequest) -> str:
    """The address lock-outs and audit rows are keyed on.

    X-Forwarded-For is trusted only when a deployment says its proxy sets it, and then only
    its last entry: the proxy appends the address it saw, while everything to the left came
    from the client and is free to forge (a forged first entry would dodge the lock-out).
    """
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


class DefaultLanguageMiddleware:
    """zh-Hans unless the user chose otherwise with the language switch (cookie/session).

    A command centre's shared workstation may have an English browser; the platform's working
    language must not silently change with it, so Accept-Language is ignored.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class ScopeGuardMiddleware:
    """Every request runs under the scope guard (fangkong.core.scoping)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with scope_guard():
            return self.get_response(request)
