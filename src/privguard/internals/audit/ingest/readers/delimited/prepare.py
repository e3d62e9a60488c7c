"""Text DuckDB cannot parse as it is, rewritten once as UTF-8 with one kind of line break.

DuckDB's ``read_csv`` reads UTF-8, little-endian UTF-16 and strict latin-1 only, and in
strict mode one kind of line break a file. Dumps hold more: Windows-1252 text (a curly
apostrophe is byte 0x92, which strict latin-1 refuses, so the whole file failed),
big-endian UTF-16, and files whose lines end in CRLF and LF by turns (concatenated
exports; the line scan, ``checks.scan_text``, finds them). Such a file is rewritten to a
scratch copy that DuckDB reads like any other: the characters are the same, and only the breaks *between* records change (a break inside a
quoted field is part of a value and is kept as it is).
"""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 16 << 20

# Windows-1252, with its five undefined bytes read as latin-1 (C1 controls): every byte
# decodes, so nothing is lost, and text without 0x80-0x9F reads exactly as latin-1 does.
_CP1252 = "".join(
    bytes([b]).decode("cp1252", "strict") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b)
    for b in range(256)
)
_C1 = bytes(range(0x80, 0xA0))


def _chunks(path: Path, compressed: bool) -> Iterator[bytes]:
    opener = gzip.open if compressed else open
    with opener(path, "rb") as fh:
        assert isinstance(fh, io.IOBase)
        while data := fh.read(_CHUNK):
            yield bytes(data)


def _decoder(encoding: str) -> codecs.IncrementalDecoder | None:
    if encoding == "latin-1":
        return None  # the table above, byte by byte
    # surrogatepass/surrogateescape: bytes that are not text reach DuckDB as invalid UTF-8,
    # which it rejects record by record with the raw text, instead of being replaced.
    errors = "surrogateescape" if encoding == "utf-8" else "surrogatepass"
    return codecs.getincrementaldecoder(encoding)(errors)


def _outside_quotes(text: str, quote: str, inside: bool) -> tuple[str, bool]:
    """``text`` with CRLF and CR outside quoted values made LF; whether it ends inside one."""
    if not quote:
        return text.replace("\r\n", "\n").replace("\r", "\n"), False
    parts = text.split(quote)
    for k in range(len(parts)):
        if not inside:
            parts[k] = parts[k].replace("\r\n", "\n").replace("\r", "\n")
        if k < len(parts) - 1:
            inside = not inside  # a doubled quote toggles twice: the parity holds
    return quote.join(parts), inside


def rewrite(
    path: Path, compressed: bool, encoding: str, dest: Path, breaks: bool, quote: str = '"'
) -> tuple[bool, bool]:
    """Write ``path`` (in ``encoding``) to ``dest`` as UTF-8; with ``breaks``, as LF lines.

    Returns whether any byte 0x80-0x9F was read as Windows-1252, and whether any break
    between records changed (for the report's warnings). A byte-order mark is dropped.
    """
    dec = _decoder(encoding)
    # UTF-8 bytes that are not text are written back as they were.
    errors = "surrogateescape" if encoding == "utf-8" else "surrogatepass"
    inside, c1, first, changed = False, False, True, False
    held = ""  # a CR at a chunk's end: the LF that may follow is in the next chunk
    with open(dest, "wb") as out:
        for data in _chunks(path, compressed):
            if dec is None:
                c1 = c1 or any(b in data for b in _C1)
                text = codecs.charmap_decode(data, "strict", _CP1252)[0]
            else:
                text = dec.decode(data)
            if first:
                text, first = text.removeprefix("\ufeff"), False
            text = held + text
            held = ""
            if breaks:
                if text.endswith("\r"):
                    text, held = text[:-1], "\r"
                was = text
                text, inside = _outside_quotes(text, quote, inside)
                changed = changed or text != was
            out.write(text.encode("utf-8", errors))
        try:
            tail = dec.decode(b"", final=True) if dec is not None else ""
        except UnicodeDecodeError:
            tail = "\ufffd"  # half a UTF-16 character cut by the end of the file
        tail += held
        if breaks:
            was = tail
            tail, inside = _outside_quotes(tail, quote, inside)
            changed = changed or tail != was
        out.write(tail.encode("utf-8", errors))
    return c1, changed


def drop_lines(path: Path, compressed: bool, n: int, dest: Path) -> None:
    """Write ``path`` without its first ``n`` lines to ``dest`` (uncompressed): the notes
    before a table, which are not records of it (they are rejected as notes)."""
    opener = gzip.open if compressed else open
    with opener(path, "rb") as fh, open(dest, "wb") as out:
        assert isinstance(fh, io.IOBase)
        for _ in range(n):
            fh.readline()
        while data := fh.read(_CHUNK):
            out.write(data)
