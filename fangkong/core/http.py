"""Shared pieces of the HTTP layer: authentication, the scoping markers, errors, paging.

Every API operation and UI view is marked either `@scoped` (it reads only through selectors
that call `visible_to`) or `@public("why")`; tests/system/test_scoping_urls.py walks every URL and
fails on anything unmarked.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import HttpError
from ninja.schema import DjangoGetter
from ninja.security import HttpBearer, SessionAuth
from pydantic import Field, model_validator

from fangkong.core.errors import Conflict as Conflict  # re-exported for views
from fangkong.core.errors import get_visible
from fangkong.core.models import ApiToken, Region, User
from fangkong.core.permissions import Forbidden as Forbidden  # re-exported for views
from fangkong.core.permissions import authorize
from fangkong.core.scoping import require_scoped
from fangkong.core.selectors import region_list
from fangkong.core.services import api_token_get
from fangkong.core.validators import FieldError

# a row id in a path or body: positive and within a bigint, so no id is a 500
DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]

F = TypeVar("F", bound=Callable[..., Any])
_T = TypeVar("_T")
_M = TypeVar("_M", bound=models.Model)


def scoped(func: F) -> F:
    func.fangkong_access = "scoped"  # type: ignore[attr-defined]
    return func


def public(reason: str) -> Callable[[F], F]:
    def mark(func: F) -> F:
        func.fangkong_access = f"public: {reason}"  # type: ignore[attr-defined]
        return func

    return mark


def acts(action: str) -> Callable[[F], F]:
    """Refuse a POST (403) before its form is read when the caller's role holds `action`
    nowhere in the table, so a refusal never looks like a form to fix. The service still
    checks the target's jurisdiction; this only answers the role."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                authorize(actor_of(request), action)
            return view(request, *args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = api_token_get(raw=token)
        if found is None:
            return None
        # kept for logout, which revokes the token the request came with
        request.fangkong_api_token = found  # type: ignore[attr-defined]
        request.user = found.user
        return found.user


def api_token_of(request: HttpRequest) -> ApiToken | None:
    """The bearer token this request authenticated with, None for a session."""
    return getattr(request, "fangkong_api_token", None)


class ScopedSessionAuth(SessionAuth):
    """Session auth for the same-origin UI's htmx and fetch calls (CSRF-checked)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is no session for a forged request to ride on, so
        # skip the CSRF check: otherwise an expired or wrong bearer token on a POST would
        # answer 403 "CSRF check Failed" instead of 401, and clients would not re-authenticate.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


API_AUTH = [BearerAuth(), ScopedSessionAuth()]


def actor_of(request: HttpRequest) -> User:
    auth = getattr(request, "auth", None)
    user = auth if isinstance(auth, User) else request.user
    assert isinstance(user, User)
    return user


def get_scoped_or_404(qs: models.QuerySet[_M], **lookup: Any) -> _M:
    """Out of scope and missing look the same: 404, never 403."""
    found: _M = get_visible(qs, **lookup)
    return found


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    """A workbook download. Callers name files by ids, never by uploaded names or people."""
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def is_partial(request: HttpRequest) -> bool:
    """An htmx swap wants the fragment; a history restore wants the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def live_seconds() -> int:
    """How often a live page (a round, a doctor's list) refreshes its figures by itself."""
    return max(2, int(getattr(settings, "LIVE_REFRESH_SECONDS", 30)))


def error_text(exc: Exception) -> str:
    """What a refused action shows the user: the service's message, else a generic refusal."""
    return getattr(exc, "message", None) or str(exc) or _("Not allowed")


def form_status(request: HttpRequest) -> int:
    """The status of a form page: 422 when a POST comes back to it (a write that did not
    happen, with its errors on the form), so neither a client nor a test mistakes it for
    success; htmx swaps 422 (base.html's responseHandling)."""
    return 422 if request.method == "POST" else 200


def form_error(form: Any, exc: FieldError, fields: dict[str, str] | None = None) -> None:
    """A service's field error on the form field of that name (or the one `fields` maps it
    to), else on the form as a whole."""
    target = (fields or {}).get(exc.field, exc.field)
    form.add_error(target if target in form.fields else None, exc.message)


# What a write service may refuse with; the request layer turns each into its status.
DOMAIN_ERRORS = (Forbidden, Conflict, FieldError)


def refused_status(exc: Exception) -> int:
    """The one mapping of domain errors to HTTP statuses, for pages as for the API."""
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Conflict):
        return 409
    return 422


def form_refused(form: Any, exc: Exception, fields: dict[str, str] | None = None) -> int:
    """A refused write on its form: a field error on its field, a refusal or conflict on the
    form as a whole; returns the status the page answers with.

        try:
            services.thing_create(actor=actor, **form.cleaned_data)
        except DOMAIN_ERRORS as exc:
            status = form_refused(form, exc)
        else:
            return redirect(...)
    """
    if isinstance(exc, FieldError):
        form_error(form, exc, fields)
    else:
        form.add_error(None, error_text(exc))
    return refused_status(exc)


