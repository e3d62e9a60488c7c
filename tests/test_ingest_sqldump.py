"""SQL-dump VALUES rewriting: the array fast path gives exactly the general path's bytes."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.internals.ingest.sqldump import (
    fast_records,
    general_records,
    rewrite_escapes,
    split_dump,
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
