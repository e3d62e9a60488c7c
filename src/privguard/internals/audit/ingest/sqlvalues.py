"""Rewrite the VALUES body of an INSERT into one record a line, with bytes operations only.

Used by :mod:`.sqldump`. After :func:`rewrite_escapes` every ``'`` delimits a string, so
``),(`` outside strings separates records. :func:`fast_records` does this with a few array
passes for the usual shape; :func:`general_records` handles any body.
"""

from __future__ import annotations

import re

import numpy as np

FAST_MIN = 2048  # below this numpy's per-call overhead costs more than the split saves
_QUOTE, _CLOSE, _COMMA, _OPEN = 39, 41, 44, 40
SPACES = b" \t\r\n"
_BACKSLASH, _NEWLINE = 92, 10


def fast_records(body: bytes, mysql: bool) -> tuple[bytes, int] | None:
    """The records of a VALUES body, one a line, and their count; None if unusual.

    Gives exactly the bytes of :func:`rewrite_escapes` then :func:`general_records`, for the
    common shape (mysqldump's: nothing but values between strings), with a few array passes
    instead of a split on every quote: once escapes are rewritten every ``'`` delimits, so a
    byte is inside a string when an odd number of quotes precede it. Anything else (odd
    quotes, NUL, ``_binary``, blanks between values) returns None for the general way.
    """
    if b"\x00" in body or b"_binary" in body:
        return None
    a = np.frombuffer(body, np.uint8)
    if mysql and b"\\" in body:
        a = _rewrite_escapes(a)
    quotes = np.flatnonzero(a == _QUOTE)
    if len(quotes) % 2:
        return None
    for ch in SPACES:
        # Blanks are fine inside strings only (an odd number of quotes before them).
        if ch in body and not (np.searchsorted(quotes, np.flatnonzero(a == ch)) & 1).all():
            return None
    close = np.flatnonzero(a[:-2] == _CLOSE)
    close = close[(a[close + 1] == _COMMA) & (a[close + 2] == _OPEN)]
    if (np.searchsorted(quotes, close) & 1).any():
        return None
    keep = np.ones(len(a), dtype=bool)
    keep[close + 1] = False
    keep[close + 2] = False
    out = a[keep]
    out[close - 2 * np.arange(len(close))] = _NEWLINE  # each earlier boundary lost two bytes
    return out.tobytes(), len(close) + 1


def _rewrite_escapes(a: np.ndarray) -> np.ndarray:
    """:func:`rewrite_escapes` on an array: the same left-to-right pairing of backslashes."""
    bs = np.flatnonzero(a == _BACKSLASH)
    out = a.copy()
    starts = np.ones(len(bs), dtype=bool)
    starts[1:] = np.diff(bs) != 1
    first = np.flatnonzero(starts)
    offset = np.arange(len(bs)) - first[np.cumsum(starts) - 1]
    # In a run of backslashes, pairs from the left are escaped backslashes: "\\" -> "\B".
    out[bs[offset % 2 == 1]] = ord("B")
    # A backslash left over at the end of an odd run escapes the next byte: "\'" -> "''".
    nxt = bs + 1
    lone = (offset % 2 == 0) & (nxt < len(a))
    lone[lone] &= a[nxt[lone]] == _QUOTE
    out[bs[lone]] = _QUOTE
    return out


def rewrite_escapes(body: bytes) -> bytes:
    """``\\\\`` becomes ``\\B`` and ``\\'`` becomes ``''``: then every ``'`` delimits a string."""
    return body.replace(b"\\\\", b"\\B").replace(b"\\'", b"''")


def general_records(body: bytes) -> tuple[bytes, int] | None:
    """Like :func:`fast_records` for any body; None when its strings are unterminated (or NUL)."""
    parts = body.split(b"'")
    if len(parts) % 2 == 0 or b"\x00" in body:
        return None
    # Everything outside strings, joined by NUL (never in a dump line) so that one bytes
    # operation handles every gap between strings; no per-field Python.
    outside = b"\x00".join(parts[0::2])
    if b"_binary" in outside:
        outside = outside.replace(b"_binary", b"")
    if b" " in outside or b"\n" in outside or b"\t" in outside or b"\r" in outside:
        outside = outside.translate(None, SPACES)
    records = outside.count(b"),(") + 1
    parts[0::2] = outside.replace(b"),(", b"\n").split(b"\x00")
    return b"'".join(parts), records


