"""Content-Security-Policy: `script-src 'self'` holds only if no page runs inline script.

Two guards: every template file is scanned for inline handlers and inline <script> blocks
(so a page no walker reaches still cannot add one), and every UI route is rendered for the
users who open it — command office, sampler, lab, the public — and each HTML answer must
carry the policy and no inline script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver

from fangkong.core.middleware import CONTENT_SECURITY_POLICY
from fangkong.masstesting.sampling.services.codes import registration_code_for
from tests.factories.world import World, build_world
from tests.system.test_scoping_urls import _walk

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(ROOT.glob("fangkong/**/templates/**/*.html"))

HANDLER_IN_SOURCE = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


class InlineScripts(HTMLParser):
    """Collects what `script-src 'self'` would refuse: handlers, inline blocks, js: links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        self.found += [f"<{tag} {n}=…>" for n in names if re.fullmatch(r"on[a-z]+", n)]
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        for name in ("href", "action", "formaction", "src"):
            if names.get(name, "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def inline_scripts(html: str) -> list[str]:
    parser = InlineScripts()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_parser_sees_what_the_policy_refuses() -> None:
    html = (
        '<select onchange="x()"></select><script>alert(1)</script>'
        '<script src="/static/a.js"></script><a href="javascript:go()">x</a>'
        '<div data-onchange="x" data-confirm="ok?"></div>'
    )
    assert inline_scripts(html) == [
        "<select onchange=…>",
        "<script> without src",
        "<a href=javascript:…>",
    ]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_holds_inline_script(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    handler = HANDLER_IN_SOURCE.search(source)
    assert handler is None, f"inline event handler in {handler.group(0)!r}: see js/behaviours.js"
    blocks = [attrs for attrs in SCRIPT_TAG.findall(source) if "src=" not in attrs]
    assert not blocks, f"inline <script{blocks[0]}>: move it into a static file"


# -- every page, rendered -----------------------------------------------------------------


def _kwargs(world: World) -> dict[str, str]:
    o = world.objects
    return {
        "measure_id": o["measure"].pk,
        "record_id": o["record"].pk,
        "area_id": o["area"].pk,
        "zone_id": o["zone"].pk,
        "rule_id": o["rule"].pk,
        "request_id": o["request"].pk,
        "case_id": o["case"].pk,
        "contact_id": o["contact"].pk,
        "investigation_id": o["investigation"].pk,
        "key": o["plan_key"],
        "campaign_id": o["campaign"].pk,
        "point_id": o["point"].pk,
        "batch_id": o["batch"].pk,
        "box_id": o["box"].pk,
        "regime_id": o["regime"].pk,
        "task_id": o["task"].pk,
        "token": registration_code_for(person=o["resident"]).token,
        "person_id": o["person"].pk,
        "job_id": o["job"].pk,
        "site_id": o["site"].pk,
        "room_id": o["room"].pk,
        "stay_id": o["stay"].pk,
        "transfer_id": o["transfer"].pk,
        "event_id": o["event"].pk,
        "release_id": o["release"].pk,
        "decision": "none",
        "issue_id": o["issue"].pk,
        "obligation_id": o["obligation"].pk,
        "evidence_id": o["evidence"].pk,
        "code": o["region"].code,
        "region_id": o["region"].pk,
        "action": "none",  # POST-only routes: the GET answers 405, still checked
    }


def _ui_urls(world: World) -> list[str]:
    values = {k: str(v) for k, v in _kwargs(world).items()}
    urls = []
    for route, _callback in _walk(get_resolver().url_patterns):
        if route.startswith("api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
        urls.append("/" + path)
    # pages whose interesting part shows only with a parameter
    grid = world.tree.grid_a1.pk
    urls += [f"/masstesting/codes/?grid={grid}", "/tracing/?overdue=1", "/people/?q=%E5%B1%85"]
    return urls


@dataclass
class Walk:
    pages: dict[str, int] = field(default_factory=dict)  # url as whom -> status
    wrong: list[str] = field(default_factory=list)

    def check(self, label: str, response: Any) -> None:
        if not response.get("Content-Type", "").startswith("text/html"):
            return
        self.pages[label] = response.status_code
        policy = response.get("Content-Security-Policy")
        if policy != CONTENT_SECURITY_POLICY:
            self.wrong.append(f"{label}: Content-Security-Policy is {policy!r}")
        found = inline_scripts(response.content.decode("utf-8", "replace"))
        if found:
            self.wrong.append(f"{label}: {sorted(set(found))}")


def _visit(walk: Walk, client: Client, who: str, urls: list[str]) -> None:
    for url in urls:
        walk.check(f"GET {url} as {who}", client.get(url))
        # the fragment htmx swaps in must obey the same policy
        walk.check(f"GET {url} as {who} (htmx)", client.get(url, headers={"HX-Request": "true"}))


@pytest.mark.django_db
def test_every_page_carries_the_policy_and_no_inline_script(settings: Any) -> None:
    settings.MASSTESTING_LOOKUPS_PER_HOUR = 10**6
    world = build_world()
    urls = _ui_urls(world)
    walk = Walk()
    _visit(walk, Client(raise_request_exception=False), "anonymous", urls)
    for who in ("boss", "sampler", "lab"):
        user = {
            "boss": world.boss,
            "sampler": world.objects["sampler"],
            "lab": world.users[("lab", "own")],
        }[who]
        client = Client(raise_request_exception=False)
        client.force_login(user)
        _visit(walk, client, who, urls)
        if who == "boss":
            grid = world.tree.grid_a1.pk
            printed = client.post("/masstesting/codes/print/", {"grid": grid, "scope": "grid"})
            walk.check("POST /masstesting/codes/print/ as boss", printed)
    assert not walk.wrong, "\n".join(walk.wrong)
    rendered = [label for label, status in walk.pages.items() if status == 200]
    # the pages that had inline handlers or an inline config block, each really rendered
    for page in (
        "/masstesting/groups/bulletin/ as boss",
        "/masstesting/groups/members/ as boss",
        "/masstesting/rechecks/ as boss",
        "/masstesting/transport/ as sampler",
        "/masstesting/sampler/ as sampler",
        f"/masstesting/campaigns/{world.objects['campaign'].pk}/ as boss",
        f"/screening/assistance/{world.objects['request'].pk}/ as boss",
        "/tracing/ as boss",
        f"/tracing/cases/{world.objects['case'].pk}/ as boss",
        "/masstesting/codes/print/ as boss",
    ):
        assert any(page in label for label in rendered), f"{page} did not render"
    assert len(rendered) > 80, len(rendered)
