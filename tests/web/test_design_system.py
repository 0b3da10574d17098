"""The design system's colours live in static/css/fangkong.css as custom properties.

App stylesheets use the properties and name no colour themselves (hex or rgb), and the
form-control rule is written once, there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEX = re.compile(r"#[0-9a-fA-F]{8}\b|#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3,4}\b|rgba?\(")


def _app_colours() -> list[str]:
    found = []
    for css in sorted((ROOT / "fangkong").rglob("static/**/*.css")):
        for no, line in enumerate(css.read_text().splitlines(), start=1):
            found += [f"{css.relative_to(ROOT)}:{no} {c}" for c in HEX.findall(line)]
    return found


def test_app_css_hard_codes_no_colour() -> None:
    found = _app_colours()
    assert not found, "\n".join(found)


def test_the_form_control_rule_is_written_once() -> None:
    # an app stylesheet giving inputs their box (border, padding) copies the shared rule
    control = re.compile(r"(input|select|textarea)[^{]*\{[^}]*min-height:\s*28px[^}]*border:")
    copies = [
        str(css.relative_to(ROOT))
        for css in (ROOT / "fangkong").rglob("static/**/*.css")
        if control.search(css.read_text())
    ]
    assert not copies, copies


def test_every_property_an_app_uses_is_defined() -> None:
    defined = set(re.findall(r"(--[\w-]+)\s*:", (ROOT / "static/css/fangkong.css").read_text()))
    used = set()
    for css in (ROOT / "fangkong").rglob("static/**/*.css"):
        text = css.read_text()
        local = set(re.findall(r"(--[\w-]+)\s*:", text))
        used |= set(re.findall(r"var\((--[\w-]+)", text)) - local
    assert used <= defined, sorted(used - defined)


def test_no_inline_event_handlers_in_templates() -> None:
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [
        str(t.relative_to(ROOT))
        for t in (ROOT / "fangkong").rglob("templates/**/*.html")
        if handler.search(t.read_text())
    ]
    assert offenders == []
