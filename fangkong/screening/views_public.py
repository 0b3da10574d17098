"""The public self-declaration page (返乡报备): no account, throttled per client address.

It only ever creates a pending record for the destination community to confirm, and answers
with a QR code of the record's random token, which carries no personal data.
"""

from __future__ import annotations

from typing import Any

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from fangkong.core.http import form_error, public
from fangkong.core.middleware import client_ip
from fangkong.core.validators import FieldError
from fangkong.screening.forms import SelfDeclarationForm
from fangkong.screening.models import ScreeningRecord, ScreeningSource
from fangkong.screening.services import arrivals as services


def qr_svg(token: str) -> str:
    """The token as an inline SVG QR code; the token is url-safe base64, so the SVG is ours."""
    code = segno.make_qr(token, error="m")
    svg = code.svg_inline(
        scale=6, border=3, dark="#0c2140", svgclass="qr-code", lineclass=None, omitsize=True
    )
    return mark_safe(svg)  # noqa: S308  # built from our own random token only


def _submit(form: SelfDeclarationForm) -> ScreeningRecord:
    data = form.cleaned_data
    destination = services.declaration_destination(data["destination"])
    screening = services.screening_validate(
        name=data["name"],
        id_type=data["id_type"],
        id_number=data["id_number"],
        phone=data["phone"],
        address=data["address"],
        source=ScreeningSource.SELF_DECLARATION,
        destination=destination,
        origin_code=data["origin_code"],
        origin_place=data["origin_place"],
        route=data["route_text"],
        arrival_at=data["arrival_at"],
        travel_mode=data["travel_mode"],
    )
    return services.self_declaration_submit(data=screening)


@public("members of the public declare their own arrival; they have no account")
@require_http_methods(["GET", "POST"])
@csrf_protect
@sensitive_post_parameters("id_number", "phone", "address", "name")
def declare(request: HttpRequest) -> HttpResponse:
    communities = services.declaration_destinations()
    if request.method != "POST":
        form = SelfDeclarationForm(communities=communities)
        return render(request, "screening/declare.html", {"form": form})
    try:
        services.declaration_throttle(client_ip=client_ip(request))
    except services.Throttled:
        context: dict[str, Any] = {"throttled": True}
        response = render(request, "screening/declare_throttled.html", context, status=429)
        response["Retry-After"] = "3600"
        return response
    form = SelfDeclarationForm(request.POST, communities=communities)
    if form.is_valid():
        try:
            record = _submit(form)
        except FieldError as exc:
            form_error(form, exc)
        else:
            context = {
                "token": record.token,
                "qr": qr_svg(record.token),
                "destination": record.destination,
                "arrival_at": record.arrival_at,
                "name": record.name,
            }
            return render(request, "screening/declare_done.html", context)
    if not form.errors:
        form.add_error(None, _("The declaration could not be saved; check the fields."))
    return render(request, "screening/declare.html", {"form": form}, status=422)
