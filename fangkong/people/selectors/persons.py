"""Every read of the person registry; each takes the actor and returns a scoped queryset."""

from __future__ import annotations

import json
import uuid

from django.db import connection
from django.db.models import QuerySet

from fangkong.core.models import User
from fangkong.core.scoping import ScopedQuerySet
from fangkong.core.selectors import under_region_code
from fangkong.core.validators import FieldError, normalize_phone
from fangkong.people.models import ImportJob, ImportRowError, Person
from fangkong.people.services.persons import id_number_index, phone_index


def person_list(
    *,
    actor: User,
    region_code: str | None = None,
    key_group: str | None = None,
    tag: str | None = None,
    name: str | None = None,
    sex: str | None = None,
) -> QuerySet[Person]:
    qs = Person.objects.visible_to(actor).select_related("region")
    qs = under_region_code(qs, actor=actor, region_code=region_code)
    if key_group:
        qs = qs.filter(key_group=key_group)
    if tag:
        qs = (
            qs.filter(tags__contains=[tag])
            if _json_contains_supported()
            # SQLite stores JSON as ASCII-escaped text ("\u5bc6\u63a5"), so the quoted
            # element must be encoded the same way to be found inside the array's text
            else qs.filter(tags__icontains=json.dumps(tag))
        )
    if name:
        qs = qs.filter(name__startswith=name.strip())
    if sex:
        qs = qs.filter(sex=sex)
    return qs


def _json_contains_supported() -> bool:
    return bool(connection.features.supports_json_field_contains)


def person_search(*, actor: User, id_number: str = "", phone: str = "") -> QuerySet[Person]:
    """Exact lookup by blind index; the plaintext never reaches a URL or a log line."""
    qs = Person.objects.visible_to(actor).select_related("region")
    if id_number.strip():
        return qs.filter(id_number_bidx=id_number_index(id_number))
    if phone.strip():
        try:
            e164 = normalize_phone(phone)
        except FieldError:
            return qs.none()
        return qs.filter(phone_bidx=phone_index(e164))
    raise FieldError("id_number", "give id_number or phone")


def person_get_qs(*, actor: User) -> QuerySet[Person]:
    return Person.objects.visible_to(actor).select_related("region", "region__parent")


def import_job_list(*, actor: User) -> QuerySet[ImportJob]:
    return ImportJob.objects.visible_to(actor).select_related("created_by")


def import_errors(*, job: ImportJob) -> QuerySet[ImportRowError]:
    """Errors of a job the caller already obtained through import_job_list."""
    return job.row_errors.all()


def import_error_list(*, actor: User, job_id: uuid.UUID | str) -> QuerySet[ImportRowError]:
    """Row errors of one job, visible exactly when the job is.

    ImportRowError has no region of its own, so its scope is inherited through the job:
    the filter goes through `import_job_list`, which applies `visible_to(actor)`.
    """
    jobs = import_job_list(actor=actor).filter(pk=job_id).values("pk")
    qs: ScopedQuerySet[ImportRowError] = (
        ScopedQuerySet(model=ImportRowError).filter(job__in=jobs).order_by("row", "id")
    )
    qs._scoped_for = actor.pk or 0
    return qs