# PostgreSQL string literals in a VALUES body. An escape string (E'...', or any string once a
# dump says ``SET standard_conforming_strings = off``) takes backslash escapes; a standard
# string only doubles its quotes. Alternatives are tried left to right, so a quote inside one
# literal never starts another.
_PG_E = rb"(?<![\w'])[Ee]'((?:[^'\\]|''|\\.)*)'"
_PG_STRINGS = {
    True: re.compile(_PG_E + rb"|('(?:[^']|'')*')", re.S),
    False: re.compile(_PG_E + rb"|'((?:[^'\\]|''|\\.)*)'", re.S),
}
_PG_MAYBE_E = re.compile(rb"(?<![\w'])[Ee]'")
_PG_ESCAPE = re.compile(
    rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S
)
_PG_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t"}


def _pg_escape(m: re.Match[bytes]) -> bytes:
    octal, hexa, u4, u8, other = m.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    if u4 is not None or u8 is not None:
        return chr(int(u4 or u8, 16)).encode("utf-8", "surrogatepass")
    return _PG_SIMPLE.get(other, other)


def _pg_literal(m: re.Match[bytes]) -> bytes:
    if m.group(2) is not None and m.re is _PG_STRINGS[True]:
        return m.group(2)  # a standard string: already in the form the reader expects
    inner = m.group(1) if m.group(1) is not None else m.group(2)
    text = _PG_ESCAPE.sub(_pg_escape, inner.replace(b"''", b"'"))
    return b"'" + text.replace(b"'", b"''") + b"'"


def pg_standard_strings(body: bytes, standard: bool) -> bytes:
    """A PostgreSQL VALUES body with every escape string rewritten as a standard string.

    ``E'O\\'Brien\\\\n'`` becomes ``'O''Brien\\n'`` with the escapes undone exactly as
    PostgreSQL stores them (``\\b \\f \\n \\r \\t``, octal, ``\\x``, ``\\u``, ``\\U``, any other
    ``\\c`` is ``c``). ``standard`` is the dump's ``standard_conforming_strings``: when off,
    plain ``'...'`` strings are escape strings too. Bodies without escape strings are returned
    as they are, with no per-string work; those with them (never pg_dump's default output) are
    rewritten one literal at a time.
    """
    if standard and not _PG_MAYBE_E.search(body):
        return body
    if not standard and b"\\" not in body:
        return body
    return _PG_STRINGS[standard].sub(_pg_literal, body)


# One piece of a PostgreSQL record as general_records leaves it: a standard string, or bare
# text (NULL, a number, TRUE) with no blank around it.
_PG_PIECE = re.compile(rb"'((?:[^']|'')*)'|([^,\n']+)", re.S)


def _copy_text(value: bytes) -> bytes:
    """A value escaped as COPY's text format writes it (backslash first)."""
    for raw, esc in ((b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r")):
        if raw in value:
            value = value.replace(raw, esc)
    return value


def insert_to_copy(records: bytes) -> list[tuple[bytes | None, bytes]]:
    """PostgreSQL INSERT records (one a line, as :func:`general_records` gives) as COPY lines.

    Only for a table that a dump fills with both COPY and INSERT (rare): its rows must share
    one text format to be read as one table in record order, so this works per field in
    Python. Unquoted ``NULL`` becomes ``\\N``; a quoted ``'NULL'`` stays text. Returns
    ``(line, raw)`` per record; ``line`` is None when a field is more than one string or
    word (a cast such as ``'x'::text``), so the caller rejects that record with its raw text.
    """
    out: list[tuple[bytes | None, bytes]] = []
    fields: list[bytes] = []
    pieces: list[re.Match[bytes]] = []
    odd = False
    pos = start = 0
    while True:
        m = _PG_PIECE.match(records, pos)
        if m is not None:
            pieces.append(m)
            pos = m.end()
            continue
        sep = records[pos : pos + 1]
        if len(pieces) > 1:
            odd = True
        elif pieces:
            quoted, bare = pieces[0].groups()
            if quoted is not None:
                fields.append(_copy_text(quoted.replace(b"''", b"'")))
            else:
                fields.append(b"\\N" if bare.upper() == b"NULL" else _copy_text(bare))
        else:
            fields.append(b"")
        pieces = []
        odd = odd or sep not in (b",", b"\n", b"")
        if sep in (b"\n", b""):
            out.append((None if odd else b"\t".join(fields), records[start:pos]))
            fields, odd, start = [], False, pos + 1
            if not sep:
                return out
        pos += 1
