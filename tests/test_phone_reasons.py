"""Why a number fails validation: a fixed set of reasons, the same from SQL and Python."""

from __future__ import annotations

import duckdb
import pytest

from privguard.internals.audit.normalize.phones_sql import distinct_numbers_sql
from privguard.internals.common.phones import REASONS, reason_label, to_e164


def _fast(values: list[str | None]) -> dict[str | None, tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (dialed_number VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    return {r[0]: r[1:] for r in con.execute(distinct_numbers_sql("t")).fetchall()}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("5550100", "invalid: local number without area code"),
        ("212555010", "invalid: too short"),
        ("21255501000", "invalid: too long"),
        ("+999 123", "invalid: unknown country code"),
        ("unknown", "invalid: no digits"),
        ("room 4", "invalid: not a phone number"),
        ("+44 20 7946 095", "invalid: not a valid number"),
        ("2.12555E+09", "invalid: digits lost to scientific notation"),
        ("2E+09", "invalid: digits lost to scientific notation"),
        (None, "invalid: empty"),
    ],
)
def test_libphonenumber_failures_get_a_reason_from_the_fixed_list(raw, status) -> None:
    got = to_e164(raw)
    assert (got.e164, got.status) == (None, status)
    assert status.removeprefix("invalid: ") in REASONS


def test_scientific_notation_is_read_only_when_it_kept_every_digit() -> None:
    for raw in ("2.125550100E+09", "2.1255501000e+09"):
        assert to_e164(raw).e164 == "+12125550100", raw
    fast = _fast(["2.125550100E+09", "2.12555E+09", "2.12555e+09"])
    assert fast["2.125550100E+09"][:2] == ("+12125550100", "valid")
    # 2.12555E+09 is 2125550000 only as written: the spreadsheet rounded the true number.
    assert fast["2.12555E+09"][:2] == (None, "invalid: digits lost to scientific notation")
    assert fast["2.12555e+09"][:2] == (None, "invalid: digits lost to scientific notation")


def test_every_fast_path_reason_has_plain_words() -> None:
    raws = ["112-555-1234", "212-111-1234", "211-555-1234", "212-911-1234", "", "9.1E+09"]
    statuses = {v[1] for v in _fast(raws).values()}
    assert len(statuses) == 6
    for status in statuses:
        assert status.removeprefix("invalid: ") in REASONS, status
    assert reason_label("invalid: area code is an N11 service code") == "N11 area code"
    assert reason_label("invalid: something new") == "something new"
