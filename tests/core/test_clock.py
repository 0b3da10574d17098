"""The suite's one clock: pinned by FANGKONG_TEST_NOW, movable inside a test."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.conftest import Clock, pinned_now


def test_clock_follows_the_pinned_instant(clock: Clock) -> None:
    at = pinned_now()
    if at is None:
        assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 1
    else:
        # ticking from the pinned instant: a test's first moments are within a minute of it
        assert abs((clock.now() - at).total_seconds()) < 60
        assert clock.today() == timezone.localdate(at)


def test_travel_moves_django_and_stdlib_time(clock: Clock) -> None:
    start = clock.now()
    clock.travel(dt.timedelta(days=3))
    assert (clock.now() - start) >= dt.timedelta(days=3)
    assert (dt.datetime.now(dt.UTC) - start) >= dt.timedelta(days=3)
    assert timezone.localdate() == timezone.localdate(start + dt.timedelta(days=3))
