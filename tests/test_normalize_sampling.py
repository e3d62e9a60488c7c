"""Time formats chosen from a hashed sample of a big table's rows agree with every row."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from privguard.internals.audit.engines import connect
from privguard.internals.audit.normalize import clocks
from privguard.internals.audit.normalize import sql as nsql


def _starts(n: int, fmt: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    base = dt.datetime(2013, 1, 1)
    return [
        (base + dt.timedelta(seconds=rng.randrange(365 * 86400))).strftime(fmt) for _ in range(n)
    ]


def _register(ex, tables: dict[int, list[str]]) -> dict[int, int]:
    ids, rows, starts = [], [], []
    for t, values in tables.items():
        ids += [t] * len(values)
        rows += list(range(1, len(values) + 1))
        starts += values
    ex.register_arrow(
        "_t_src",
        pa.table(
            {
                "table_id": pa.array(ids, pa.int32()),
                "src_row": pa.array(rows, pa.int64()),
                "start": pa.array(starts, pa.string()),
            }
        ),
    )
    return {t: len(v) for t, v in tables.items()}


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M"),
        ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M %p"),
        ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"),
    ],
)
def test_sampled_formats_match_the_full_pass(fmt: str, expected: str) -> None:
    ex = connect()
    try:
        sizes = _register(ex, {1: _starts(6000, fmt, 1), 2: _starts(150, fmt, 2)})
        sampled = clocks.choose_formats(ex, "_t_src", sizes, sample_rows=300)
        full = clocks.choose_formats(ex, "_t_src")
    finally:
        ex.close()
    assert sampled == full
    assert expected in sampled[1]
    assert expected in sampled[2]


def test_hashed_sample_keeps_about_the_target_and_the_same_rows_each_time() -> None:
    ex = connect()
    try:
        sizes = _register(ex, {1: _starts(20000, "%Y-%m-%d %H:%M", 3), 2: _starts(100, "%Y", 4)})
        rates = clocks.sample_rates(sizes, 1000)
        assert 2 not in rates  # a small table is read whole
        join, where = nsql.keep_rows_sql(rates)
        query = f"SELECT table_id, src_row FROM _t_src{join} WHERE true{where} ORDER BY ALL"
        first, again = ex.fetchall(query), ex.fetchall(query)
    finally:
        ex.close()
    assert first == again
    kept = [r for r in first if r[0] == 1]
    assert 700 < len(kept) < 1300
    assert sum(1 for r in first if r[0] == 2) == 100


@pytest.mark.parametrize(
    "raw",
    [
        "  1/2/2013   3:04 p.m. ",
        "1/2/2013\t3:04 A.M",
        "2013-01-02T03:04:05-05:00",
        "2013-01-02 03:04:05.123Z",
        "02.01.2013 15:04",
        "1/2/2013\r\n3:04 PM UTC",
        "jan 2, 2013 3:04 pm",
        "",
    ],
)
def test_guarded_start_cleaning_equals_the_plain_regex_chain(raw: str) -> None:
    plain = r"regexp_replace(upper(trim(s)), '\s+', ' ', 'g')"
    plain = rf"regexp_replace(regexp_replace({plain}, 'A\.M\.?', 'AM'), 'P\.M\.?', 'PM')"
    plain = f"regexp_replace({plain}, '{nsql._OFFSET_RE}', '\\1')"
    ex = connect()
    try:
        got = ex.fetchall(f"SELECT {nsql.clean_start('s')}, {plain} FROM (SELECT ? AS s)", [raw])
    finally:
        ex.close()
    assert got[0][0] == got[0][1]