class ErrorOut(Schema):
    """The body of a refusal (403, 404, 409): one sentence for a person to read."""

    detail: str


def int_param(raw: str | None) -> int | None:
    """An id or number from a query string or form; None when absent or not a number."""
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def page_number(request: HttpRequest) -> int:
    """The ?page= of a list page; anything that is not a positive number means the first."""
    try:
        return max(1, int(request.GET.get("page") or 1))
    except ValueError:
        return 1


# One paging shape for every list API: `items`. Lists that answered `results` before 0.3 answer
# it too, as the same rows, for one release; the README says when it goes.
RESULTS_ALIAS: Any = Field(
    default_factory=list,
    description="Deprecated: the same rows as `items`; removed in the next release.",
    json_schema_extra={"deprecated": True},
)


class Page(Schema):
    """The counts of a page; a subclass adds `items: list[...]` (and, where it once had it, the
    deprecated `results = RESULTS_ALIAS`). Either key given fills the other."""

    count: int
    page: int
    page_size: int

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data: Any) -> Any:
        if isinstance(data, DjangoGetter):  # ninja wraps what a view returns
            data = data._obj
        if isinstance(data, dict):
            if "items" not in data and "results" in data:
                data = {**data, "items": data["results"]}
            if "results" in cls.model_fields and "results" not in data and "items" in data:
                data = {**data, "results": data["items"]}
        return data


def page_slice(
    qs: models.QuerySet[_M], *, page: int, page_size: int, max_size: int = 200
) -> tuple[int, int, int, Iterable[_M]]:
    require_scoped(qs)
    page_size = min(max(page_size, 1), max_size)
    count = qs.count()
    # A page past the end is empty; clamp it to the first such page, so that a huge ?page=
    # never reaches the database as an OFFSET beyond 64 bits (an OverflowError, a 500).
    page = min(max(page, 1), -(-count // page_size) + 1)
    start = (page - 1) * page_size
    return count, page, page_size, list(qs[start : start + page_size])


def page_dict(
    qs: models.QuerySet[_M],
    *,
    page: int,
    page_size: int,
    out: Callable[[_M], Any] | None = None,
    key: str = "items",
) -> dict[str, Any]:
    """A `Page` answer: the counts and `key` holding the page's rows, each through `out`."""
    count, page, page_size, rows = page_slice(qs, page=page, page_size=page_size)
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        key: [out(r) for r in rows] if out else list(rows),
    }


class RowErrorOut(Schema):
    """One rejected row of an uploaded list: its row number, the field and why (never a value)."""

    row: int
    field: str
    field_label: str
    reason: str


class RowErrorPage(Page):
    items: list[RowErrorOut]
    results: list[RowErrorOut] = RESULTS_ALIAS


def row_error_page(
    qs: models.QuerySet[Any], *, page: int, page_size: int, field_label: Callable[[str], str]
) -> dict[str, Any]:
    """A `RowErrorPage` answer over the rejected rows of an upload (up to 1,000 a page: an
    operator fixing a sheet reads them all at once); `field_label` names a field for people."""
    count, page, size, rows = page_slice(qs, page=page, page_size=page_size, max_size=1000)
    items = [
        {
            "row": e.row,
            "field": e.field,
            "field_label": field_label(e.field),
            "reason": e.reason,
        }
        for e in rows
    ]
    return {"count": count, "page": page, "page_size": size, "items": items}


def idempotency_key_of(request: HttpRequest) -> str:
    """The Idempotency-Key header of a batch upload, required: a retry must find its answer."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        raise HttpError(422, _("The Idempotency-Key header is required (at most 128 characters)"))
    return key


def shed(gate: threading.BoundedSemaphore, work: Callable[[], _T]) -> _T | JsonResponse:
    """Run `work` if the gate has room, else answer 429 with Retry-After at once: overload is
    shed, never queued, so a rush of uploads cannot pile up threads and connections."""
    if not gate.acquire(blocking=False):
        busy = JsonResponse(
            {"detail": _("Too many uploads in progress; retry shortly")}, status=429
        )
        busy["Retry-After"] = "2"
        return busy
    try:
        return work()
    finally:
        gate.release()


def region_named(actor: User, code: str, field: str = "region_code") -> Region:
    """The region of `code` in the actor's jurisdiction; one outside it is as if none
    existed: a 422 naming the field, never a hint that it exists."""
    region: Region | None = region_list(actor=actor).filter(code=code).first()
    if region is None:
        raise FieldError(field, _("no such region: %(c)s") % {"c": code})
    return region
