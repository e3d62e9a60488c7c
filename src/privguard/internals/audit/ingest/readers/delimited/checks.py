"""Checks of a delimited file's parse, for three faults of DuckDB's ``read_csv``.

One pass over a plain file's bytes (:func:`scan_text`, made when the file is staged, where
its kinds of line break decide whether it is rewritten, and kept for the writer; the only
read by Python besides the file's hash) decides which files need a second look, and places
the rejected records:

* **Lost records.** The parse that stores rejects can stop for good after a record with
  too many fields at a boundary between the pieces it reads in parallel, silently dropping
  the rest of the file (23,054 of 265,967 records of one 144 M synth table, 38,452 of
  96,998 of a 13 MB one). A plain count has no such fault, so when it differs the file is
  read again with other boundaries. It recovers from broken quoting differently, so a
  difference calls for a second read, and the read that saw more records wins; it is not
  the truth itself.
* **Stray fields.** DuckDB tolerates one trailing empty field beyond the declared columns
  (for exports whose every line ends in a delimiter), and no option refuses it. So in a
  three-column file ``ERR,5551230002,2013-01-02 11:00:00,`` is accepted with every value one
  column off. Files with a line ending in the delimiter are parsed again with one more
  column than the header has, short records padded and empty fields read as ``''`` rather
  than NULL (:func:`second_look`); such a record is the only kind whose extra column holds
  ``''``. When every record has it, it is the file's own habit and the records stand (with
  a warning); otherwise they are rejected.
* **Drifting line numbers.** DuckDB's reject line numbers drift past the pieces it reads
  in parallel (86 of 208 in one synth file); its byte positions do not. When every record
  is one line (no quote character, no byte-order mark), a reject's record index is counted
  from the line breaks and blank lines before its byte position (:meth:`Lines.before`).
  Compressed text is not scanned: :func:`one_line_records` and :func:`lines_before` read it.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.readers import Deferred
from privguard.internals.audit.ingest.readers.delimited.dialect import _open

log = logging.getLogger(__name__)

_BLANK = re.compile(rb"\n(?=\r?\n)")
_NEVER = "\x01"  # a null string no field holds: empty fields read as '', padding as NULL
_BATCH_ROWS = 1 << 17
_CHUNK = 8 << 20


@dataclass(frozen=True)
class Stray:
    """Accepted records that carried one stray empty field."""

    positions: list[int]  # 0-based, among the accepted records
    raws: list[str]
    reason: str


@dataclass(frozen=True)
class Lines:
    """What one pass over a plain text file's bytes found."""

    breaks: int  # line breaks (a last line without one is counted too)
    ends_in_delimiter: bool  # some line ends in the delimiter
    # No quote character anywhere and no UTF-8 byte-order mark (which DuckDB skips): every
    # record is one line, so rejects can be placed by byte position.
    one_line_records: bool = False
    # Where each line break is, and where each blank line ends (its break), counted in
    # bytes of the text as UTF-8 (as DuckDB counts them: a latin-1 accent takes two).
    newlines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), compare=False)
    blank_ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), compare=False)
    size: int = 0  # the text's length in UTF-8 bytes
    # Records end in more than one way (CRLF and LF, or CR and LF): DuckDB may misread the
    # file, which is then rewritten (prepare.py). A count of bytes: a CR or CRLF inside a
    # quoted value counts too, which only costs a rewrite that changes nothing.
    mixed_breaks: bool = False

    def longer_than(self, limit: int) -> np.ndarray:
        """Indexes of the lines longer than ``limit`` bytes (their break not counted)."""
        if self.size <= limit:
            return np.zeros(0, np.int64)
        ends = np.append(self.newlines, self.size)
        starts = np.concatenate([[0], self.newlines + 1])
        return np.flatnonzero(ends - starts > limit)

    def span(self, line: int) -> tuple[int, int]:
        """Where line ``line`` starts and where its break (or the text) ends, in bytes."""
        start = 0 if line == 0 else int(self.newlines[line - 1]) + 1
        end = int(self.newlines[line]) + 1 if line < len(self.newlines) else self.size
        return start, end

    def before(self, positions: list[int]) -> tuple[list[int], list[int]]:
        """Blank lines, and line breaks, before each of DuckDB's byte positions."""
        at = np.asarray(positions, dtype=np.int64)
        blanks = np.searchsorted(self.blank_ends, at, side="left")
        breaks = np.searchsorted(self.newlines, at, side="left")
        return [int(n) for n in blanks], [int(n) for n in breaks]


def scan_lines(d: Deferred) -> Lines | None:
    """Count the lines of ``d``, look for a delimiter ending one and for a quote character,
    note where the line breaks and blank lines are (to place rejected records), and whether
    its breaks are of more than one kind.

    The file's one read by Python besides its hash. None if it is not plain bytes.
    """
    if d.dialect.gzip or d.dialect.encoding not in ("utf-8", "latin-1"):
        return None
    return scan_text(d.path, d.dialect.delim, d.dialect.quote, d.dialect.encoding)


