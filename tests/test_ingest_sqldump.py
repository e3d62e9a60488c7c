"""SQL-dump VALUES rewriting: the array fast path gives exactly the general path's bytes."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.internals.audit.ingest.sqldump import split_dump
from privguard.internals.audit.ingest.sqlvalues import (
    fast_records,
    general_records,
    rewrite_escapes,
)

# Bytes that matter to the rewrite, plus ordinary text.
_TRICKY = st.sampled_from(
    [b"'", b"\\", b"\\\\", b"\\'", b"),(", b",", b"(", b")", b" ", b"\n", b"\t", b"\r",
     b"_binary", b"\x00", b"NULL", b"a", b"Zo\xc3\xab", b"0", b"''"]
)  # fmt: skip


def _general(body: bytes, mysql: bool) -> tuple[bytes, int] | None:
    return general_records(rewrite_escapes(body) if mysql else body)


@st.composite
def _value(draw: st.DrawFn) -> bytes:
    """A mysqldump-style value: a number, NULL, or a string escaped the way mysqldump does."""
    kind = draw(st.sampled_from(["num", "null", "str"]))
    if kind == "num":
        return str(draw(st.integers(-(10**9), 10**9))).encode()
    if kind == "null":
        return b"NULL"
    raw = b"".join(draw(st.lists(_TRICKY, max_size=8)))
    raw = raw.replace(b"\\", b"\\\\").replace(b"'", b"\\'").replace(b"\n", b"\\n")
    return b"'" + raw.replace(b"\x00", b"\\0") + b"'"


@st.composite
def _body(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A VALUES body, and whether a string in it holds ``),(`` or ``_binary``."""
    rows = draw(st.lists(st.lists(_value(), min_size=1, max_size=5), min_size=1, max_size=8))
    odd = any(b"),(" in v or b"_binary" in v for r in rows for v in r)
    return b"),(".join(b",".join(r) for r in rows), odd


@settings(max_examples=200, deadline=None)
@given(_body())
def test_fast_path_takes_mysqldump_bodies_and_matches(case: tuple[bytes, bool]) -> None:
    body, odd = case
    fast = fast_records(body, True)
    if odd and fast is None:
        return  # declining is allowed when a string holds a record boundary or _binary
    assert fast is not None  # mysqldump's own shape must not fall back
    assert fast == _general(body, True)


@settings(max_examples=600, deadline=None)
@given(st.lists(_TRICKY, min_size=1, max_size=40), st.booleans())
def test_fast_path_matches_or_declines_on_any_bytes(parts: list[bytes], mysql: bool) -> None:
    body = b"".join(parts)
    fast = fast_records(body, mysql)
    if fast is not None:
        assert fast == _general(body, mysql)


def test_fast_path_declines_what_it_cannot_do() -> None:
    assert fast_records(b"1,'a'),(2,'b", True) is None  # unterminated string
    assert fast_records(b"1, 'a'),(2,'b'", True) is None  # blank between values
    assert fast_records(b"1,_binary 'a'", True) is None
    assert _general(b"1, 'a'),(2,'b'", True) == (b"1,'a'\n2,'b'", 2)


def test_big_statement_split_is_the_same_with_and_without_fast_path(tmp_path: Path) -> None:
    rows = [
        f"({i},'O\\'Brien, Pat),(x','Lee\\\\Ann\\\\','tab\\there',NULL,'a\\\\\\'b')"
        for i in range(300)
    ]
    dump = ("INSERT INTO `calls` VALUES " + ",".join(rows) + ";\n").encode()
    got = split_dump(io.BytesIO(dump), "mysql", tmp_path, "x")
    (table,) = got.tables
    assert table.lines == 300 and not table.bad
    body = dump[len("INSERT INTO `calls` VALUES (") : -3]
    general = _general(body, True)
    assert general is not None
    assert table.path.read_bytes() == general[0] + b"\n"


def _reference_copy_split(dump: bytes) -> tuple[dict[str, bytes], dict[str, int], bool]:
    """COPY blocks line by line (the plain way): text per table, first line per ignored kind."""
    tables: dict[str, list[bytes]] = {}
    first: dict[str, int] = {}
    current: str | None = None
    for lineno, line in enumerate(io.BytesIO(dump), start=1):
        if current is not None:
            if line.rstrip(b"\r\n") == b"\\.":
                current = None
            else:
                tables[current].append(line)
        elif line.startswith(b"COPY "):
            current = line.split()[1].decode().split(".")[-1]
            tables.setdefault(current, [])
        elif line.startswith((b"SELECT", b"SET")):
            first.setdefault(line.split()[0].decode(), lineno)
    return {k: b"".join(v) for k, v in tables.items()}, first, current is not None


def _copy_dump(seed: int, end_at_eof: bool) -> bytes:
    rng = random.Random(seed)
    out = [b"SET statement_timeout = 0;\n"]
    for k, n in enumerate([80_000, 7, 0, 45_000, 3]):
        out.append(f"COPY public.t{k} (a, b) FROM stdin;\n".encode())
        for i in range(n):
            text = "x" * rng.randint(0, 120)
            out.append(
                f"{i}\t{text}\\t\\\\.\\N\r\n".encode() if i % 7 == 0 else f"{i}\t{text}\n".encode()
            )
        last = k == 4 and end_at_eof
        out.append(b"\\." if last else rng.choice([b"\\.\n", b"\\.\r\n"]))
        if not last:
            out.append(f"SELECT pg_catalog.setval('s{k}', 1);\n".encode())
    return b"".join(out)


@pytest.mark.parametrize("end_at_eof", [False, True])
def test_copy_blocks_across_read_chunks_match_a_line_by_line_split(
    tmp_path: Path, end_at_eof: bool
) -> None:
    dump = _copy_dump(7, end_at_eof)
    assert len(dump) > (1 << 22) * 3 // 2  # blocks and their end markers straddle bulk reads
    packed = gzip.compress(dump, 1)
    for name, fh in [("plain", io.BytesIO(dump)), ("gz", io.BytesIO(packed))]:
        with gzip.GzipFile(fileobj=fh) if name == "gz" else fh as src:
            got = split_dump(src, "pg", tmp_path, name)  # type: ignore[arg-type]
        tables, first, cut = _reference_copy_split(dump)
        assert {t.name: t.path.read_bytes() for t in got.tables} == tables
        assert {t.name: t.lines for t in got.tables} == {
            k: v.count(b"\n") for k, v in tables.items()
        }
        assert dict(got.first_line) == first and dict(got.ignored)["SELECT"] == 5 - end_at_eof
        assert got.truncated is cut is False


def test_copy_block_cut_off_by_the_end_of_the_file(tmp_path: Path) -> None:
    dump = b"COPY t (a) FROM stdin;\n1\n2\n3"
    got = split_dump(io.BytesIO(dump), "pg", tmp_path, "x")
    (table,) = got.tables
    assert got.truncated and table.lines == 3 and table.path.read_bytes() == b"1\n2\n3"
