"""The /api/v1/ NinjaAPI: routers of every app, shared error answers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI

from fangkong.command.api import router as command_router
from fangkong.command.api_reports import router as reports_router
from fangkong.command.api_supervision import router as problems_router
from fangkong.core.api import router as core_router
from fangkong.core.http import API_AUTH, Conflict, Forbidden
from fangkong.core.services import LoginDelayed
from fangkong.core.validators import FieldError
from fangkong.keygroups.api import router as keygroups_router
from fangkong.masstesting.api import router as masstesting_router
from fangkong.people.api import router as people_router
from fangkong.people.api_imports import router as imports_router
from fangkong.people.api_measures import router as measures_router
from fangkong.people.search import SearchThrottled
from fangkong.quarantine.api import router as quarantine_router
from fangkong.screening.api import router as screening_router
from fangkong.tracing.api import router as tracing_router

api = NinjaAPI(
    title="fangkong API",
    version="1",
    description="Outbreak prevention-and-control command platform",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/people/imports", imports_router)
api.add_router("/people", people_router)
api.add_router("/measures", measures_router)
api.add_router("/screening", screening_router)
api.add_router("/tracing", tracing_router)
api.add_router("/masstesting/groups", keygroups_router)
api.add_router("/masstesting", masstesting_router)
api.add_router("/quarantine", quarantine_router)
api.add_router("/command/reports", reports_router)
api.add_router("/command/problems", problems_router)
api.add_router("/command", command_router)


@api.exception_handler(FieldError)
def _field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
    return api.create_response(
        request,
        {
            "detail": [
                {
                    "loc": ["body", exc.field],
                    "field": exc.field,
                    "msg": exc.message,
                    "type": "value_error",
                }
            ]
        },
        status=422,
    )


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, **exc.extra}, status=409)


@api.exception_handler(Forbidden)
def _forbidden(request: HttpRequest, exc: Forbidden) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or _("Not allowed")}, status=403)


@api.exception_handler(SearchThrottled)
def _search_throttled(request: HttpRequest, exc: SearchThrottled) -> HttpResponse:
    response = api.create_response(
        request, {"detail": _("Too many searches; try again later.")}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(LoginDelayed)
def _login_delayed(request: HttpRequest, exc: LoginDelayed) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response
