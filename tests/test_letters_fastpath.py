"""The letters' fast drawing paths write exactly what fpdf2's own methods write.

``Doc.text_cell``/``Doc.width`` bypass fpdf2's per-call machinery and ``Doc`` reuses a
parsed font; each is checked here against plain fpdf2, so an fpdf2 upgrade that changes
what ``cell()`` emits shows up as a failure instead of silently different letters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fpdf import FPDF

from privguard.internals.audit.report.pdfbase import FAMILY, HEAD_FILL, INK, Doc, font_files

AS_OF = dt.datetime(2024, 5, 1, 12, 0)
TEXTS = [
    "2013-04-02 09:15 CDT", "+15125550134", "p_3f9a0c1d2e4b", "Zoë Ñúñez-O'Brien",
    "REC-(0001)\\x", "总共 ∑ ≠", "", " ", "yes", "dump/TX27/rec_log_pg.sql:rec_log_2012:17",
    "page {nb} of", "\u0301combining", "tab\there",
]  # fmt: skip

needs_font = pytest.mark.skipif(
    font_files() is None, reason="the font package font-source-sans-pro is not installed"
)


class PlainDoc(Doc):
    """A Doc whose fonts come from fpdf2's own add_font and whose cells from cell()."""

    def _add_cached_font(self, style: str, path: Path) -> None:
        FPDF.add_font(self, FAMILY, style, str(path))

    def text_cell(self, w: float, h: float, text: str) -> None:
        self.cell(w, h, text)


def _draw(doc: Doc) -> bytes:
    doc.add_page()
    doc.set_text_color(*INK)
    doc.set_fill_color(*HEAD_FILL)
    for style in ("", "B"):
        doc.set_font(doc.fam, style, 7)
        for i, text in enumerate(TEXTS * 8):  # enough rows to run onto a second page
            doc.set_xy(20 + (i % 3) * 40, doc.get_y() + (3 if i % 3 == 0 else 0))
            if doc.get_y() > doc.page_break_trigger - 4:
                doc.add_page()
            doc.text_cell(38, 3, text)
    doc.set_text_color(0, 0, 0)  # text colour equal to the fill colour: no q/Q wrapper
    doc.set_fill_color(0, 0, 0)
    doc.text_cell(30, 3, "black on black")
    return bytes(doc.output())


@needs_font
def test_fast_cells_and_cached_fonts_write_the_same_pdf_as_fpdf2() -> None:
    expected = _draw(PlainDoc("t", AS_OF))
    assert _draw(Doc("t", AS_OF)) == expected
    assert _draw(Doc("t", AS_OF)) == expected  # a second document from the same cache


@needs_font
@pytest.mark.parametrize("size", [7, 9.5, 18])
def test_width_equals_get_string_width(size: float) -> None:
    doc = Doc("t", AS_OF)
    for style in ("", "B"):
        doc.set_font(doc.fam, style, size)
        for text in TEXTS:
            assert doc.width(text) == doc.get_string_width(text), text


def test_core_font_fallback_still_draws() -> None:
    doc = Doc("t", AS_OF)
    doc.unicode, doc.fam = False, "helvetica"
    doc.add_page()
    doc.set_font("helvetica", "", 7)
    doc.text_cell(30, 3, doc.t("Zoë – résumé"))
    assert doc.width("abc") == doc.get_string_width("abc")
    assert b"%PDF" in bytes(doc.output())[:8]


@needs_font
def test_cached_subsets_and_widths_write_the_same_pdfs_as_fpdf2(tmp_path: Path) -> None:
    """Documents sharing a glyph set replay the cached font subset, and paragraphs seen
    before replay their line breaks (with the width memo): each must equal plain fpdf2's
    bytes, on a miss and on a hit, in any order."""
    from privguard.internals.audit.report import linebreaks, subsets

    subsets.SUBSETS.clear()
    linebreaks.LINES.clear()
    texts = ["Zoë Ñúñez", "Attorney 1234", "Zoë Ñúñez", "Attorney 4321", "总共 ∑", "Attorney 1234"]
    for i, text in enumerate(texts):
        docs = []
        for cls in (PlainDoc, Doc):
            doc = cls("t", AS_OF)
            doc.add_page()
            doc.para(f"To: {text}. " * 20, 10)
            doc.h2(text)
            docs.append(doc)
        expected = bytes(docs[0].output())
        docs[1].save(tmp_path / f"{i}.pdf")
        assert (tmp_path / f"{i}.pdf").read_bytes() == expected, text
    # "Attorney 1234" and "Attorney 4321" use one glyph set: fewer subsets than documents.
    assert 0 < len(subsets.SUBSETS) < 2 * len(texts)
    assert 0 < len(linebreaks.LINES) < 2 * len(texts)  # the repeated texts were hits
