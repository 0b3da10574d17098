"""The zh-Hans catalogue is complete and in step with the code.

Every msgid of every app is translated and not fuzzy; placeholders and HTML tags survive
translation; every string the code marks for translation (Python of every app, every template)
is in the catalogue and the catalogue holds nothing else; the compiled .mo matches the .po.

The source strings are extracted the way `makemessages` sees them, without running xgettext:
Python files through `ast` (the same keywords as Django's xgettext call), templates through
Django's own `templatize`, which turns {% translate %} / {% blocktranslate %} into gettext calls.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "fangkong"
LOCALE = SOURCE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LOCALE / "django.po"
MO = LOCALE / "django.mo"
REGENERATE = (
    "cd fangkong && DJANGO_SETTINGS_MODULE=config.settings PYTHONPATH=.. "
    "../.venv/bin/python -m django makemessages -l zh_Hans --no-obsolete; translate; "
    "bash scripts/compile-messages.sh .venv/bin/python"
)


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


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
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
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


# ---------------------------------------------------------------- extraction from the source

# keyword -> positions of (context, singular, plural), as in makemessages' xgettext call
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
Msg = tuple[str | None, str, str | None]  # (context, msgid, msgid_plural)

_STRING = r"""u?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_TEMPLATE_CALL = re.compile(
    rf"\b(_|gettext|pgettext|ngettext|npgettext)\(\s*((?:{_STRING}\s*,?\s*)+)(?:count\s*)?\)"
)


def _message(name: str, args: list[str]) -> Msg | None:
    context_at, singular_at, plural_at = KEYWORDS[name]
    needed = max(i for i in (context_at, singular_at, plural_at) if i is not None)
    if len(args) <= needed:
        return None
    return (
        None if context_at is None else args[context_at],
        args[singular_at],
        None if plural_at is None else args[plural_at],
    )


def python_messages(path: Path) -> set[Msg]:
    found: set[Msg] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in KEYWORDS:
            continue
        args = []
        for arg in node.args:  # xgettext reads only leading string literals
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                break
            args.append(arg.value)
        if (message := _message(name, args)) is not None:
            found.add(message)
    return found


def template_messages(path: Path) -> set[Msg]:
    text = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    found: set[Msg] = set()
    for name, arglist in _TEMPLATE_CALL.findall(text):
        args = [ast.literal_eval(s.lstrip("u")) for s in re.findall(_STRING, arglist)]
        if (message := _message(name, args)) is not None:
            found.add(message)
    return found


def source_messages() -> dict[tuple[str | None, str], tuple[str | None, str]]:
    """(context, msgid) -> (msgid_plural, first file) for every string marked in the code."""
    found: dict[tuple[str | None, str], tuple[str | None, str]] = {}
    for path in sorted(SOURCE.rglob("*")):
        if "__pycache__" in path.parts or "locale" in path.relative_to(SOURCE).parts[:1]:
            continue
        if path.suffix == ".py":
            messages = python_messages(path)
        elif path.suffix in (".html", ".txt"):
            messages = template_messages(path)
        else:
            continue
        for context, msgid, plural in messages:
            if msgid:
                found.setdefault((context, msgid), (plural, str(path.relative_to(ROOT))))
    return found


# ---------------------------------------------------------------- tests


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


def test_extraction_sees_what_makemessages_sees(tmp_path: Path) -> None:
    py = tmp_path / "m.py"
    py.write_text(
        "from django.utils.translation import gettext_lazy as _, pgettext_lazy, ngettext\n"
        'A = _("one " "line")\nB = pgettext_lazy("ctx", "word")\n'
        'C = ngettext("%(n)s day", "%(n)s days", 2)\nD = _(name)\nE = print("not me")\n',
        encoding="utf-8",
    )
    assert python_messages(py) == {
        (None, "one line", None),
        ("ctx", "word", None),
        (None, "%(n)s day", "%(n)s days"),
    }
    html = tmp_path / "t.html"
    html.write_text(
        '{% load i18n %}<p title=\'{% translate "It\'s" %}\'>{% translate "Name" context '
        '"person" %}</p>{% blocktranslate trimmed count n=k %}\n  {{ n }} row at 5%\n'
        '{% plural %}{{ n }} rows{% endblocktranslate %}{{ x|default:_("None yet") }}',
        encoding="utf-8",
    )
    assert template_messages(html) == {
        (None, "It's", None),
        ("person", "Name", None),
        (None, "%(n)s row at 5%%", "%(n)s rows"),
        (None, "None yet", None),
    }


