"""The public self-service page (/hs/<secret>/): a person's own code and latest results.

No account: the link's own secret is the credential, 32 random characters issued by staff
(codes.self_service_link_issue); the QR token, seen at every checkpoint, does not open it.
The page shows only masks (张*, 3702**********123X) besides the code and the results,
answers an unknown secret exactly like a missing page, and counts lookups per client
address (codes.py).

The secret must not reach a log line: Django's request logger writes the path of every 4xx
answer, so the 404 and 429 answers here are marked as already logged.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from fangkong.core.http import public
from fangkong.core.middleware import client_ip
from fangkong.core.vault import mask_name
from fangkong.masstesting.models import RegistrationCode
from fangkong.masstesting.results.status import person_samples
from fangkong.masstesting.sampling.services import codes

RECENT_SAMPLES = 5


def unlogged(response: HttpResponse) -> HttpResponse:
    # django.utils.log.log_response skips responses carrying this flag; the path holds the secret
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def throttled(request: HttpRequest) -> HttpResponse | None:
    """Count a public lookup from the caller's address; the 429 page past the hourly limit
    (kept out of the request log), else None."""
    try:
        codes.lookup_throttle(client_ip=client_ip(request))
    except codes.Throttled:
        response = render(request, "masstesting/public_throttled.html", status=429)
        response["Retry-After"] = "3600"
        return unlogged(response)
    return None


def open_link(request: HttpRequest, token: str) -> RegistrationCode | HttpResponse:
    """The code a personal link opens, or the answer to give instead: 429 past the
    per-address limit, 404 for an unknown secret (both kept out of the request log). Shared
    by every page a person opens with their link."""
    refused = throttled(request)
    if refused is not None:
        return refused
    code = codes.code_by_link(token)
    if code is None:
        return unlogged(render(request, "404.html", status=404))
    return code


@public("a person opens their own code and results by the secret link they were given")
@require_GET
def self_service(request: HttpRequest, token: str) -> HttpResponse:
    code = open_link(request, token)
    if isinstance(code, HttpResponse):
        return code
    person = code.person
    samples = person_samples(person_ids=[person.pk]).get(person.pk, [])
    context: dict[str, Any] = {
        "qr": codes.qr_svg(code.token, scale=8, border=2),
        "token": code.token,
        "masked_name": mask_name(person.name),
        "id_mask": person.id_number_mask,
        "region_name": person.region.name,
        "latest": samples[0] if samples else None,
        "samples": samples[:RECENT_SAMPLES],
    }
    return render(request, "masstesting/public_selfservice.html", context)
