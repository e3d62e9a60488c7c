"""The PDFs' font: found in its package, parsed once per process, copied per document."""

from __future__ import annotations

import copy
from pathlib import Path

from fontTools import ttLib
from fpdf.fonts import SubsetMap, TTFFont

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


def fresh_copy(template: TTFFont, *, index: int) -> TTFFont:
    """A font as ``add_font`` would make it, sharing the parsed read-only tables. fpdf2
    subsets ``ttfont`` in place when a document is written and fills ``desc``, so each
    document gets a fresh lazily-read ``ttfont`` and its own descriptor and subset map."""
    font = TTFFont.__new__(TTFFont)
    for name in TTFFont.__slots__:
        if hasattr(template, name):  # a few slots are declared but never set
            setattr(font, name, getattr(template, name))
    font.i = index
    font.ttfont = ttLib.TTFont(
        template.ttffile,
        recalcTimestamp=False,
        fontNumber=template.collection_font_number,
        lazy=True,
    )
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
