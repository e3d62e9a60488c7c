"""How a CSV/TSV file is written: encoding, delimiter, escape and header, from its head.

Python looks only at the first bytes (and a few spread-out chunks for the encoding).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from pathlib import Path

_HEAD = 256 * 1024
_DELIMS = (",", "\t", "|", ";")


def _open(path: Path, compressed: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _utf8_votes(chunk: bytes, at_start: bool) -> tuple[int, int]:
    """(well-formed non-ASCII characters, malformed bytes) when decoding as UTF-8."""
    if not at_start:
        # Skip continuation bytes of a character cut by the chunk boundary.
        i = 0
        while i < min(4, len(chunk)) and (chunk[i] & 0xC0) == 0x80:
            i += 1
        chunk = chunk[i:]
    if chunk.isascii():
        return 0, 0
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(chunk, final=False)
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - bad, bad


def detect_encoding(path: Path, compressed: bool, head: bytes) -> str:
    """UTF-8, or latin-1 when bytes that are not UTF-8 outnumber well-formed UTF-8 characters.

    Looks at the head and 8 chunks spread through the file. A UTF-8 file with a few bad
    lines stays UTF-8: DuckDB rejects those lines, with their raw text, instead of the whole
    file being misread.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if (no_bom := _utf16_without_bom(head)) is not None:
        return no_bom
    good, bad = _utf8_votes(head, True)
    if not compressed:
        size = path.stat().st_size
        if size > 2 * _HEAD:
            with open(path, "rb") as fh:
                for k in range(1, 9):
                    fh.seek(size * k // 9)
                    g, b = _utf8_votes(fh.read(65536), False)
                    good, bad = good + g, bad + b
    return "latin-1" if bad > good else "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when most of the head's even or odd bytes are NUL (ASCII as UTF-16)."""
    pairs = head[: len(head) // 2 * 2]
    if len(pairs) < 4 or b"\x00" not in pairs:
        return None
    half = len(pairs) // 2
    if pairs[1::2].count(0) > 0.6 * half and pairs[0::2].count(0) < 0.1 * half:
        return "utf-16-le"
    if pairs[0::2].count(0) > 0.6 * half and pairs[1::2].count(0) < 0.1 * half:
        return "utf-16-be"
    return None


def _decode(head: bytes, encoding: str) -> str:
    if encoding.startswith("utf-16"):
        return head.decode(encoding, "replace")
    if encoding == "latin-1":
        return head.decode("latin-1")
    return codecs.getincrementaldecoder("utf-8-sig")("replace").decode(head, final=False)


def _complete_lines(text: str, limit: int = 200) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the head boundary
    return "".join(lines[:limit])


def sniff(text: str, fallback: str = ",") -> tuple[str, str, list[list[str]]]:
    """Choose delimiter and escape from the first lines; return them and the parsed rows."""
    text = _complete_lines(text)
    escape = "\\" if text.count('\\"') > text.count('""') else '"'
    best: tuple[tuple[int, int, float, int], str, list[list[str]]] | None = None
    for delim in _DELIMS:
        rows = [
            r
            for r in csv.reader(
                # newline="": a CR (bare, or inside a quoted value) is a break or a character
                # as the csv module decides, never an error.
                io.StringIO(text, newline=""),
                delimiter=delim,
                quotechar='"',
                escapechar="\\" if escape == "\\" else None,
                doublequote=escape == '"',
            )
            if r
        ]
        counts = [len(r) for r in rows[:50]]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        # The first row (header or data) must split like the rest: a comma inside names
        # ("ST. JOHN, JACOB") gives a steady 2 fields per row, but not in the header.
        score = (int(mode > 1), int(counts[0] == mode), counts.count(mode) / len(counts), mode)
        if best is None or score > best[0]:
            best = (score, delim, rows)
    if best is None:
        return fallback, escape, []
    return best[1], escape, best[2]


# A cell of a record, not of a header: a number, a date, a time or a phone number.
_VALUE = re.compile(r"[+-]?[\d(][\d\s().,/:+-]*")


def looks_like_header(row: list[str]) -> bool:
    """A first row with a letter in it and no cell that is a value (a number, a date, a
    phone number) is a header; other first rows are records (``10,hello,20``)."""
    has_letter = any(ch.isalpha() for cell in row for ch in cell)
    return has_letter and not any(_VALUE.fullmatch(cell.strip()) for cell in row)


MAX_NOTES = 20  # lines before the table that may be notes


def notes_before_table(text: str, delim: str, rows: list[list[str]]) -> list[str]:
    """The lines of free text before the table (an export's title, a note): each is one
    line without quotes and with fewer fields than the table's rows, the two rows that
    follow them have the table's width, and either each is one field or a header follows
    them. Blank lines among them are kept (as "").

    ``text`` is the head of the file, ``rows`` its rows as :func:`sniff` parsed them.
    """
    counts = [len(r) for r in rows[:50]]
    if len(counts) < 3:
        return []
    width = max(set(counts), key=counts.count)
    if all(r[-1] == "" for r in rows[:50] if len(r) == width):
        width -= 1  # every line ends in a delimiter, the header too or not: the file's habit
    if width < 2 or counts[0] >= width:
        return []
    lines = text.split("\n")[: MAX_NOTES + 2]
    notes: list[str] = []
    for line in lines:
        line = line.rstrip("\r")
        if not line.strip():
            notes.append("")
            continue
        if '"' in line:
            return []
        if len(next(csv.reader([line], delimiter=delim))) >= width:
            break
        notes.append(line)
    else:
        return []
    kept = [n for n in notes if n]
    follow = counts[len(kept) : len(kept) + 2]
    if not kept or len(notes) > MAX_NOTES or follow != [width, width]:
        return []
    # A narrow first line before records without a header is the header of a ragged
    # table ("Phone,Start" over "1,2,3"), unless every such line is one field of text.
    single = all(len(next(csv.reader([n], delimiter=delim))) == 1 for n in kept)
    if not single and not looks_like_header(rows[len(kept)]):
        return []
    return notes
