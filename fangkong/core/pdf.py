"""Printable documents (notices, bulletins) as PDF with an embedded Chinese font.

A PDF that leans on the reader's fonts shows empty boxes on a phone or a print shop's PC, so
the CJK font is always embedded, subset to the characters used (a notice is ~30 kB, not the
font's 20 MB). The font is found once per process: `FANGKONG_PDF_FONT` ("path" or
"path#face-index" for a .ttc collection), else Debian's fonts-noto-cjk, else fontconfig.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess  # fc-match only, fixed arguments
from dataclasses import dataclass
from pathlib import Path

import segno
from django.conf import settings
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

# Serif (宋体-like) is what official notices are set in; the sans face is the fallback.
# Face 2 of the Noto CJK collections is the Simplified Chinese one (JP, KR, SC, TC, HK).
_KNOWN_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
)
FAMILY = "cjk"
INK = (12, 33, 64)  # the UI's navy: --fk-ink
MUTED = (90, 100, 115)


class PdfFontMissing(RuntimeError):
    """No CJK font on this machine: say what to install or configure."""


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int = 0


def _configured(value: str) -> FontFile:
    path, _sep, index = value.partition("#")
    font = FontFile(Path(path), int(index or 0))
    if not font.path.is_file():
        raise PdfFontMissing(f"FANGKONG_PDF_FONT names {font.path}, which does not exist")
    return font


def _fontconfig() -> FontFile | None:
    binary = shutil.which("fc-match")
    if binary is None:
        return None
    done = subprocess.run(  # noqa: S603  # fixed arguments, no user input
        [binary, "-f", "%{file}#%{index}", "Noto Serif CJK SC:lang=zh-cn"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    path, _sep, index = done.stdout.partition("#")
    if done.returncode or "CJK" not in path or not Path(path).is_file():
        return None
    return FontFile(Path(path), int(index or 0))


@functools.cache
def cjk_font() -> FontFile:
    configured = getattr(settings, "FANGKONG_PDF_FONT", "")
    if configured:
        return _configured(configured)
    for path, index in _KNOWN_FONTS:
        if Path(path).is_file():
            return FontFile(Path(path), index)
    found = _fontconfig()
    if found is None:
        raise PdfFontMissing(
            "no Chinese font for PDF documents: install fonts-noto-cjk "
            "(apt-get install fonts-noto-cjk) or set FANGKONG_PDF_FONT to a CJK .ttf/.otf/.ttc"
        )
    return found


def pdf_available() -> bool:
    try:
        cjk_font()
    except PdfFontMissing:
        return False
    return True


class Document:
    """An A4 page in the house layout: a centred title, paragraphs, label/value rows, a QR
    code. Text wraps by character, which is how Chinese is set (no spaces between words)."""

    def __init__(self, *, title: str, author: str) -> None:
        font = cjk_font()
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_margins(22, 22, 22)
        self.pdf.set_auto_page_break(auto=True, margin=20)
        self.pdf.add_font(FAMILY, "", str(font.path), collection_font_number=font.index)
        self.pdf.set_title(title)
        self.pdf.set_author(author)
        self.pdf.set_creator("fangkong")
        self.pdf.set_lang("zh-CN")
        self.pdf.add_page()
        self.pdf.set_text_color(*INK)

    def heading(self, text: str, *, size: float = 22) -> None:
        self.pdf.set_font(FAMILY, size=size)
        self.pdf.multi_cell(0, size * 0.6, text, align=Align.C, wrapmode=WrapMode.CHAR)
        self.pdf.ln(4)

    def line(self, text: str, *, size: float = 11, align: str = "L", muted: bool = False) -> None:
        self.pdf.set_font(FAMILY, size=size)
        self.pdf.set_text_color(*(MUTED if muted else INK))
        self.pdf.multi_cell(0, size * 0.55, text, align=Align.coerce(align), wrapmode=WrapMode.CHAR)
        self.pdf.set_text_color(*INK)

    def paragraph(self, text: str, *, size: float = 13) -> None:
        self.pdf.set_font(FAMILY, size=size)
        self.pdf.multi_cell(0, size * 0.75, text, align=Align.L, wrapmode=WrapMode.CHAR)
        self.pdf.ln(3)

    def rows(self, rows: list[tuple[str, str]], *, size: float = 12, label_width: float = 42):
        self.pdf.set_font(FAMILY, size=size)
        for label, value in rows:
            self.pdf.set_text_color(*MUTED)
            self.pdf.cell(label_width, size * 0.7, label)
            self.pdf.set_text_color(*INK)
            self.pdf.multi_cell(
                0, size * 0.7, value, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        self.pdf.ln(3)

    def rule(self) -> None:
        y = self.pdf.get_y() + 1
        self.pdf.set_draw_color(*MUTED)
        self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
        self.pdf.ln(4)

    def qr(self, payload: str, *, size: float = 34, caption: str = "") -> None:
        """A QR code at the right margin, with a caption beside it on the left."""
        image = io.BytesIO()
        segno.make_qr(payload, error="m").save(image, kind="png", scale=8, border=2)
        image.seek(0)
        top = self.pdf.get_y()
        x = self.pdf.w - self.pdf.r_margin - size
        self.pdf.image(image, x=x, y=top, w=size, h=size)
        if caption:
            self.pdf.set_xy(self.pdf.l_margin, top + 4)
            self.pdf.set_font(FAMILY, size=10)
            self.pdf.set_text_color(*MUTED)
            width = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin - size - 6
            self.pdf.multi_cell(width, 6, caption, wrapmode=WrapMode.CHAR)
            self.pdf.set_text_color(*INK)
        self.pdf.set_y(top + size + 2)

    def spacer(self, mm: float) -> None:
        self.pdf.ln(mm)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
