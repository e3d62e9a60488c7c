"""Delimited text as DuckDB's reader sees it, for the native reader (:mod:`.native`).

The file's bytes become text the way the DuckDB path decodes them (gzip, UTF-8 or
Windows-1252, one kind of line break), the text becomes records the way DuckDB splits
them (blank lines skipped, quotes doubled, a stray empty last field), and a rejected
record gets DuckDB's reason. Where DuckDB's path would read a file differently
(its workarounds), this raises :class:`~.native.Fallback` instead of guessing. Pure
functions of (job, bytes): nothing here writes a file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
import zlib
from collections.abc import Iterator

from privguard.internals.audit.ingest.native import QUOTE, Fallback, NativeJob, Row
from privguard.internals.audit.ingest.readers.delimited.checks import _raw
from privguard.internals.audit.ingest.readers.delimited.long_lines import MAX_LINE
from privguard.internals.audit.ingest.readers.delimited.prepare import _CP1252, _outside_quotes


def plain_bytes(job: NativeJob, data: bytes) -> bytes:
    """The file's bytes, gunzipped; Fallback for a damaged gzip file or a NUL byte."""
    if job.gzip:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise Fallback(f"the gzip file cannot be read whole ({exc})") from exc
    if b"\x00" in data:
        raise Fallback("a NUL byte in the text")
    return data


def utf8(data: bytes) -> str:
    """UTF-8 text as DuckDB reads it (byte-order mark skipped, one kind of line break)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Fallback("bytes that are not UTF-8 (the DuckDB path rejects them)") from exc
    return one_kind_of_break(text.removeprefix("\ufeff"))  # DuckDB skips a byte-order mark


def one_kind_of_break(text: str) -> str:
    """``text`` if its line breaks are all LF or all CRLF (counted inside values too)."""
    cr = text.count("\r")
    if cr and not cr == text.count("\r\n") == text.count("\n"):
        raise Fallback("line breaks of more than one kind (the DuckDB path rewrites them)")
    return text


def decode(job: NativeJob, data: bytes) -> str:
    """The file's text as the DuckDB path's reader sees it; Fallback where it would differ."""
    data = plain_bytes(job, data)
    if job.encoding == "utf-8":
        return utf8(data)
    if job.encoding == "latin-1":
        # As the DuckDB path's rewrite (prepare.py): Windows-1252, breaks outside quoted
        # values made LF.
        text = codecs.charmap_decode(data, "strict", _CP1252)[0].removeprefix("\ufeff")
        # A CR left inside a quoted value of LF records misleads DuckDB's break detection.
        return one_kind_of_break(_outside_quotes(text, QUOTE, False)[0])
    raise Fallback(f"{job.encoding} text (the DuckDB path rewrites it)")


def _lines(text: str) -> list[str]:
    """Physical lines with their LF kept (a last line without one as it is)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    for line in lines:
        if len(line) * 4 > MAX_LINE and len(line.encode("utf-8")) > MAX_LINE:
            raise Fallback("a line too long for the reader (the DuckDB path sets it aside)")
    return lines


def _body(raw: str) -> str:
    """A record's raw text without its final line break."""
    return raw.removesuffix("\n").removesuffix("\r")


def _well_quoted(delim: str) -> re.Pattern[str]:
    """A record whose every field is either quoted whole (quotes doubled) or has no quote."""
    d = re.escape(delim)
    f = f'(?:"(?:[^"]|"")*"|[^"{d}\\r\\n]*)'
    return re.compile(f"{f}(?:{d}{f})*")


def records(job: NativeJob, text: str) -> Iterator[tuple[list[str], str]]:
    """Each record's fields and raw text, in file order (blank lines are no records)."""
    lines = _lines(text)
    if job.header and lines and not _body(lines[0]):
        raise Fallback("a blank first line where the header should be")
    if QUOTE not in text:
        for line in lines:
            body = _body(line)
            if body:
                yield body.split(job.delim), body
        return
    if job.escape != QUOTE:
        raise Fallback("an escape character other than the quote")
    good = _well_quoted(job.delim)
    reader = csv.reader(iter(lines), delimiter=job.delim, quotechar=QUOTE, strict=True)
    seen = 0
    try:
        for fields in reader:
            raw = "".join(lines[seen : reader.line_num])
            seen = reader.line_num
            if not fields:
                continue
            body = _body(raw)
            if QUOTE in body and not good.fullmatch(body):
                raise Fallback("a quote inside an unquoted value (broken quoting)")
            yield fields, body
    except csv.Error as exc:
        raise Fallback(f"broken quoting ({exc})") from exc


def _reason(n: int, found: int) -> str:
    """DuckDB's reason for a record with the wrong number of fields (see sql.csv_rejects)."""
    if found > n:  # DuckDB lists one error per extra field; the shortest text is kept
        return f"TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {n + 1}"
    return f"MISSING COLUMNS: Expected Number of Columns: {n} Found: {found}"


def delimited_rows(job: NativeJob, data: bytes, warnings: list[str]) -> Iterator[Row]:
    """Each record of delimited text: its index, values (None: rejected), raw text, why."""
    text = decode(job, data)
    keep = _keep_stray(job, text, warnings)
    n = len(job.columns)
    first = job.header
    rec = 0
    for fields, body in records(job, text):
        if first:  # the header: not a record
            first = False
            continue
        rec += 1
        k = len(fields)
        if k == n:
            yield rec, [f if f != "" else None for f in fields], body, ""
        elif k == n + 1 and fields[-1] == "":
            if not body.endswith(job.delim):
                raise Fallback("a quoted empty field past the header's columns")
            if keep:
                yield rec, [f if f != "" else None for f in fields[:n]], body, ""
            else:
                yield (
                    rec,
                    None,
                    _raw(list[str | None](fields), job.delim),
                    STRAY.format(n=n, k=n + 1),
                )
        else:
            yield rec, None, body, _reason(n, k)


# As readers/delimited/checks.py: DuckDB accepts one empty field past the header's columns
# (shifting nothing: it drops it), so the DuckDB path rejects such records, unless every
# record has it (the file's own habit, kept with a warning), or the table is only counted.
STRAY = (
    "TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {k} "
    "(the last one empty; its values would be shifted by one column)"
)
EVERY = (
    "every record ends in one empty field more than the {n} columns of the header; "
    "that field was dropped"
)


def _keep_stray(job: NativeJob, text: str, warnings: list[str]) -> bool:
    """Whether records with one stray empty field are kept (see STRAY)."""
    d = job.delim
    if not job.out or not (d + "\n" in text or d + "\r\n" in text or text.endswith(d)):
        return True  # counted only (as the DuckDB path counts them), or none can have one
    n = len(job.columns)
    stray = plain = 0
    first = job.header
    for fields, _ in records(job, text):
        if first:
            first = False
            continue
        plain += len(fields) == n
        stray += len(fields) == n + 1 and fields[-1] == ""
    if stray and not plain:
        warnings.append(EVERY.format(n=n))
        return True
    return False
