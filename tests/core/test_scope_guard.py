"""Scoping enforced when a query runs: inside a request, request-layer code (api, views,
selectors, template tags) that evaluates a scoped model's queryset not made by
`visible_to(actor)` fails loudly; services, related managers of rows already read in scope,
and system reads named with `unscoped(reason)` pass."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from fangkong.core.models import Role
from fangkong.core.scoping import UnscopedQuery, scope_guard, unscoped
from fangkong.people.models import Person
from tests.factories import UserFactory, make_person

pytestmark = pytest.mark.django_db


def _request_layer(source: str, module: str = "fangkong.people.views_fake") -> Any:
    """A function compiled as if it lived in `module`."""
    namespace: dict[str, Any] = {"__name__": module, "Person": Person}
    exec(compile(source, f"<{module}>", "exec"), namespace)  # noqa: S102
    return namespace["run"]


EVALUATIONS = {
    "list": "def run(qs):\n    return list(qs)",
    "count": "def run(qs):\n    return qs.count()",
    "exists": "def run(qs):\n    return qs.exists()",
    "first": "def run(qs):\n    return qs.first()",
    "get": "def run(qs):\n    return qs.get(pk=qs.model.objects.visible_to(None).none() or 0)",
    "iterator": "def run(qs):\n    return list(qs.iterator())",
    "aggregate": "def run(qs):\n    from django.db.models import Count\n"
    "    return qs.aggregate(n=Count('pk'))",
    "values": "def run(qs):\n    return list(qs.values_list('pk', flat=True))",
}


@pytest.mark.parametrize("how", sorted(EVALUATIONS))
def test_request_layer_evaluating_an_unscoped_queryset_fails_loudly(tree: Any, how: str) -> None:
    make_person(tree.community_a1)
    run = _request_layer(EVALUATIONS[how])
    with scope_guard(), pytest.raises(UnscopedQuery, match="Person"):
        run(Person.objects.all())


@pytest.mark.parametrize(
    "module",
    ["fangkong.people.api", "fangkong.people.views.persons", "fangkong.people.selectors.persons",
     "fangkong.masstesting.lab.api", "fangkong.core.templatetags.fangkong"],
)  # fmt: skip
def test_every_request_layer_module_is_guarded(tree: Any, module: str) -> None:
    run = _request_layer(EVALUATIONS["list"], module)
    with scope_guard(), pytest.raises(UnscopedQuery):
        run(Person.objects.all())


def test_scoped_querysets_related_rows_and_named_escapes_pass(tree: Any) -> None:
    person = make_person(tree.community_a1)
    town = UserFactory(role=Role.TOWN, region=tree.town_a1)
    run = _request_layer(EVALUATIONS["list"])
    with scope_guard():
        assert run(Person.objects.visible_to(town).filter(pk=person.pk)) == [person]
        # clones of a scoped queryset stay scoped
        assert run(Person.objects.visible_to(town).order_by("pk").filter(name__isnull=False))
        with unscoped("duplicate check across jurisdictions"):
            assert run(Person.objects.all()) == [person]
        with pytest.raises(UnscopedQuery):
            run(Person.objects.all())  # the escape ends with its block
    # outside a request (management commands, workers, tests) nothing is guarded
    assert run(Person.objects.all()) == [person]


def test_services_are_not_the_request_layer(tree: Any) -> None:
    make_person(tree.community_a1)
    service = _request_layer(EVALUATIONS["count"], "fangkong.people.services.persons")
    with scope_guard():
        assert service(Person.objects.all()) == 1


def test_an_escape_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"), unscoped("  "):
        pass


def test_every_request_runs_under_the_guard(tree: Any, settings: Any) -> None:
    """Through the real middleware stack: a view that reads around its selectors fails."""
    from fangkong.core import scoping

    seen: list[bool] = []
    original = scoping.ScopedQuerySet._guard

    def spy(self: Any) -> None:
        seen.append(scoping._GUARD.get())
        original(self)

    scoping.ScopedQuerySet._guard = spy  # type: ignore[method-assign]
    try:
        user = UserFactory(role=Role.TOWN, region=tree.town_a1)
        client = Client()
        client.force_login(user)
        assert client.get("/people/").status_code == 200
    finally:
        scoping.ScopedQuerySet._guard = original  # type: ignore[method-assign]
    assert seen and all(seen)
