from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from fangkong.core.models import Role, User
from tests.clients import ApiClient, api_client
from tests.factories import PASSWORD, Tree, UserFactory, build_tree

# Argon2 (the production hasher) costs ~0.15 s a password; every fixture user would pay it.
# Tests that exercise hashing itself request `argon2_hashers` to get the real setting back.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- the one clock -------------------------------------------------------------------------------
# FANGKONG_TEST_NOW (an ISO time with its offset) pins the start of every test to that instant,
# ticking from there; `make test-dates` runs the date-sensitive modules below at the awkward
# dates (a Monday, a Sunday, New Year's Eve, 29 February, Shanghai after midnight while UTC is
# still the day before). Tests derive every date from the clock, never from a literal.
TEST_NOW = "FANGKONG_TEST_NOW"
DATE_SENSITIVE = frozenset(
    {
        "command.test_ledger",
        "command.test_minutes",
        "command.test_minutes_real",
        "command.test_reports",
        "core.test_clock",
        "keygroups.test_groups",
        "keygroups.test_groups_api",
        "keygroups.test_groups_web",
        "masstesting.test_codes",
        "masstesting.test_coverage",
        "masstesting.test_ingest",
        "masstesting.test_lab",
        "masstesting.test_plan",
        "masstesting.test_rechecks",
        "masstesting.test_resolve",
        "masstesting.test_status",
        "people.test_measures",
        "people.test_measures_api",
        "people.test_measures_bulk",
        "people.test_measures_web",
        "screening.test_assistance",
        "screening.test_risk_areas",
        "screening.test_screening",
        "screening.test_screening_api",
        "screening.test_selfdeclare",
        "tracing.test_tracing",
        "tracing.test_tracing_api",
    }
)


def pinned_now() -> dt.datetime | None:
    raw = os.environ.get(TEST_NOW, "").strip()
    if not raw:
        return None
    at = dt.datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise pytest.UsageError(f"{TEST_NOW}={raw!r} needs an offset, e.g. +08:00")
    return at


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            item.module is not None
            and item.module.__name__.removeprefix("tests.") in DATE_SENSITIVE
        ):
            item.add_marker(pytest.mark.dates)


class Clock:
    """Now and today as the code under test sees them; `travel` moves the clock mid-test."""

    def __init__(self, at: dt.datetime | None) -> None:
        self._traveller: Any = None
        self._coordinates: Any = None
        if at is not None:
            self._start(at)

    def _start(self, at: dt.datetime) -> None:
        self._traveller = time_machine.travel(at, tick=True)
        self._coordinates = self._traveller.start()

    def now(self) -> dt.datetime:
        return timezone.now()

    def today(self) -> dt.date:
        return timezone.localdate()

    def travel(self, to: dt.datetime | dt.timedelta) -> None:
        target = self.now() + to if isinstance(to, dt.timedelta) else to
        if self._coordinates is None:
            self._start(target)
        else:
            self._coordinates.move_to(target)

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = self._coordinates = None


@pytest.fixture(autouse=True)
def clock() -> Iterator[Clock]:
    c = Clock(pinned_now())
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    """Let flushes truncate the audit tables, on the PostgreSQL test database only.

    The append-only triggers (core migration 0004) refuse TRUNCATE unless the setting
    `fangkong.audit_truncate` is 'allow'; a flush between transactional tests truncates every
    table. Set at database level so every later connection (threads, live server) has it.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            if conn.vendor != "postgresql":
                continue
            name = conn.ops.quote_name(conn.settings_dict["NAME"])
            with conn.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE {name} SET fangkong.audit_truncate = 'allow'")
            conn.close()  # the setting applies to sessions opened from now on


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in the cache; a test must not inherit another's requests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def argon2_hashers(settings: Any) -> list[str]:
    from config import settings as project_settings

    settings.PASSWORD_HASHERS = list(project_settings.PASSWORD_HASHERS)
    return settings.PASSWORD_HASHERS


@pytest.fixture
def tree(db: Any) -> Tree:
    return build_tree()


@pytest.fixture
def users(tree: Tree) -> dict[str, User]:
    """One user per scope that the scoping tests need, including sibling towns/districts."""
    return {
        "city": UserFactory(username="city", role=Role.COMMAND_OFFICE, region=tree.city),
        "district_a": UserFactory(username="dist_a", role=Role.DISTRICT, region=tree.district_a),
        "district_b": UserFactory(username="dist_b", role=Role.DISTRICT, region=tree.district_b),
        "town_a1": UserFactory(username="town_a1", role=Role.TOWN, region=tree.town_a1),
        "town_a2": UserFactory(username="town_a2", role=Role.TOWN, region=tree.town_a2),
        "community_a1": UserFactory(
            username="comm_a1", role=Role.COMMUNITY, region=tree.community_a1
        ),
        "lab": UserFactory(username="lab1", role=Role.LAB, institution=tree.lab),
        "admin": UserFactory(username="sysadmin", role=Role.SYSTEM_ADMIN),
        "inspector": UserFactory(username="insp", role=Role.INSPECTOR, region=tree.city),
    }


@pytest.fixture
def api_as(users: dict[str, User]) -> Any:
    def make(who: str) -> ApiClient:
        return api_client(users[who])

    return make


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def run_file_jobs(db: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Run every queued uploaded-file job, as `fangkong db_worker` would, with what runs after
    its commit (the stored file's deletion); the jobs, refreshed."""
    from fangkong.core.filejobs import file_job_run
    from fangkong.core.models import FileJob, FileJobStatus

    def run() -> list[FileJob]:
        queued = FileJob.objects.filter(status=FileJobStatus.QUEUED).order_by("created_at")
        with django_capture_on_commit_callbacks(execute=True):
            return [file_job_run(job_id=job.pk) for job in list(queued)]

    return run
