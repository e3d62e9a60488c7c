"""fpdf2's line breaks of a paragraph, worked out once per process and replayed.

``multi_cell`` splits text into lines with fpdf2's ``MultiLineBreak``, which measures the
line again after every character: most of a letter's CPU time once the fonts were cached,
although most of a letter's paragraphs (what the calls mean, what one can do, the
precedents) are the same words in every letter. The lines depend only on the text
fragments (their characters, graphics state and font), the width, the margins, the
alignment and the wrap mode. :func:`cached_breaks` gives ``multi_cell`` a line breaker
that looks those up first; on a hit it hands back the very lines fpdf2 made before, each
fragment re-made from this call's own fragment (``Fragment.clone``), so the document's
own font and state draw them. Only fonts made by :func:`fonts.fresh_copy` (one parsed
font per process, so the same widths) are cached; anything else goes to fpdf2 as is.
tests/test_letters_fastpath.py compares the bytes with plain fpdf2.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import fpdf.fpdf as fpdf_module
from fpdf.line_break import Fragment, MultiLineBreak, TextLine

from .fonts import MemoTTFFont

# Paragraphs kept per process before the cache starts again.
CACHE_LIMIT = 4096

# A line as (fragments as (index of the input fragment, characters, link), the other fields).
Line = tuple[tuple[tuple[int, tuple[str, ...], Any], ...], TextLine]
LINES: dict[tuple[Any, ...], tuple[Line, ...]] = {}


def _state_key(state: Any) -> tuple[Any, ...] | None:
    """A graphics state as a hashable value; None when its font is not a cached one."""
    out: list[tuple[Any, ...]] = []
    for name, value in sorted(state.as_kwargs().items()):
        if name == "current_font":
            if not isinstance(value, MemoTTFFont) or value.widths is None:
                return None
            out.append((name, value.fontkey, str(value.ttffile)))
        else:
            out.append((name, repr(value)))
    return tuple(out)


def _key(fragments: Sequence[Fragment], args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What fpdf2's line breaks depend on, or None when this call is not cached."""
    if callable(args[0]):  # a width that depends on the height
        return None
    parts: list[Any] = [repr(args)]
    for f in fragments:
        state = _state_key(f.graphics_state)
        if state is None or type(f) is not Fragment:
            return None
        parts.append(("".join(f.characters), f.k, f.link, state))
    return tuple(parts)


class _Breaker:
    """``MultiLineBreak`` with its lines looked up in, or added to, :data:`LINES`."""

    def __init__(self, fragments: Sequence[Fragment], *args: Any, **kwargs: Any) -> None:
        self.fragments = fragments
        self.key = _key(fragments, (*args, tuple(sorted(kwargs.items()))))
        hit = LINES.get(self.key) if self.key is not None else None
        self.replay: Iterator[Line] | None = iter(hit) if hit is not None else None
        self.real = None if hit is not None else MultiLineBreak(fragments, *args, **kwargs)
        self.made: list[Line] | None = [] if self.key is not None else None
        if hit is not None:  # what measuring would have recorded in the font
            for f in fragments:
                font: Any = f.font  # a MemoTTFFont (see _key)
                font.biggest_size_pt = max(font.biggest_size_pt, f.font_size_pt)

    def get_line(self) -> TextLine | None:
        if self.replay is not None:
            found = next(self.replay, None)
            if found is None:
                return None
            parts, line = found
            made = [self.fragments[i].clone(characters=list(c), link=ln) for i, c, ln in parts]
            return line._replace(fragments=made)
        assert self.real is not None
        got = self.real.get_line()
        if self.made is not None:
            if got is None:
                if len(LINES) >= CACHE_LIMIT:
                    LINES.clear()
                assert self.key is not None
                LINES[self.key] = tuple(self.made)
                self.made = None
            else:
                self._record(got)
        return got

    def _record(self, line: TextLine) -> None:
        """Keep ``line`` as input-fragment indices, or stop caching if one is not a clone."""
        assert self.made is not None
        parts = []
        for f in line.fragments:
            i = next(
                (i for i, g in enumerate(self.fragments) if f.graphics_state is g.graphics_state),
                None,
            )
            if i is None or type(f) is not Fragment:
                self.made = None
                return
            parts.append((i, tuple(f.characters), f.link))
        self.made.append((tuple(parts), line._replace(fragments=())))


_LOCK = threading.RLock()


@contextmanager
def cached_breaks() -> Iterator[None]:
    """While inside, fpdf2's ``multi_cell`` breaks lines with :class:`_Breaker` (it names
    ``MultiLineBreak`` at call time); a lock keeps threads apart."""
    with _LOCK:
        real = getattr(fpdf_module, "MultiLineBreak")  # noqa: B009 - not exported
        setattr(fpdf_module, "MultiLineBreak", _Breaker)  # noqa: B010
        try:
            yield
        finally:
            setattr(fpdf_module, "MultiLineBreak", real)  # noqa: B010
