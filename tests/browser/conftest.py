"""Playwright against Debian's Chromium and pytest-django's live server.

Chromium starts with a fresh profile per test; the tests share one xdist group because they
share the live server's database (transactional_db flushes it after each test).
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

from fangkong.core.models import Role, User
from fangkong.people.models import Person
from tests.factories import PASSWORD, Tree, UserFactory, build_tree, make_person, make_resident_id

# Playwright's sync API runs an event loop in this thread; Django would refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


class SerialWSGIServer(WSGIServer):
    """The live server answering one request at a time, in its own thread. The in-memory
    SQLite test database is a single connection shared by that thread and the test; two
    request threads on it at once (a board fetching coverage and progress together) were
    seen to hang a loaded CI worker."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections_override = connections_override


LiveServerThread.server_class = SerialWSGIServer  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛")
KEY_GROUPS = ["", "", "", "cold_chain", "medical", "delivery", "", "school", ""]


@pytest.fixture
def csp_refused() -> list[str]:
    """What the Content-Security-Policy refused during the test; `page` fails on any."""
    return []


@pytest.fixture
def page(tmp_path: Path, csp_refused: list[str]) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make browsers)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            locale="zh-CN",
            viewport={"width": 1440, "height": 900},
        )
        context.set_default_timeout(10_000)
        watch = _csp_watcher(csp_refused)
        context.on("page", watch)
        first = context.pages[0] if context.pages else context.new_page()
        watch(first)
        try:
            yield first
        finally:
            context.close()
        if csp_refused:
            pytest.fail("Content-Security-Policy refused:\n" + "\n".join(csp_refused))


def _csp_watcher(refused: list[str]) -> Any:
    """Chromium reports what the policy blocks only on the console: collect those lines."""

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.page.url if message.page else '?'}: {message.text}")

    watched: set[int] = set()

    def watch(new_page: Any) -> None:
        if id(new_page) not in watched:  # the first page may also come as a "page" event
            watched.add(id(new_page))
            new_page.on("console", on_console)

    return watch


@dataclass
class City:
    tree: Tree
    town_user: User
    persons: list[Person]


def _square(lng: float, lat: float, size: float, skew: float) -> dict[str, Any]:
    ring = [
        [lng, lat],
        [lng + size, lat + skew],
        [lng + size * 1.1, lat + size * 0.8],
        [lng + size * 0.3, lat + size],
        [lng - size * 0.1, lat + size * 0.5],
        [lng, lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _address(rng: random.Random) -> str:
    building, unit, room = rng.randrange(1, 99), rng.randrange(1, 6), rng.randrange(101, 999)
    return f"东街{building}号{unit}单元{room}"


def reseed_configuration() -> None:
    """Data migrations' rows (plans, disease profile, screening rules) that a flush removed."""
    from django.apps import apps

    for module in (
        "fangkong.people.migrations.0003_default_measure_plans",
        "fangkong.screening.migrations.0002_default_rules",
    ):
        importlib.import_module(module).forwards(apps, None)


@pytest.fixture
def city(transactional_db: Any) -> City:
    """The small test tree, dressed up for screenshots: populations, outlines, residents."""
    reseed_configuration()
    tree = build_tree()
    rng = random.Random(7)
    for i, grid in enumerate((tree.grid_a1, tree.grid_a2, tree.grid_b1)):
        grid.polygon = _square(116.30 + i * 0.02, 39.90, 0.012, 0.002 * (i + 1))
        grid.population = 1200 + 310 * i
        grid.save()
    for region, population in (
        (tree.city, 2_180_000),
        (tree.district_a, 640_000),
        (tree.town_a1, 58_300),
        (tree.community_a1, 6_400),
    ):
        region.population = population
        region.save()
    persons = []
    for i in range(24):
        region = tree.grid_a1 if i % 3 else tree.community_a1
        persons.append(
            make_person(
                region,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
                id_number=make_resident_id(rng),
                phone=f"13{rng.randrange(10**9):09d}",
                address=_address(rng),
                key_group=KEY_GROUPS[i % len(KEY_GROUPS)],
                tags=["返乡人员"] if i % 5 == 0 else [],
            )
        )
    make_person(tree.grid_a2, name="邻镇人员")
    town_user = UserFactory(
        username="town_a1", role=Role.TOWN, region=tree.town_a1, first_name="东街街道防控办"
    )
    return City(tree=tree, town_user=town_user, persons=persons)


def login(page: Any, base_url: str, username: str = "town_a1") -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button.btn-primary")
    # the overview, or the working page of a sampler or a lab
    page.wait_for_url(lambda url: url.startswith(base_url) and "/login/" not in url)


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
