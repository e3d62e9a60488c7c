"""Parse MySQL/MariaDB and PostgreSQL dumps into one delimited text file per table.

Nothing in a dump is ever executed. ``CREATE TABLE`` gives column names, ``INSERT ...
VALUES`` and ``COPY ... FROM stdin`` give rows; every other statement is counted and
reported as ignored.

MySQL extended inserts are rewritten with bytes and array operations, never per field in
Python (:mod:`.sqlvalues`): ``\\\\`` becomes ``\\B`` and ``\\'`` becomes ``''``, after which every
``'`` delimits a string, and ``),(`` outside strings becomes a newline. Other backslash escapes
are undone later in SQL (:func:`sql.unescape_mysql`); a raw newline never occurs inside a
mysqldump value. PostgreSQL ``INSERT`` escape strings (``E'...'``, or every string after ``SET
standard_conforming_strings = off``) are rewritten as standard strings first
(:func:`sqlvalues.pg_standard_strings`). PostgreSQL ``COPY`` blocks are copied verbatim in large reads (tab-separated,
``\\N`` for NULL) and unescaped in SQL (:func:`sql.unescape_pg`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from privguard.internals.audit.ingest.sqlcopy import (
    DumpTable,
    Lines,
    copy_block,
    start_copy,
    write_copied,
)
from privguard.internals.audit.ingest.sqlvalues import (
    FAST_MIN,
    fast_records,
    general_records,
    pg_standard_strings,
    rewrite_escapes,
)

log = logging.getLogger(__name__)

_IDENT = rb'(?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QNAME = rb"(" + _IDENT + rb"(?:\s*\.\s*" + _IDENT + rb")?)"
_INSERT = re.compile(
    rb"^\s*(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*"
    rb"(?:INTO\s+)?" + _QNAME + rb"\s*(\([^)]*\))?\s*VALUES\s*",
    re.I,
)
_CREATE = re.compile(
    rb"^\s*CREATE\s+(?:UNLOGGED\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _QNAME,
    re.I,
)
_COPY = re.compile(rb"^\s*COPY\s+" + _QNAME + rb"\s*(\([^)]*\))?\s+FROM\s+stdin", re.I)
_STD_STRINGS = re.compile(rb"^\s*SET\s+standard_conforming_strings\s*(?:=|TO)\s*'?(on|off)'?", re.I)
_VERSIONED = re.compile(rb"^/\*!\d*\s*")
_KEYWORD = re.compile(rb"^\s*([A-Za-z]+(?:\s+[A-Za-z]+)?)")
_CONSTRAINTS = {
    "primary",
    "key",
    "unique",
    "constraint",
    "index",
    "foreign",
    "check",
    "fulltext",
    "spatial",
    "exclude",
    "like",
}
_TWO_WORD = ("DROP", "CREATE", "ALTER", "LOCK", "UNLOCK", "INSERT", "DELETE")


def unquote(ident: bytes) -> str:
    """An identifier without its quotes; for ``schema.table`` only the table part."""
    parts = re.findall(_IDENT, ident)
    last = parts[-1] if parts else ident
    text = last.decode("utf-8", "replace")
    if text[:1] in '`"' and text[-1:] == text[:1]:
        text = text[1:-1].replace(text[0] * 2, text[0])
    return text


def _column_list(raw: bytes | None) -> list[str] | None:
    if not raw:
        return None
    return [unquote(c.strip()) for c in raw.strip()[1:-1].split(b",") if c.strip()]


def _create_columns(stmt: bytes) -> list[str]:
    start = stmt.find(b"(")
    end = stmt.rfind(b")")
    if start < 0 or end <= start:
        return []
    body = stmt[start + 1 : end].decode("utf-8", "replace")
    items: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    cols: list[str] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        first = item.split()[0]
        if first.strip('`"').lower() in _CONSTRAINTS and first[:1] not in '`"':
            continue
        m = re.match(_IDENT.decode(), item)
        if m:
            cols.append(unquote(m.group(0).encode()))
    return cols


@dataclass
class SplitDump:
    """The tables of one dump, and the statements that were ignored."""

    flavour: str  # mysql | pg
    tables: list[DumpTable]
    ignored: Counter[str]
    first_line: dict[str, int]
    truncated: bool = False

    def warnings(self) -> list[str]:
        out = [
            f"ignored (never executed) {n} {kind} statement(s), first at line "
            f"{self.first_line[kind]}"
            for kind, n in sorted(self.ignored.items())
        ]
        if self.truncated:
            out.append("the dump ends in the middle of a statement or COPY block (truncated?)")
        return out


class _Splitter:
    def __init__(self, scratch: Path, prefix: str, flavour: str) -> None:
        self.scratch = scratch
        self.prefix = prefix
        self.flavour = flavour
        self.tables: dict[str, DumpTable] = {}
        self.ignored: Counter[str] = Counter()
        self.first_line: dict[str, int] = {}
        # PostgreSQL reads plain '...' as escape strings after SET standard_conforming_strings
        # = off (pg_dump writes that line when the server had it off).
        self.standard = True

    def table(self, name: str) -> DumpTable:
        t = self.tables.get(name)
        if t is None:
            path = self.scratch / f"{self.prefix}_t{len(self.tables):04d}.txt"
            t = DumpTable(name, path)
            t.fh = open(path, "wb")  # noqa: SIM115 - closed in finish()
            self.tables[name] = t
        return t

    def ignore(self, stmt: bytes, lineno: int) -> None:
        text = _VERSIONED.sub(b"", stmt.lstrip())
        m = _KEYWORD.match(text)
        if not m:
            return
        words = m.group(1).decode("ascii", "replace").upper().split()
        kind = " ".join(words) if words[0] in _TWO_WORD and len(words) > 1 else words[0]
        self.ignored[kind] += 1
        self.first_line.setdefault(kind, lineno)

    def insert(self, stmt: bytes, m: re.Match[bytes], lineno: int) -> None:
        t = self.table(unquote(m.group(1)))
        cols = _column_list(m.group(2))
        if cols and t.columns is None:
            t.columns = cols
        body = stmt[m.end() :].rstrip().rstrip(b";").rstrip()
        if body[:1] == b"(" and body[-1:] == b")":
            body = body[1:-1]
        mysql = self.flavour == "mysql"
        if not mysql:
            body = pg_standard_strings(body, self.standard)
        got = fast_records(body, mysql) if len(body) >= FAST_MIN else None
        if got is None:
            got = general_records(rewrite_escapes(body) if mysql else body)
        if got is not None and t.kind == "copy":
            write_copied(t, got[0])  # the table's COPY rows set its text format
            return
        if got is None:
            # An unterminated string (or a raw NUL, which no dump tool writes): records cannot
            # be told apart, so the statement is one rejected record.
            t.bad.append((t.lines, stmt.decode("utf-8", "replace")))
            return
        assert t.fh is not None
        t.fh.write(got[0])
        t.fh.write(b"\n")
        t.lines += got[1]

    def create(self, stmt: bytes, m: re.Match[bytes]) -> None:
        t = self.table(unquote(m.group(1)))
        cols = _create_columns(stmt)
        if cols:
            t.columns = cols

    def finish(self, truncated: bool) -> SplitDump:
        for t in self.tables.values():
            if t.fh is not None:
                t.fh.close()
                t.fh = None
            if t.columns is None:
                t.columns = _guess_columns(t.path, self.flavour)
        return SplitDump(
            self.flavour, list(self.tables.values()), self.ignored, self.first_line, truncated
        )


def _guess_columns(path: Path, flavour: str) -> list[str]:
    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8", "replace")
    if not first:
        return []
    if flavour == "pg":
        n = first.rstrip("\n").count("\t") + 1
    else:
        n = len(next(csv.reader(io.StringIO(first), quotechar="'", doublequote=True), []))
    return [f"column{i + 1}" for i in range(n)]


def split_dump(fh: BinaryIO, flavour: str, scratch: Path, prefix: str) -> SplitDump:
    """Split a dump (``mysql`` or ``pg``) into one text file per table, executing nothing."""
    s = _Splitter(scratch, prefix, flavour)
    pending: list[bytes] = []
    cut = False
    lineno = 0
    start_line = 0
    src = Lines(fh)
    for line in src:
        lineno += 1
        if not pending:
            stripped = line.lstrip()
            if not stripped or stripped.startswith((b"--", b"#")):
                continue
            if (
                stripped.startswith(b"/*")
                and not stripped.startswith(b"/*!")
                and stripped.rstrip().endswith((b"*/", b"*/;"))
            ):
                continue
            start_line = lineno
        pending.append(line)
        if not line.rstrip().endswith(b";"):
            continue
        stmt = pending[0] if len(pending) == 1 else b"".join(pending)
        pending = []
        m = _INSERT.match(stmt)
        if m:
            s.insert(stmt, m, start_line)
            continue
        m = _CREATE.match(stmt)
        if m:
            s.create(stmt, m)
            continue
        m = _COPY.match(stmt)
        if m:
            copying = s.table(unquote(m.group(1)))
            start_copy(copying)
            cols = _column_list(m.group(2))
            if cols:
                copying.columns = cols
            consumed, ended = copy_block(src, copying)
            lineno += consumed
            cut = cut or not ended
            continue
        m = _STD_STRINGS.match(stmt)
        if m:
            s.standard = m.group(1).lower() == b"on"
        s.ignore(stmt, start_line)
    truncated = bool(pending) or cut
    if pending:
        # A statement cut off by the end of the file: keep what it holds, never drop it.
        stmt = b"".join(pending)
        m = _INSERT.match(stmt)
        if m:
            s.insert(stmt, m, start_line)
        else:
            s.ignore(stmt, start_line)
    return s.finish(truncated)
