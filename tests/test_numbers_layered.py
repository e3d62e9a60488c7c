"""The layered number SQL (each regex once per value) gives exactly the nested one's rows (#20)."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.internals.audit.normalize.phones_sql import nested_numbers_sql, numbers_sql

ODD = [
    None, "", "   ", "(212) 555-0100", "+12125550100", "212.555.0100", "1-212-555-0100",
    "2125550100.0", "2.125550100E+09", "212 555 0100 x12", "(211) 555-0100", "2115550100",
    "211-555-0100 ext 7", "2.115550100e+09", "(212) 911-0100", "(012) 555-0100",
    "(011) 555-0100", "+44 20 7946 095", "011 44 20 7946 095", "555-0100", "21255501000",
    "2.12555E+09", "2E+09", "9.1E+09", "unknown", "room 4", "1-800-FLOWERS", "800 FLOWERS x9",
    "+1 (800) FLOWERS", "#12", "212-555-0100 #4", "212 555 0100 EXTENSION 123456",
    "212 555 0100 EXT. 1234567", "+ 1 212 555 0100", "+2 212 555 0100", "0112125550100",
    "011", "212\t555\n0100", "２１２５５５０１００", "2125550100.00", "12345678.0", "x",
]  # fmt: skip


def _rows(values: list[str | None]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (dialed_number VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    order = " ORDER BY raw NULLS FIRST"
    layered = con.execute(f"SELECT * FROM ({numbers_sql('t')}){order}").fetchall()
    nested = con.execute(f"SELECT * FROM ({nested_numbers_sql('t')}){order}").fetchall()
    return layered, nested


def test_layered_equals_nested_on_every_odd_value() -> None:
    layered, nested = _rows(ODD)
    assert len(layered) == len(set(ODD))
    assert layered == nested
    # The comparison can fail: the columns carry verdicts, not just the raw values.
    assert any(r[2] == "valid" for r in layered) and any(r[4] is None for r in layered)


_PHONEISH = st.text(alphabet="0123456789 +-().#xXeE/ABCextEXTN\t", max_size=24)


@settings(max_examples=60, deadline=None)
@given(st.lists(_PHONEISH, min_size=1, max_size=40))
def test_layered_equals_nested_on_random_texts(values: list[str]) -> None:
    layered, nested = _rows(values)
    assert layered == nested