def scan_text(path: Path, delim_char: str, quote_char: str, encoding: str) -> Lines:
    """:func:`scan_lines` of a plain UTF-8 or latin-1 file, given its delimiter and quote."""
    delim = delim_char.encode(encoding)[0]
    quote = quote_char.encode(encoding)[0] if quote_char else None
    widen = encoding == "latin-1"  # bytes >= 0x80 take two bytes in UTF-8
    breaks, found, quoted, bom = 0, False, quote is None, False
    n_crlf = n_cr = 0  # for the kinds of line break (LF is ``breaks``)
    carry = np.zeros(0, np.uint8)
    start = 0  # UTF-8 offset of the chunk's first byte
    newlines: list[np.ndarray] = []
    blank_ends: list[np.ndarray] = []
    with open(path, "rb") as fh:
        while data := fh.read(_CHUNK):
            if not len(carry):
                bom = data.startswith(codecs.BOM_UTF8)
            # Two bytes carried over: a break at a chunk's start still sees what precedes it.
            a = np.concatenate([carry, np.frombuffer(data, np.uint8)])
            quoted = quoted or bool((a == quote).any())
            at = np.flatnonzero(a == 10)
            at = at[at >= len(carry)]
            breaks += len(at)
            n_cr += data.count(b"\r")
            # A blank line ends at a break right after a break ("\n\n" or "\n\r\n").
            prev, prev2 = a[np.maximum(at - 1, 0)], a[np.maximum(at - 2, 0)]
            n_crlf += int(np.count_nonzero((prev == 13) & (at >= 1)))
            blank = at[((prev == 10) & (at >= 1)) | ((prev == 13) & (prev2 == 10) & (at >= 2))]
            offsets = [at - len(carry), blank - len(carry)]
            if widen:
                high = np.flatnonzero(np.frombuffer(data, np.uint8) >= 0x80)
                offsets = [o + np.searchsorted(high, o, side="left") for o in offsets]
                size = len(data) + len(high)
            else:
                size = len(data)
            newlines.append(offsets[0] + start)
            blank_ends.append(offsets[1] + start)
            start += size
            if not found:
                hit = at[at >= 1]
                before = a[hit - 1]
                crlf = hit[(before == 13) & (hit >= 2)]
                found = bool((before == delim).any() or (a[crlf - 2] == delim).any())
            carry = a[-2:]
    bare_lf, bare_cr = breaks - n_crlf, n_cr - n_crlf
    mixed = (bare_lf > 0 and n_crlf > 0) or (bare_cr > 0 and breaks > 0)
    if len(carry) and carry[-1] != 10:
        breaks += 1
        found = found or bool(carry[-1] == delim)
    return Lines(
        breaks,
        found,
        not quoted and not bom,
        np.concatenate(newlines) if newlines else np.zeros(0, np.int64),
        np.concatenate(blank_ends) if blank_ends else np.zeros(0, np.int64),
        start,
        mixed,
    )


def _check_reader(d: Deferred, parallel: bool = True) -> str:
    dialect = replace(
        d.dialect, nullstr=_NEVER, allow_quoted_nulls=False, null_padding=True, parallel=parallel
    )
    return sql.read_csv(d.path, d.n_columns + 1, dialect, None)


def _columns(n: int) -> tuple[str, str]:
    return sql.staged_name(n - 1), sql.staged_name(n)


def count_sql(d: Deferred, parallel: bool = True) -> str:
    """Records with the stray field, and records without (which DuckDB also accepts)."""
    last, extra = _columns(d.n_columns)
    # Every column is referenced: DuckDB checks the encoding only of the columns it reads.
    touch = ", ".join(f"count({sql.staged_name(i)})" for i in range(d.n_columns - 1))
    return (
        f"SELECT count(*) FILTER (WHERE {extra} = ''), "
        f"count(*) FILTER (WHERE {extra} IS NULL AND {last} IS NOT NULL){', ' if touch else ''}"
        f"{touch} FROM {_check_reader(d, parallel)}"
    )


def rows_sql(d: Deferred, parallel: bool = True) -> str:
    """In record order: whether the record has the stray field, and its fields when it has."""
    last, extra = _columns(d.n_columns)
    fields = ", ".join(sql.staged_name(i) for i in range(d.n_columns + 1))
    stray = f"coalesce({extra} = '', false)"
    return (
        f"SELECT {stray} AS stray, ({extra} IS NULL AND {last} IS NOT NULL) OR {stray} AS kept, "
        f"CASE WHEN {stray} THEN [{fields}] END AS fields FROM {_check_reader(d, parallel)}"
    )


@dataclass(frozen=True)
class Look:
    """What the second parse of a delimited file counted."""

    stray: int  # records with one stray empty field (DuckDB accepts them shifted)
    plain: int  # records with exactly the header's fields
    parallel: bool  # whether it could run on every core (not with padded line breaks)

    @property
    def whole(self) -> int:
        """Records the strict parse should have accepted."""
        return self.stray + self.plain


