"""The release notice (解除隔离告知书) as a one-page PDF.

It names the person in full (they hand it to an employer or a checkpoint) with their masked
ID number, states the dates and the negative tests, and carries a QR code whose link shows
only whether the notice is valid and its dates, so a checkpoint can verify it without the
system telling it anything personal.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from fangkong.core.models import User
from fangkong.core.pdf import Document
from fangkong.quarantine.models import Release


def _date(day: dt.date | None) -> str:
    return formats.date_format(day, "DATE_FORMAT") if day else ""


def notice_pdf(release: Release, *, verify_url: str, issuer: str) -> bytes:
    person = release.person
    doc = Document(title=_("Release from quarantine notice"), author=issuer)
    doc.heading(_("Release from quarantine notice"))
    doc.line(_("No. %(no)s") % {"no": release.notice_no}, align="C", muted=True)
    doc.spacer(6)
    values = {
        "name": person.name, "id": person.id_number_mask, "site": str(release.site),
        "start": _date(release.quarantine_from), "until": _date(release.quarantine_until),
        "days": release.days_served, "tests": release.tests_negative,
        "released": _date(release.released_on),
    }  # fmt: skip
    doc.paragraph(
        _(
            "%(name)s (ID number %(id)s) was under centralised quarantine and medical "
            "observation at %(site)s from %(start)s to %(until)s (%(days)s days). All "
            "%(tests)s tests during this period were negative. The conditions for release "
            "are met, and the centralised quarantine is released on %(released)s."
        )
        % values
    )
    if release.monitor_until:
        doc.paragraph(
            _(
                "Please continue home health monitoring until %(until)s: take your temperature "
                "twice a day, report it to your community, and stay away from gatherings."
            )
            % {"until": _date(release.monitor_until)}
        )
    doc.paragraph(
        _(
            "Keep watching your health. If you have a fever, a cough or other symptoms, go to "
            "a fever clinic at once and say that you were in quarantine."
        )
    )
    doc.spacer(4)
    doc.rows(
        [
            (_("Quarantine site"), str(release.site)),
            (_("Released on"), _date(release.released_on)),
            (_("Issued by"), issuer),
        ]
    )
    doc.rule()
    doc.qr(
        verify_url,
        caption=_(
            "Scan to verify this notice online. The page shows only whether the notice is "
            "valid and its dates, nothing about the person."
        ),
    )
    doc.line(verify_url, size=8, muted=True)
    return doc.output()


def issuer_of(user: User | None) -> str:
    region = getattr(user, "region", None)
    if region is None:
        return _("Epidemic prevention and control command")
    return _("%(region)s epidemic prevention and control command") % {"region": region.name}


def verify_url(request: HttpRequest, release: Release) -> str:
    path = reverse("quarantine_public:release_verify", args=[release.token])
    return request.build_absolute_uri(path)


def notice_response(request: HttpRequest, release: Release, *, download: bool) -> HttpResponse:
    """The notice of a confirmed release (the caller has recorded the audited print)."""
    body = notice_pdf(
        release, verify_url=verify_url(request, release), issuer=issuer_of(release.decided_by)
    )
    response = HttpResponse(body, content_type="application/pdf")
    how = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{how}; filename="{release.notice_no}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
