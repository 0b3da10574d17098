"""The zh-Hans catalogue is complete: every msgid translated, nothing fuzzy, and every
simple {% translate %} of the UI templates present in it."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "fangkong" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TEMPLATES = ROOT / "fangkong" / "web" / "templates"


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False


def parse_po(path: Path) -> list[Entry]:
    """Enough of the PO format for a check: entries split by blank lines; obsolete ones
    (#~) skipped; continuation strings appended to the keyword above them."""
    entries: list[Entry] = []
    for block_start, block in _blocks(path.read_text(encoding="utf-8")):
        entry, key = Entry(line=block_start), ""
        for raw in block:
            if raw.startswith("#,"):
                entry.fuzzy = "fuzzy" in raw
            if raw.startswith("#"):
                continue
            if raw.startswith('"'):
                _append(entry, key, ast.literal_eval(raw))
                continue
            key, _, rest = raw.partition(" ")
            value = ast.literal_eval(rest)
            if key.startswith("msgstr"):
                entry.msgstr.append(value)
            else:
                setattr(entry, key, value)
        if entry.msgstr:
            entries.append(entry)
    return entries


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    blocks, current, start = [], [], 1
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if current:
                blocks.append((start, current))
            current, start = [], number + 1
        else:
            current.append(line)
    if current:
        blocks.append((start, current))
    return blocks


def _append(entry: Entry, key: str, value: str) -> None:
    if key.startswith("msgstr"):
        entry.msgstr[-1] += value
    else:
        setattr(entry, key, (getattr(entry, key) or "") + value)


def test_parser_reads_continuations_plurals_and_flags(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#, fuzzy, python-format\nmsgctxt "nav"\nmsgid ""\n"Long "\n"text"\nmsgstr "长"\n\n'
        'msgid "a"\nmsgid_plural "as"\nmsgstr[0] ""\n\n#~ msgid "old"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    header, long, plural = parse_po(po)
    assert header.msgid == "" and "Language" in header.msgstr[0]
    assert (long.msgctxt, long.msgid, long.msgstr, long.fuzzy) == ("nav", "Long text", ["长"], True)
    assert plural.msgid_plural == "as" and plural.msgstr == [""]


def test_zh_hans_catalogue_is_complete() -> None:
    entries = parse_po(PO)
    assert len(entries) > 200, "the catalogue looks truncated"
    header = entries[0]
    assert header.msgid == "" and not header.fuzzy, "the header is still marked fuzzy"
    problems = [
        f"line {e.line}: {e.msgid!r} is {'fuzzy' if e.fuzzy else 'untranslated'}"
        for e in entries[1:]
        if e.fuzzy or not all(s.strip() for s in e.msgstr)
    ]
    assert not problems, "zh_Hans catalogue needs work:\n  " + "\n  ".join(problems)


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for e in parse_po(PO)[1:]:
        wanted = set(placeholder.findall(e.msgid))
        for s in e.msgstr:
            assert set(placeholder.findall(s)) == wanted, f"line {e.line}: {e.msgid!r}"


_TRANSLATE = re.compile(r'{%\s*translate\s+"([^"]+)"(?:\s+context\s+"([^"]+)")?')


def test_ui_template_strings_are_in_the_catalogue() -> None:
    """Catches a template edited after the last makemessages run."""
    known = {(e.msgctxt, e.msgid) for e in parse_po(PO)}
    missing = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for msgid, context in _TRANSLATE.findall(template.read_text(encoding="utf-8")):
            if (context or None, msgid) not in known:
                missing.append(f"{template.relative_to(ROOT)}: {msgid!r}")
    assert not missing, "run makemessages and translate:\n  " + "\n  ".join(missing)
