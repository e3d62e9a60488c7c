"""Blank lines outside quoted values, to place the rejected records of a file with quotes.

DuckDB numbers a rejected record by its ``line``: the header, the records before it (a
record spanning lines counts once) and the blank lines before it, plus one. Blank lines
are not records, so a record's index is ``line - header - blank lines before``. Counted
byte by byte, a break right after a break inside a quoted value (``"60\\n\\n"``) passed for
a blank line: two rejected records took one index and an accepted record lost its own
(138 of 2,322 fuzzed files). Here a blank line counts only when it is outside quotes.

What is quoted is decided as DuckDB's parser decides it: a quote opens a value only at the
start of a field (inside an unquoted value it is a character), and the value ends at the
next quote that is not escaped. That holds for accepted records, which are well-formed;
a rejected record may not be (an unterminated quote), so its own text (DuckDB's raw line)
is skipped, and the reading starts again after it, where DuckDB's parser starts again too.
Only files with quotes and rejected records are read here, up to the last rejected record,
and only where the line scan (``checks.scan_text``) saw a blank line: a stretch without a
break right after a break holds no blank line, quoted or not, and is not read at all.
"""

from __future__ import annotations

import codecs
import mmap
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from privguard.internals.audit.ingest.readers.delimited.dialect import _open

_CHUNK = 8 << 20
RAW_LIMIT = 10_000  # DuckDB keeps this many characters of a rejected record's text


def _pattern(delim: str, quote: str, escape: str) -> re.Pattern[bytes]:
    """Quoted values (at a field's start) and blank lines' breaks, in one scan."""
    blank = rb"(?P<blank>\n(?=\r?\n))"
    if not quote:  # nothing is quoted (a dump's COPY text)
        return re.compile(blank)
    d, q = re.escape(delim.encode("utf-8")), re.escape(quote.encode("utf-8"))
    if escape and escape != quote:
        e = re.escape(escape.encode("utf-8"))
        body = rb"(?:[^" + q + e + rb"]++|" + e + rb".)*+"
    else:
        body = rb"(?:[^" + q + rb"]++|" + q + q + rb")*+"
    start = rb"(?:(?<=[" + d + rb"\n])|\A|(?<=\A\xef\xbb\xbf))"
    return re.compile(start + q + body + q + rb"|" + blank, re.DOTALL)


def _extent(pos: int, raw: str) -> tuple[int, int]:
    """Where a rejected record starts and where its text ends, 0-based.

    ``pos`` is the one ``sql.csv_rejects`` gives; DuckDB's raw text may start with the breaks before
    the record (the previous line's, and a blank line's after a CRLF), which it is not.
    """
    text = raw.lstrip("\r\n")
    first = pos - (1 if raw.startswith("\n") else 0)  # 1-based: the raw text's first byte
    start = first + len(raw) - len(text) - 1
    if len(raw) >= RAW_LIMIT:  # cut by DuckDB: its end is unknown, start again at its start
        return start, start
    return start, start + len(text.encode("utf-8", "surrogatepass"))


def _plain_copy(path: Path, compressed: bool, encoding: str, dest: Path, upto: int) -> None:
    """The text as DuckDB counts its bytes (UTF-8, uncompressed), up to ``upto`` bytes."""
    decoder = None if encoding == "utf-8" else codecs.getincrementaldecoder(encoding)()
    written = 0
    with _open(path, compressed) as fh, open(dest, "wb") as out:
        while written <= upto and (chunk := fh.read(_CHUNK)):
            data = chunk if decoder is None else decoder.decode(chunk).encode("utf-8")
            out.write(data)
            written += len(data)


def quoted_blanks_before(
    path: Path,
    compressed: bool,
    encoding: str,
    dialect: tuple[str, str, str],
    rejects: Sequence[tuple[int, str]],
    scratch: Path,
    blank_ends: np.ndarray | None = None,
) -> list[int]:
    """Blank lines outside quoted values before each rejected record.

    ``dialect`` is (delimiter, quote, escape); ``rejects`` holds (DuckDB's 1-based byte
    position, raw text); ``scratch`` is where compressed or re-encoded text is written.
    ``blank_ends``, from the line scan, is where every blank line (quoted or not) ends, in
    bytes of the text as UTF-8: stretches without one are not read.
    """
    if not rejects:
        return []
    order = sorted(range(len(rejects)), key=lambda k: rejects[k][0])
    spans = [_extent(*rejects[k]) for k in order]
    if blank_ends is not None and not _any_blank(blank_ends, spans):
        return [0] * len(rejects)  # no blank line before any of them: nothing to read
    last = max(s for s, _ in spans)
    plain = path
    if compressed or encoding != "utf-8":
        _plain_copy(path, compressed, encoding, scratch, last)
        plain = scratch
    pattern = _pattern(*dialect)
    counts: list[int] = []
    blanks = 0
    try:
        with open(plain, "rb") as fh:
            size = fh.seek(0, 2)
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            try:
                gap = 0
                for start, end in spans:
                    upto = max(gap, min(start, size))
                    maybe = blank_ends is None or _blank_between(blank_ends, gap, upto)
                    for m in pattern.finditer(buf, gap, upto) if maybe else ():
                        if m.lastgroup == "blank":
                            blanks += 1
                    counts.append(blanks)
                    gap = max(gap, end)
            finally:
                if isinstance(buf, mmap.mmap):
                    buf.close()
    finally:
        if plain is not path:
            plain.unlink(missing_ok=True)
    out = [0] * len(rejects)
    for k, n in zip(order, counts, strict=True):
        out[k] = n
    return out


def _blank_between(blank_ends: np.ndarray, start: int, end: int) -> bool:
    """Whether a blank line's break may fall in bytes ``start``..``end`` (the second break
    of ``\n\n`` or ``\n\r\n`` ends it, at most two bytes past the first)."""
    k = int(np.searchsorted(blank_ends, start, side="left"))
    return k < len(blank_ends) and int(blank_ends[k]) < end + 2


def _any_blank(blank_ends: np.ndarray, spans: list[tuple[int, int]]) -> bool:
    """Whether any stretch the placing reads (from the last record's end to the next
    record's start) may hold a blank line."""
    gap = 0
    for start, end in spans:
        if _blank_between(blank_ends, gap, max(gap, start)):
            return True
        gap = max(gap, end)
    return False


def quoted_breaks(path: Path, dialect: tuple[str, str, str], upto: int) -> list[int]:
    """Where the line breaks inside quoted values are, up to byte ``upto`` of a plain UTF-8
    file: the breaks that do not end a record (for ``long_lines.py``)."""
    pattern = _pattern(*dialect)
    out: list[int] = []
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if not size:
            return out
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            for m in pattern.finditer(buf, 0, min(upto, size)):
                if m.lastgroup != "blank" and b"\n" in m.group():
                    base = m.start()
                    text = m.group()
                    at = text.find(b"\n")
                    while at >= 0:
                        out.append(base + at)
                        at = text.find(b"\n", at + 1)
    return out
