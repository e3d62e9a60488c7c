"""The PDFs' font: found in its package, parsed once per process, copied per document."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fpdf.fonts import SubsetMap, TTFFont

from .subsets import SubsetFont

FAMILY = "sans"


def font_files() -> tuple[Path, Path] | None:
    """The regular and bold TrueType files the PDFs embed: Source Sans Pro (SIL OFL 1.1)
    from the ``font-source-sans-pro`` package, a dependency, so every machine embeds the
    very same font (no system font path, no accents lost to Helvetica). None if missing."""
    try:
        import font_source_sans_pro
    except ImportError:
        return None
    folder = Path(font_source_sans_pro.font_directory)
    regular, bold = folder / "SourceSansPro-Regular.ttf", folder / "SourceSansPro-Bold.ttf"
    return (regular, bold) if regular.is_file() and bold.is_file() else None


FONT_CACHE: dict[tuple[str, str], TTFFont] = {}
# Layout tables fpdf2's subsetter drops from every embedded font (fpdf/output.py,
# _add_fonts). fontTools still reads and decompiles GSUB/GPOS before dropping them (~25 ms
# a letter for DejaVu), so each document's font copy drops them up front; fpdf2 then also
# drops ``kern`` because the font has GPOS, so that goes too. The fast-path tests compare
# the result with plain fpdf2's bytes.
_DROPPED = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC",
            "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR")  # fmt: skip


# Entries kept per font before the width memo starts again (about 100 bytes each).
MEMO_LIMIT = 200_000


class MemoTTFFont(TTFFont):
    """A TTFFont whose plain text widths are memoized, in font units, for every document
    made from the same parsed font.

    fpdf2's line breaker (``multi_cell``) measures a line again after each character it
    adds: "T", "Th", "The" ... So one paragraph costs a sum over each of its prefixes,
    which was most of a letter's CPU time. A width here is its one-shorter prefix's plus
    one character's. The per-character widths are integers (fpdf2 rounds them), so the
    sum is exact in any order, and the result is the very float fpdf2 computes."""

    __slots__ = ("widths",)
    widths: dict[str, int] | None

    def get_text_width(
        self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None
    ) -> tuple[int, float]:
        memo = self.widths
        if memo is None or text_shaping_params or self.is_symbol:
            return super().get_text_width(text, font_size_pt, text_shaping_params)
        if font_size_pt > self.biggest_size_pt:
            self.biggest_size_pt = font_size_pt
        units = memo.get(text)
        if units is None:
            cw: Any = self.cw  # int values (see integer_widths)
            prev = memo.get(text[:-1]) if text else 0
            units = sum(cw[ord(c)] for c in text) if prev is None else prev + cw[ord(text[-1])]
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[text] = units
        return len(text), units * font_size_pt * 0.001


# One width memo per parsed font (fontkey, file), shared by its documents' copies; None
# for a font whose widths are not all integers (then fpdf2 measures as usual).
WIDTHS: dict[tuple[str, str], dict[str, int] | None] = {}


def integer_widths(font: TTFFont) -> bool:
    """Whether every character width of ``font`` is an integer (the memo's premise)."""
    cw: Any = font.cw
    default = cw.default_factory() if getattr(cw, "default_factory", None) else 0
    return isinstance(default, int) and all(type(w) is int for w in cw.values())


def fresh_copy(template: TTFFont, *, index: int) -> TTFFont:
    """A font as ``add_font`` would make it, sharing the parsed read-only tables. fpdf2
    subsets ``ttfont`` in place when a document is written and fills ``desc``, so each
    document gets a fresh lazily-read ``ttfont`` and its own descriptor and subset map."""
    font = MemoTTFFont.__new__(MemoTTFFont)
    for name in TTFFont.__slots__:
        if hasattr(template, name):  # a few slots are declared but never set
            setattr(font, name, getattr(template, name))
    key = (template.fontkey, str(template.ttffile))
    if key not in WIDTHS:
        WIDTHS[key] = {} if integer_widths(template) else None
    font.widths = WIDTHS[key]
    font.i = index
    font.ttfont = SubsetFont(str(template.ttffile), number=template.collection_font_number)
    if not template.color_font:  # kern goes only when GPOS is there (fontTools' rule)
        drop = [*_DROPPED, "kern"] if "GPOS" in font.ttfont else list(_DROPPED)
        for tag in drop:
            if tag in font.ttfont:
                del font.ttfont[tag]
    font.desc = copy.copy(template.desc)
    font.cw = copy.copy(template.cw)  # a defaultdict: reading a missing key inserts it
    font.glyph_ids = dict(template.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    return font
