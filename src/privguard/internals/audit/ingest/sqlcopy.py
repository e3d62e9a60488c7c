"""COPY blocks of a PostgreSQL dump, and the per-table text file :mod:`.sqldump` writes.

A COPY block is copied verbatim in large reads (tab-separated, ``\\N`` for NULL) and
unescaped later in SQL. A table that a dump fills with both COPY and INSERT rows keeps COPY's
text format: its INSERT records are rewritten as COPY lines (:func:`start_copy`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from privguard.internals.audit.ingest.sqlvalues import insert_to_copy


@dataclass
class DumpTable:
    """Rows of one dumped table, written as delimited text to ``path``."""

    name: str
    path: Path
    columns: list[str] | None = None
    fh: BinaryIO | None = None
    kind: str = "insert"  # insert | copy: how the rows are escaped
    lines: int = 0  # records written to ``path``
    bad: list[tuple[int, str]] = field(default_factory=list)  # (lines before it, raw)


def start_copy(t: DumpTable) -> None:
    """A COPY block begins: INSERT rows already written take COPY's text format."""
    if t.kind != "copy" and t.lines:
        assert t.fh is not None
        t.fh.close()
        written = t.path.read_bytes()[:-1]  # every INSERT statement ends in a line break
        t.fh = open(t.path, "wb")  # noqa: SIM115 - closed in finish()
        t.lines, old, t.bad = 0, t.bad, []
        good, rejected = write_copied(t, written)
        # Keyed by place among the INSERT records: a statement rejected earlier sat just
        # before record k, which now has good[k] lines before it.
        keyed = [(k - 0.5, (good[k], raw)) for k, raw in old]
        keyed += [(float(j), b) for j, b in zip(rejected, t.bad, strict=True)]
        t.bad = [b for _, b in sorted(keyed)]
    t.kind = "copy"


def write_copied(t: DumpTable, records: bytes) -> tuple[list[int], list[int]]:
    """Write INSERT records as COPY lines; one that cannot be is rejected with its raw text.

    Returns the lines written before each record (and after the last), and the indexes of
    the records rejected.
    """
    assert t.fh is not None
    good = [t.lines]
    rejected: list[int] = []
    for j, (line, raw) in enumerate(insert_to_copy(records)):
        if line is None:
            t.bad.append((t.lines, raw.decode("utf-8", "replace")))
            rejected.append(j)
        else:
            t.fh.write(line + b"\n")
            t.lines += 1
        good.append(t.lines)
    return good, rejected


_COPY_END = re.compile(rb"\\\.\r*\n")  # at a line start: the line "\." ends a COPY block
_CHUNK = 1 << 22


class Lines:
    """The lines of a dump; bytes a bulk read took too far are handed back and read first."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.back = io.BytesIO()
        self.has_back = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            if self.has_back:
                line = self.back.readline()
                if not line:
                    self.has_back = False
                    continue
                if not line.endswith(b"\n"):
                    line += self.fh.readline()  # the rest of the line is still in the file
                yield line
                continue
            for line in self.fh:
                yield line
                if self.has_back:
                    break
            else:
                return

    def read(self) -> bytes:
        if self.has_back:
            data = self.back.read(_CHUNK)
            if data:
                return data
            self.has_back = False
        return self.fh.read(_CHUNK)

    def unread(self, data: bytes) -> None:
        rest = self.back.read() if self.has_back else b""
        self.back = io.BytesIO(data + rest)
        self.has_back = bool(data or rest)


def _copy_end(data: bytes, end: int) -> re.Match[bytes] | None:
    """The first end-of-block line in ``data[:end]`` (which starts at a line start)."""
    m = _COPY_END.match(data, 0, end)
    at = 0
    while m is None:
        # A literal search is far faster than a regex tried at every byte.
        at = data.find(b"\n\\.", at, end)
        if at < 0:
            return None
        at += 1
        m = _COPY_END.match(data, at, end)
    return m


def copy_block(src: Lines, t: DumpTable) -> tuple[int, bool]:
    """Copy a COPY block's lines in bulk: (lines consumed, whether its end marker was seen)."""
    assert t.fh is not None
    consumed = 0
    carry = b""
    while True:
        chunk = src.read()
        if not chunk:
            if carry:  # a last line without a line break
                consumed += 1
                if carry.rstrip(b"\r\n") == b"\\.":
                    return consumed, True
                t.fh.write(carry)
                t.lines += 1
            return consumed, False
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        m = _copy_end(data, cut)
        if m is None:
            t.fh.write(data[:cut])
            n = data.count(b"\n", 0, cut)
            t.lines += n
            consumed += n
            continue
        start = m.start()
        t.fh.write(data[:start])
        n = data.count(b"\n", 0, start)
        t.lines += n
        consumed += n + 1
        src.unread(data[m.end() :])
        return consumed, True
