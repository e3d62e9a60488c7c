"""Shared PDF plumbing (fpdf2, pure Python): fonts, fixed dates, headings, tables."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import CharVPos, TextMode
from fpdf.fonts import FontFace, TTFFont

from privguard import __version__

from .fonts import FAMILY, FONT_CACHE, font_files, fresh_copy
from .linebreaks import cached_breaks
from .subsets import CachingProducer

log = logging.getLogger(__name__)

INK = (31, 35, 40)
MUTED = (87, 96, 106)
HEAD_FILL = (232, 238, 244)
# Where a long token may break: after a space, a slash, a backslash, a dot, an underscore, a
# hyphen or a question mark (the natural joints of URLs, paths and zone names).
BREAK_AFTER = r"(?<=[ /\\._?-])"
JOINTS = "/\\._?-"


class Doc(FPDF):
    """An A4 document with a Unicode font when available and a page-numbered footer."""

    def __init__(
        self, title: str, as_of: dt.datetime, *, author: str | None = None,
        subject: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(format="A4")
        self.doc_title = title
        fonts = font_files()
        self.unicode = fonts is not None
        if fonts is not None:
            self._add_cached_font("", fonts[0])
            self._add_cached_font("B", fonts[1])
            self.fam = FAMILY
        else:
            log.warning(
                "the font package font-source-sans-pro is not installed: PDFs fall back to "
                "Helvetica and lose accents; reinstall privguard to get it"
            )
            self.fam = "helvetica"
        # Fixed metadata: the same inputs must give byte-identical files.
        self.set_creation_date(as_of)
        self.set_title(title)
        self.set_author(author or "privguard")
        if subject:
            self.set_subject(subject)
        self.set_creator(f"privguard {__version__}")
        self.set_producer(f"privguard {__version__} (fpdf2)")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages()

    def _add_cached_font(self, style: str, path: Path) -> None:
        """``add_font`` with the font parsed once per process: parsing the font took most of a
        short letter's time. Each document gets its own copy of the per-document state."""
        key = (str(path), style)
        template = FONT_CACHE.get(key)
        if template is None:
            scratch = FPDF()  # a throwaway owner, so no document ever writes the template
            scratch.add_font(FAMILY, style, str(path))
            parsed = scratch.fonts[f"{FAMILY}{style}"]
            assert isinstance(parsed, TTFFont)
            FONT_CACHE[key] = template = parsed
        if template.color_font is not None or template.is_compressed:
            self.add_font(FAMILY, style, str(path))  # state we do not know how to copy
            return
        self.fonts[template.fontkey] = fresh_copy(template, index=len(self.fonts) + 1)

    def multi_cell(self, *args: Any, **kwargs: Any) -> Any:
        """fpdf2's ``multi_cell``, with a paragraph's line breaks reused from an earlier
        document of this process when all that decides them is the same (``linebreaks``)."""
        with cached_breaks():
            return super().multi_cell(*args, **kwargs)

    def t(self, text: Any) -> str:
        """Text safe for the current font: core fonts only know Latin-1, so transliterate."""
        s = "" if text is None else str(text)
        if self.unicode:
            return s
        s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u00b7", "-")
        s = (
            s.replace("\u2018", "'")
            .replace("\u2019", "'")
            .replace("\u201c", '"')
            .replace("\u201d", '"')
        )
        folded = unicodedata.normalize("NFKD", s)
        return "".join(c for c in folded if ord(c) < 256 and not unicodedata.combining(c))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.fam, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.t(f"{self.doc_title} · page {self.page_no()} of {{nb}}"), align="C")

    def h1(self, text: str) -> None:
        self.set_font(self.fam, "B", 18)
        self.set_text_color(*INK)
        self.multi_cell(0, 9, self.t(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.ln(2)

    def h2(self, text: str, need: float = 50) -> None:
        if self.get_y() > self.h - need:
            self.add_page()
        self.ln(3)
        self.set_font(self.fam, "B", 13)
        self.set_text_color(*INK)
        self.multi_cell(0, 7, self.t(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str, size: float = 10, muted: bool = False) -> None:
        self.set_font(self.fam, "", size)
        self.set_text_color(*(MUTED if muted else INK))
        self.multi_cell(0, size * 0.5, self.t(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.ln(1.5)

    def bullets(self, items: Sequence[str], size: float = 10) -> None:
        self.set_font(self.fam, "", size)
        self.set_text_color(*INK)
        for item in items:
            self.set_x(self.l_margin + 2)
            self.multi_cell(0, size * 0.5, self.t(f"• {item}" if self.unicode else f"- {item}"),
                            new_x="LMARGIN", new_y="NEXT", align="L")  # fmt: skip
            self.ln(0.8)

    def fit_widths(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
        size: float, pad: float,
    ) -> list[float]:  # fmt: skip
        """Column widths in which no word is wider than its column, so fpdf2 never breaks
        one mid-word ("Confidenc/e"): a column too narrow for its longest word (split at
        spaces, slashes and underscores) takes room from columns with some to spare."""

        def needs(split: str) -> list[float]:
            out = []
            for i in range(len(widths)):
                longest = 0.0
                for style, cells in (("B", [headers[i]]), ("", [r[i] for r in rows])):
                    self.set_font(self.fam, style, size)
                    for cell in cells:
                        for word in re.split(split, cell):
                            longest = max(longest, self.width(word))
                out.append(longest + 2 * pad + 0.6)
            return out

        def fit(need: list[float]) -> tuple[list[float], bool]:
            out = [max(w, n) for w, n in zip(widths, need, strict=True)]
            excess = sum(out) - sum(widths)
            slack = [max(0.0, o - n) for o, n in zip(out, need, strict=True)]
            if excess <= 0:
                return out, True
            take = min(1.0, excess / sum(slack)) if sum(slack) else 0.0
            fits = excess <= sum(slack)
            return [o - sl * take for o, sl in zip(out, slack, strict=True)], fits

        # Whole words first ("America/Los_Angeles" on one line); only when the page is too
        # narrow for that, words may break after a slash or an underscore.
        out, ok = fit(needs(r"[ \u200b]+"))
        if not ok:
            out, _ = fit(needs(r"[ \u200b]+|(?<=[/\\._?-])"))
        self.set_font(self.fam, "", size)
        return out

    def grid(
        self,
        caption: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        *,
        numeric: Sequence[int] = (),
        size: float = 8.5,
        head: bool = True,
    ) -> None:
        """A captioned table; the header row repeats on each page (``head=False``: no
        header row, e.g. the cover's label/value lines)."""
        if self.get_y() > self.h - 45:  # keep a caption with its table
            self.add_page()
        if caption:
            self.set_font(self.fam, "B", 9.5)
            self.set_text_color(*INK)
            self.multi_cell(0, 5, self.t(caption), new_x="LMARGIN", new_y="NEXT")
        cells = [
            [self.t(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v) for v in r]
            for r in rows or [["None."] + [""] * (len(headers) - 1)]
        ]
        heads = [self.t(h) for h in headers]
        pad = 1.2
        fitted = self.fit_widths(heads if head else [""] * len(heads), cells, widths, size, pad)
        # A word still wider than its column (the page is full) may break at a natural
        # joint (zero-width space after / . _ - ?), never inside a word.
        for r in cells:
            for i, v in enumerate(r):
                if any(self.width(w) > fitted[i] - 2 * pad for w in v.split()):
                    r[i] = re.sub(r"(?<=[/\\._?-])(?=\S)", "\u200b", v)
        align = tuple("RIGHT" if i in numeric else "LEFT" for i in range(len(headers)))
        with self.table(
            col_widths=tuple(fitted),
            text_align=align,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
            line_height=size * 0.55,
            padding=pad,
            borders_layout="HORIZONTAL_LINES",
            repeat_headings=1 if head else 0,
            first_row_as_headings=head,
        ) as table:
            if head:
                table.row(heads)
            for r in cells:
                table.row(r)
        self.ln(3)

    def _plain_ttf(self, text: str) -> bool:
        """Whether fpdf2 would draw ``text`` as one plain fragment of the current TTF font,
        so the fast paths below give the very bytes and widths fpdf2's own methods give."""
        font = self.current_font
        return (
            self.unicode
            and isinstance(font, TTFFont)
            and not font.is_symbol
            and font.color_font is None
            and not self.text_shaping
            and not self._fallback_font_ids
            and not self.underline
            and not self.strikethrough
            and self.char_spacing == 0
            and self.font_stretching == 100
            and self.text_mode == TextMode.FILL
            and self.char_vpos == CharVPos.LINE
            and not self._record_text_quad_points
            and not (self.str_alias_nb_pages and self.str_alias_nb_pages in text)
        )

    def width(self, text: str) -> float:
        """``get_string_width(text)``, computed directly for plain TTF text: fpdf2 builds a
        fragment and a copy of its graphics state per call, which dominated long letters."""
        if not self._plain_ttf(text):
            return self.get_string_width(text)
        font = self.current_font
        assert isinstance(font, TTFFont)
        if self.font_size_pt > font.biggest_size_pt:
            font.biggest_size_pt = self.font_size_pt
        cw = font.cw
        # Same operations in the same order as fpdf2 (Fragment.get_width), so the same float.
        return sum(cw[ord(c)] for c in text) * self.font_size_pt * 0.001 / self.k

    def text_cell(self, w: float, h: float, text: str) -> None:
        """``cell(w, h, text)`` (left-aligned, no border or fill), writing the same content
        stream bytes as fpdf2 but without its per-call fragment machinery."""
        if (
            not text
            or not self.current_font_is_set_on_page
            or (self.auto_page_break and self.y + h > self.page_break_trigger)
            or not self._plain_ttf(text)
        ):
            self.cell(w, h, text)
            return
        font = self.current_font
        assert isinstance(font, TTFFont)
        if self.font_size_pt > font.biggest_size_pt:
            font.biggest_size_pt = self.font_size_pt
        k = self.k
        pick = font.subset.pick
        mapped = "".join(chr(g) for g in map(pick, map(ord, text)) if g)
        glyphs = font.escape_text(mapped)
        sl = [
            f"BT {(self.x + self.c_margin) * k:.2f} "
            f"{(self.h - self.y - 0.5 * h - 0.3 * self.font_size) * k:.2f} Td"
        ]
        color = self.text_color
        colored = color != self.fill_color
        if color is not None and colored:
            sl.append(color.serialize().lower())
        sl.append(f"({glyphs}) Tj")
        sl.append("ET")
        self._out(f"q {' '.join(sl)} Q" if colored else " ".join(sl))
        self._lasth = h
        self.x += w

    def wrap(self, text: str, width: float, max_lines: int = 8) -> list[str]:
        """Split ``text`` into lines that fit ``width``, breaking only at natural boundaries
        (:data:`BREAK_AFTER`: a space, or after ``/ . _ - ?``), so a recording URL reads
        "https://" / "recordings.securetel.example/" and never "recordings.secure" / "tel...".
        Only a run with no boundary at all that is wider than the column is cut inside.
        Past ``max_lines`` the last line ends in an ellipsis that still fits."""
        if self.width(text) <= width:
            return [text]
        lines: list[str] = []
        cur = ""
        for token in re.split(BREAK_AFTER, text):
            if not token:
                continue
            if self.width(cur + token) <= width:
                cur += token
                continue
            if cur:
                lines.append(cur)
                cur = ""
            while self.width(token) > width:  # a run with no boundary, wider than the column
                k = max(1, int(len(token) * width / self.width(token)))
                while k > 1 and self.width(token[:k]) > width:
                    k -= 1
                lines.append(token[:k])
                token = token[k:]
            cur = token
        lines.append(cur)
        lines = [ln.strip() for ln in lines]
        if len(lines) > max_lines:
            last = "".join(lines[max_lines - 1 :])
            while last and self.width(last + "…") > width:
                last = last[:-1]
            lines = lines[: max_lines - 1] + [last + "…"]
        return lines

    def long_grid(
        self,
        caption: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        *,
        size: float = 7,
    ) -> None:
        """A long table drawn with plain cells: fpdf2's table() is too slow for thousands of
        rows. The header row repeats on each page."""
        line_h, pad = size * 0.42, 1.0

        def draw(cells: Sequence[list[str]], bold: bool) -> None:
            h = max(len(c) for c in cells) * line_h + 2 * pad
            if self.get_y() + h > self.page_break_trigger:
                self.add_page()
                if not bold:
                    draw(head, True)
            x0, y0 = self.l_margin, self.get_y()
            if bold:
                self.set_fill_color(*HEAD_FILL)
                self.rect(x0, y0, sum(widths), h, style="F")
            self.set_font(self.fam, "B" if bold else "", size)
            x = x0
            for lines, w in zip(cells, widths, strict=True):
                for i, ln in enumerate(lines):
                    self.set_xy(x + pad, y0 + pad + i * line_h)
                    self.text_cell(w - 2 * pad, line_h, ln)
                x += w
            self.set_draw_color(175, 184, 193)
            self.line(x0, y0 + h, x0 + sum(widths), y0 + h)
            self.set_xy(x0, y0 + h)

        self.set_font(self.fam, "B", 9.5)
        self.set_text_color(*INK)
        self.multi_cell(0, 5, self.t(caption), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.fam, "B", size)
        head = [self.wrap(self.t(h), w - 2 * pad) for h, w in zip(headers, widths, strict=True)]
        draw(head, True)
        self.set_font(self.fam, "", size)
        for r in rows:
            draw([self.wrap(self.t(v), w - 2 * pad) for v, w in zip(r, widths, strict=True)], False)
        self.ln(3)

    def svg(self, svg: str, width: float) -> None:
        """Draw one of the report's SVG charts."""
        # fpdf2 ignores (and logs) <title>/<desc>; the PDF has its captions as text.
        data = re.sub(r"<(title|desc)\b[^>]*>.*?</\1>", "", svg, flags=re.S)
        data = data.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
        data = data.replace('font-family="inherit"', f'font-family="{self.fam}"')
        if self.get_y() > self.h - 90:
            self.add_page()
        self.image(io.BytesIO(data.encode("utf-8")), w=width)
        self.ln(2)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The fonts' subsets are cached per glyph set (same bytes as fpdf2's own producer).
        path.write_bytes(bytes(self.output(output_producer_class=CachingProducer)))
