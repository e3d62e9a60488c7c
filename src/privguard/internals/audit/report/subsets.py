"""Font subsets made once per glyph set and replayed, instead of once per PDF.

fpdf2 embeds in each PDF a subset of the TrueType font holding the glyphs the document
used: fontTools reads the font's tables, prunes them and writes the subset (about half a
letter's CPU time). That subset depends only on the font file, fpdf2's subsetting options
and the SET of glyphs (fontTools keeps the font's own glyph order), and thousands of
letters use the same few sets. So :class:`CachingProducer` (fpdf2's documented
``output_producer_class`` hook) lets fpdf2 write every PDF as usual, except that for a
font made by :func:`fonts.fresh_copy` (a :class:`SubsetFont`) the subsetting is looked up
first: on a hit, the font answers ``save`` and ``getGlyphID`` with what fontTools gave for
the same set before; on a miss fontTools subsets it and the result is kept. The PDF bytes
are the same either way (tests/test_letters_fastpath.py compares them with plain fpdf2).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import IO, Any

import fpdf.output as fpdf_output
from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf.output import OutputProducer

# Distinct glyph sets kept per process (a subset of a letter's glyphs is ~15-30 kB).
CACHE_LIMIT = 512


@dataclass(frozen=True)
class Subset:
    """What fontTools produced for one glyph set: the font file's bytes, each glyph's new
    id, and the tables it kept."""

    data: bytes
    ids: dict[str, int]
    tags: frozenset[str]


SUBSETS: dict[tuple[Any, ...], Subset] = {}


class SubsetFont(ttLib.TTFont):  # type: ignore[misc]
    """A lazily read TTFont that can replay a cached subset of itself (see module doc)."""

    def __init__(self, path: str, *, number: int) -> None:
        super().__init__(path, recalcTimestamp=False, fontNumber=number, lazy=True)
        self.source = (path, number)
        self.replay: Subset | None = None
        self.pending: tuple[Any, ...] | None = None

    def getGlyphID(self, glyphName: str) -> int:
        if self.replay is not None:
            return self.replay.ids[glyphName]
        return int(super().getGlyphID(glyphName))

    def __contains__(self, tag: object) -> bool:
        if self.replay is not None:
            return tag in self.replay.tags
        return bool(super().__contains__(tag))

    def save(self, file: IO[bytes], reorderTables: bool | None = True) -> None:
        if self.replay is not None:
            file.write(self.replay.data)
            return
        buf = io.BytesIO()
        super().save(buf, reorderTables)
        data = buf.getvalue()
        if self.pending is not None:
            if len(SUBSETS) >= CACHE_LIMIT:
                SUBSETS.clear()
            order = super().getGlyphOrder()
            SUBSETS[self.pending] = Subset(
                data, {name: i for i, name in enumerate(order)}, frozenset(self.keys())
            )
            self.pending = None
        file.write(data)


def _options_key(options: ftsubset.Options) -> tuple[Any, ...]:
    """The subsetting options as a hashable value (fpdf2 passes the same ones each time)."""
    return tuple(sorted((k, repr(v)) for k, v in vars(options).items()))


class _Subsetter:
    """fontTools' Subsetter, looked up in :data:`SUBSETS` first for a :class:`SubsetFont`."""

    def __init__(self, options: ftsubset.Options) -> None:
        self.options = options
        self.real = ftsubset.Subsetter(options)
        self.glyphs: frozenset[str] = frozenset()

    def populate(self, glyphs: Iterable[str] = (), **kwargs: Any) -> None:
        self.glyphs = frozenset(glyphs)
        self.real.populate(glyphs=self.glyphs, **kwargs)

    def subset(self, font: ttLib.TTFont) -> None:
        if not isinstance(font, SubsetFont):
            self.real.subset(font)
            return
        key = (font.source, self.glyphs, _options_key(self.options))
        hit = SUBSETS.get(key)
        if hit is not None:
            font.replay = hit
            return
        self.real.subset(font)
        font.pending = key


_SHIM = SimpleNamespace(Options=ftsubset.Options, Subsetter=_Subsetter)
_LOCK = threading.Lock()


@contextmanager
def _cached_subsetting() -> Iterator[None]:
    """fpdf2's output module sees the caching subsetter while a document's fonts are
    written (it names ``ftsubset`` at call time); a lock keeps threads apart."""
    with _LOCK:
        real = getattr(fpdf_output, "ftsubset")  # noqa: B009 - not exported by fpdf.output
        setattr(fpdf_output, "ftsubset", _SHIM)  # noqa: B010
        try:
            yield
        finally:
            setattr(fpdf_output, "ftsubset", real)  # noqa: B010


class CachingProducer(OutputProducer):
    """fpdf2's OutputProducer with the fonts' subsets cached (pass it to ``output``)."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        with _cached_subsetting():
            return super()._add_fonts(*args, **kwargs)
