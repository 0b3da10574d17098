"""Request bodies refused by size (413) before anything reads or parses them.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE only trips once something reads the body, and answers a
bare 400; uploaded files are not counted at all and stream to a temporary file of any size.
Here the declared Content-Length is checked first:

- `RequestSizeMiddleware` (every request): a multipart upload up to UPLOAD_MAX_BYTES, any
  other body up to DATA_UPLOAD_MAX_MEMORY_SIZE; it also turns Django's own "too big" error
  (a body without a trustworthy length) into the same 413.
- `body_limit(...)` (one route): a tighter cap, for the JSON batch APIs and the smaller
  imports. On a django-ninja operation apply it with `@decorate_view(body_limit(...))`, which
  wraps the operation before authentication and payload parsing.

Under WSGI a body never exceeds its Content-Length (the server stops reading there), and a
body without one reads as empty, so the declared length is a bound, not a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

_MB = 1024 * 1024


def declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """The 413 answer, naming the limit; JSON for the API, plain text for pages."""
    size = filesizeformat(limit)
    message = _("The request is too large: at most %(size)s here") % {"size": size}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _is_multipart(request: HttpRequest) -> bool:
    return str(request.META.get("CONTENT_TYPE", "")).startswith("multipart/")


def body_limit(limit: Callable[[], int]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Cap one view's body at `limit()` bytes (read per request, so settings may change)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            cap = limit()
            if declared_length(request) > cap:
                return too_large(request, cap)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class RequestSizeMiddleware:
    """The global caps, before CSRF (which would parse a form) and before any view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_multipart(request):
            cap = int(getattr(settings, "UPLOAD_MAX_BYTES", 200 * _MB)) + _MB  # + form fields
        else:
            cap = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) or 0
        if cap and declared_length(request) > cap:
            return too_large(request, cap)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, RequestDataTooBig):
            return too_large(request, int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0))
        return None


def upload_limit(max_file_bytes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Cap a route taking one uploaded file of at most `max_file_bytes` (plus a megabyte for
    the multipart framing and the form's other fields), below the global UPLOAD_MAX_BYTES."""
    return body_limit(lambda: max_file_bytes + _MB)