def test_zh_hans_catalogue_is_complete() -> None:
    entries = parse_po(PO)
    assert len(entries) > 800, "the catalogue looks truncated"
    header = entries[0]
    assert header.msgid == "" and not header.fuzzy, "the header is still marked fuzzy"
    problems = [
        f"line {e.line}: {e.msgid!r} is {'fuzzy' if e.fuzzy else 'untranslated'}"
        for e in entries[1:]
        if e.fuzzy or not all(s.strip() for s in e.msgstr)
    ]
    assert not problems, "zh_Hans catalogue needs work:\n  " + "\n  ".join(problems)


def test_every_translation_is_chinese() -> None:
    """Catches an English msgid pasted as its own translation."""
    han = re.compile(r"[\u4e00-\u9fff]")
    copied = [
        f"line {e.line}: {e.msgid!r}"
        for e in parse_po(PO)[1:]
        if not all(han.search(s) for s in e.msgstr)
    ]
    assert not copied, "translations without any Chinese:\n  " + "\n  ".join(copied)


_NAMED = re.compile(r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdifr]")
_POSITIONAL = re.compile(r"%(?!\()[-+ #0]*\d*(?:\.\d+)?[sdif]")
_BRACES = re.compile(r"\{\w*\}")
_TAGS = re.compile(r"</?[a-zA-Z][\w-]*")


def test_placeholders_and_markup_survive_translation() -> None:
    problems = []
    for e in parse_po(PO)[1:]:
        source = e.msgid + (e.msgid_plural or "")
        for s in e.msgstr:
            for pattern in (_NAMED, _BRACES, _TAGS):
                if set(pattern.findall(s)) != set(pattern.findall(source)):
                    problems.append(f"line {e.line}: {e.msgid!r} -> {s!r}")
            if Counter(_POSITIONAL.findall(s)) != Counter(_POSITIONAL.findall(e.msgid)):
                problems.append(f"line {e.line}: {e.msgid!r} -> {s!r} (%s/%d count)")
            if s.count("%%") != e.msgid.count("%%"):
                problems.append(f"line {e.line}: {e.msgid!r} -> {s!r} (literal %%)")
    assert not problems, "placeholders or tags changed:\n  " + "\n  ".join(problems)


def test_catalogue_matches_the_source() -> None:
    """Catches code or a template edited after the last makemessages run, in any app."""
    in_source = source_messages()
    in_catalogue = {e.key: e for e in parse_po(PO)[1:]}
    missing = [
        f"{where}: {msgid!r}" + (f" (context {context!r})" if context else "")
        for (context, msgid), (_plural, where) in sorted(
            in_source.items(), key=lambda item: item[1][1]
        )
        if (context, msgid) not in in_catalogue
    ]
    stale = [
        f"line {e.line}: {e.msgid!r}" for key, e in in_catalogue.items() if key not in in_source
    ]
    plural_changed = [
        f"{where}: {msgid!r} plural {plural!r}"
        for (context, msgid), (plural, where) in in_source.items()
        if (context, msgid) in in_catalogue
        and in_catalogue[(context, msgid)].msgid_plural != plural
    ]
    assert not missing, f"not in the catalogue; run\n  {REGENERATE}\n  " + "\n  ".join(missing)
    assert not stale, f"no longer in the source; run\n  {REGENERATE}\n  " + "\n  ".join(stale)
    assert not plural_changed, "plural forms changed:\n  " + "\n  ".join(plural_changed)


def test_compiled_catalogue_is_current() -> None:
    """The UI reads the .mo: a stale one shows English for the newest strings."""
    assert MO.exists(), "no django.mo: run bash scripts/compile-messages.sh .venv/bin/python"
    with MO.open("rb") as fh:
        compiled = gnu_gettext.GNUTranslations(fh)
    stale = []
    for e in parse_po(PO)[1:]:
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            got = compiled._catalog.get(msgid)  # type: ignore[attr-defined]
        else:
            got = compiled._catalog.get((msgid, 0))  # type: ignore[attr-defined]
        if got != e.msgstr[0]:
            stale.append(f"line {e.line}: {e.msgid!r}")
    assert not stale, "django.mo is older than django.po; run scripts/compile-messages.sh:\n  " + (
        "\n  ".join(stale[:20])
    )