def second_look(ex: Executor, d: Deferred) -> Look:
    """Count ``d``'s records again (see the module docstring)."""
    try:
        row = ex.fetchall(count_sql(d))[0]
        return Look(int(row[0]), int(row[1]), True)
    except EngineError as exc:
        if "parallel" not in str(exc):
            raise
    # The parallel reader cannot pad records around quoted line breaks.
    row = ex.fetchall(count_sql(d, parallel=False))[0]
    return Look(int(row[0]), int(row[1]), False)


def find_stray(
    ex: Executor, d: Deferred, look: Look, accepted: int
) -> tuple[Stray | None, str | None]:
    """The accepted records of ``d`` with a stray empty field, and a warning for the table."""
    if look.stray == 0:
        return None, None
    if look.whole != accepted:
        # The two parses disagree on which records are whole: leave the records as read.
        log.warning("%s: stray fields not checked (%d != %d)", d.path, look.whole, accepted)
        return None, "could not check for records with a stray empty field"
    n = d.n_columns
    if look.plain == 0:
        return None, (
            f"every record ends in one empty field more than the {n} columns of the header; "
            "that field was dropped"
        )
    positions: list[int] = []
    raws: list[str] = []
    seen = 0
    for batch in ex.stream_arrow(rows_sql(d, look.parallel), _BATCH_ROWS):
        kept = batch.column("kept").to_numpy(zero_copy_only=False)
        marked = batch.column("stray").to_numpy(zero_copy_only=False)
        before = seen + np.cumsum(kept) - 1
        positions += [int(p) for p in before[marked]]
        raws += [_raw(f, d.dialect.delim) for f in batch.column("fields").to_pylist() if f]
        seen += int(kept.sum())
    reason = (
        f"TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {n + 1} "
        "(the last one empty; its values would be shifted by one column)"
    )
    return Stray(positions, raws, reason), None


def _raw(fields: list[str | None], delim: str) -> str:
    """The record as text again (quoted where needed), for rejects.csv."""
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="").writerow(
        ["" if f is None else f for f in fields]
    )
    return out.getvalue()


def one_line_records(d: Deferred) -> bool:
    """Whether rejects can be placed by byte position: no quote character anywhere, so every
    record is one line (UTF-8 or latin-1 without a byte-order mark, which DuckDB skips).

    For compressed text only: the line scan (:func:`scan_lines`) finds it for plain files.
    """
    if d.dialect.encoding not in ("utf-8", "latin-1") or not d.dialect.quote:
        return False
    quote = d.dialect.quote.encode(d.dialect.encoding)
    with _open(d.path, d.dialect.gzip) as fh:
        chunk = fh.read(1 << 22)
        if chunk.startswith(codecs.BOM_UTF8):
            return False
        while chunk:
            if quote in chunk:
                return False
            chunk = fh.read(1 << 22)
    return True


def _utf8_chunks(path: Path, compressed: bool, encoding: str) -> Iterator[bytes]:
    """The file as DuckDB counts its bytes: re-encoded as UTF-8 when it is not."""
    decoder = None if encoding == "utf-8" else codecs.getincrementaldecoder(encoding)()
    with _open(path, compressed) as fh:
        while chunk := fh.read(1 << 22):
            out = chunk if decoder is None else decoder.decode(chunk).encode("utf-8")
            if out:  # a decoder may hold back a cut character
                yield out


def lines_before(
    path: Path, compressed: bool, encoding: str, positions: list[int]
) -> tuple[list[int], list[int]]:
    """Blank lines, and line breaks, before each of DuckDB's byte positions.

    For compressed text only: the line scan finds them for plain files (``Lines.before``).

    DuckDB numbers blank lines but they are not records. Its positions count the bytes of
    the text re-encoded as UTF-8 (a latin-1 file's accents take two), so the file is too.
    """
    targets = sorted(set(positions))
    found: dict[int, tuple[int, int]] = {}
    seen = breaks = offset = ti = 0
    carry = b""

    def blanks(data: bytes) -> int:
        # Runs of blank lines overlap ("\n\n\n" is two), so count with a lookahead.
        return len(_BLANK.findall(data)) - len(_BLANK.findall(carry))

    chunks = _utf8_chunks(path, compressed, encoding)
    while ti < len(targets):
        chunk = next(chunks, b"")
        if not chunk:
            break
        data = carry + chunk
        while ti < len(targets) and targets[ti] <= offset + len(chunk):
            upto = targets[ti] - offset
            found[targets[ti]] = (
                seen + blanks(data[: len(carry) + upto]),
                breaks + chunk.count(b"\n", 0, max(upto, 0)),
            )
            ti += 1
        seen += blanks(data)
        breaks += chunk.count(b"\n")
        offset += len(chunk)
        carry = data[-2:]
    ends = [found.get(p, (seen, breaks)) for p in positions]
    return [e[0] for e in ends], [e[1] for e in ends]
