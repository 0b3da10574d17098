"""Every read of the tracing domain; each takes the actor and returns a scoped queryset.

"Traced" and "overdue" are derived here, at query time, never stored by a scheduler:

- A close or secondary contact (generation 1 or 2) of a case is *traced* when any of:
  its trace mark says unreachable or handed to another jurisdiction; the measure proposed for
  it has been started (in force, extended, released or converted); or the person is under
  some other measure in force right now (already controlled through another case or a
  screening). A merely proposed or cancelled measure does not count.
- An investigation is *overdue* when it is open, its deadline has passed, and either the
  investigator has not marked the contacts traced or some close or secondary contact is not
  traced (new exposures can bring untraced contacts after the mark).
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from fangkong.core.models import User
from fangkong.core.scoping import scope_of, unscoped
from fangkong.core.selectors import under_region_code
from fangkong.people.measures_models import IN_FORCE_STATES
from fangkong.people.models import ControlMeasure, Person
from fangkong.people.selectors import persons as people_selectors
from fangkong.tracing.models import Case, CaseContact, Exposure, Investigation, TraceStatus

TRACED_GENERATIONS = 2  # the investigation deadline covers close and secondary contacts
STARTED_STATES = ("in_force", "extended", "released", "converted")


def untraced_contact_count(*, case: Case) -> int:
    """Close and secondary contacts of a case not yet traced; `case` was reached through a
    scoped selector (or is being written by a service that authorized it)."""
    with unscoped("the contacts of one case that was itself read in scope"):
        return untraced_contacts_qs(case_id=case.pk).count()


def untraced_contacts_qs(*, case_id: Any) -> QuerySet[CaseContact]:
    """Contacts the deadline covers that are not traced; `case_id` may be an OuterRef.

    Unscoped on purpose: it only feeds counts and EXISTS tests inside scoped queries.
    """
    under_control = ControlMeasure.objects.filter(
        person_id=OuterRef("person_id"), state__in=IN_FORCE_STATES
    )
    return (
        CaseContact.objects.filter(
            case_id=case_id,
            generation__lte=TRACED_GENERATIONS,
            trace_status=TraceStatus.PENDING,
        )
        .filter(Q(measure__isnull=True) | ~Q(measure__state__in=STARTED_STATES))
        .exclude(Exists(under_control))
    )


def overdue_condition(*, prefix: str = "", case_ref: str = "case_id") -> ExpressionWrapper:
    """The overdue rule as one SQL boolean; `prefix` reaches the investigation from a case."""
    now = timezone.now()
    untraced = Exists(untraced_contacts_qs(case_id=OuterRef(case_ref)))
    return ExpressionWrapper(
        Q(**{f"{prefix}closed_at__isnull": True, f"{prefix}deadline__lt": now})
        & (Q(**{f"{prefix}contacts_traced_at__isnull": True}) | Q(untraced)),
        output_field=BooleanField(),
    )


def case_list(
    *,
    actor: User,
    status: str | None = None,
    kind: str | None = None,
    region_code: str | None = None,
    overdue: bool | None = None,
) -> QuerySet[Case]:
    qs = (
        Case.objects.visible_to(actor)
        .select_related("person", "region", "investigation")
        .defer("person__id_number_ct", "person__phone_ct", "person__address_ct")
        .annotate(overdue=overdue_condition(prefix="investigation__", case_ref="pk"))
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    return under_region_code(qs, actor=actor, region_code=region_code)


def case_get_qs(*, actor: User) -> QuerySet[Case]:
    return case_list(actor=actor).select_related("person__region")


def investigation_list(
    *, actor: User, overdue: bool | None = None, open_only: bool = False
) -> QuerySet[Investigation]:
    qs = (
        Investigation.objects.visible_to(actor)
        .select_related("case", "case__person", "case__region")
        .defer("case__person__id_number_ct", "case__person__phone_ct", "case__person__address_ct")
        .annotate(overdue=overdue_condition())
    )
    if open_only:
        qs = qs.filter(closed_at__isnull=True)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    return qs


def contact_list(
    *, actor: User, case: Case, generation: int | None = None
) -> QuerySet[CaseContact]:
    """Contacts of a case the caller already obtained through `case_get_qs`."""
    under_control = ControlMeasure.objects.filter(
        person_id=OuterRef("person_id"), state__in=IN_FORCE_STATES
    )
    qs = (
        CaseContact.objects.visible_to(actor)
        .filter(case=case)
        .select_related("person", "person__region", "measure", "measure__plan")
        .defer("person__id_number_ct", "person__phone_ct", "person__address_ct")
        .annotate(under_control=Exists(under_control))
        .order_by("generation", "person_id")
    )
    return qs.filter(generation=generation) if generation else qs


def generation_counts(*, actor: User, case: Case) -> dict[int, int]:
    rows = (
        CaseContact.objects.visible_to(actor)
        .filter(case=case)
        .values("generation")
        .annotate(n=Count("id"))
        .order_by("generation")
    )
    return {r["generation"]: r["n"] for r in rows}


def exposure_list(*, actor: User, case: Case) -> QuerySet[Exposure]:
    return (
        Exposure.objects.visible_to(actor)
        .filter(case=case)
        .select_related("person_a", "person_b")
        .defer(
            "person_a__id_number_ct",
            "person_a__phone_ct",
            "person_a__address_ct",
            "person_b__id_number_ct",
            "person_b__phone_ct",
            "person_b__address_ct",
        )
        .order_by("day", "id")
    )


def in_jurisdiction(*, actor: User, person: Person) -> bool:
    """Whether the caller may see this person's data (the same rule as Person.visible_to)."""
    scope = scope_of(actor)
    if not scope.personal_data or scope.region_path is None:
        return False
    return person.region_path.startswith(scope.region_path)


