"""Apply translations to the zh-Hans catalogue in place, keeping its header and comments.

    .venv/bin/python scripts/po-apply.py TRANSLATIONS.py [PO]

TRANSLATIONS.py defines TR = {msgid: msgstr}; a msgid with a context is written
"context\\x04msgid". Each matching entry gets its msgstr, loses its "fuzzy" flag and its
"#|" previous-msgid lines; nothing else in the file changes. Run `makemessages` first and
`scripts/compile-messages.sh` after.
"""

from __future__ import annotations

import re
import runpy
import sys

DEFAULT_PO = "fangkong/locale/zh_Hans/LC_MESSAGES/django.po"
KEYWORDS = ("msgctxt", "msgid_plural", "msgid", "msgstr")


def _unquote(line: str) -> str:
    m = re.match(r'^(?:msgctxt|msgid_plural|msgid|msgstr)?\s*"(.*)"\s*$', line)
    if not m:
        return ""
    return m.group(1).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _fields(lines: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    current = None
    for line in lines:
        for keyword in KEYWORDS:
            if line.startswith(keyword + " "):
                current, fields[keyword] = keyword, _unquote(line)
                break
        else:
            if line.startswith('"') and current:
                fields[current] += _unquote(line)
    return fields


def _rewrite(lines: list[str], msgstr: str) -> list[str]:
    out: list[str] = []
    in_msgstr = False
    for line in lines:
        if line.startswith("#|"):
            continue
        if line.startswith("#,"):
            flags = [f.strip() for f in line[2:].split(",") if f.strip() not in ("", "fuzzy")]
            if flags:
                out.append("#, " + ", ".join(flags))
            continue
        if line.startswith("msgstr"):
            in_msgstr = True
            out.append("msgstr " + _quote(msgstr))
            continue
        if in_msgstr and line.startswith('"'):
            continue
        in_msgstr = False
        out.append(line)
    return out


def main() -> None:
    translations = runpy.run_path(sys.argv[1])["TR"]
    po = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_PO
    blocks = open(po, encoding="utf-8").read().split("\n\n")
    applied = set()
    for i, block in enumerate(blocks):
        lines = block.split("\n")
        fields = _fields(lines)
        if not fields.get("msgid"):
            continue
        key = (fields["msgctxt"] + "\x04" if "msgctxt" in fields else "") + fields["msgid"]
        if key in translations:
            blocks[i] = "\n".join(_rewrite(lines, translations[key]))
            applied.add(key)
    open(po, "w", encoding="utf-8").write("\n\n".join(blocks))
    missing = sorted(set(translations) - applied)
    print(f"applied {len(applied)}; not in the catalogue: {missing[:10]}")


if __name__ == "__main__":
    main()