def elsewhere_contacts(*, actor: User, case: Case) -> QuerySet[CaseContact]:
    """Contacts of the case living outside the caller's jurisdiction (for 协查 letters)."""
    scope = scope_of(actor)
    qs = (
        CaseContact.objects.visible_to(actor)
        .filter(case=case)
        .select_related("person", "person__region", "measure", "measure__plan")
        .order_by("generation", "person_id")
    )
    if scope.region_path:
        return qs.exclude(person__region_path__startswith=scope.region_path)
    return qs.none()  # a viewer over every region has nobody living elsewhere


# --- pickers of the case pages ---------------------------------------------------------------

PICK_LIMIT = 20


def person_lookup(*, actor: User, text: str) -> QuerySet[Person]:
    """Persons of the caller's jurisdiction for a picker: a document number (anything with a
    digit) matches exactly through the blind index, other text is the start of a name."""
    text = (text or "").strip()
    if not text:
        return Person.objects.visible_to(actor).none()
    if any(ch.isdigit() for ch in text):
        qs = people_selectors.person_search(actor=actor, id_number=text)
    else:
        qs = people_selectors.person_list(actor=actor, name=text)
    return qs.defer("id_number_ct", "phone_ct", "address_ct").order_by("name", "pk")


def exposure_sources(*, actor: User, case: Case, max_generation: int) -> QuerySet[CaseContact]:
    """Contacts of the case, inside the caller's jurisdiction, who may have contacts of their
    own to record (everyone nearer the case than the last generation traced)."""
    scope = scope_of(actor)
    qs = (
        CaseContact.objects.visible_to(actor)
        .filter(case=case, generation__lt=max_generation)
        .select_related("person")
        .only("id", "generation", "person__id", "person__name", "person__id_number_mask")
        .order_by("generation", "person__name", "person_id")
    )
    if not scope.personal_data or scope.region_path is None:
        return qs.none()
    return qs.filter(person__region_path__startswith=scope.region_path)
