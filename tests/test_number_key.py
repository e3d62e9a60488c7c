"""The number key: one text per number however it is written, never one for two numbers (#21)."""

from __future__ import annotations

import datetime as dt
import json
from itertools import combinations
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

import privguard
from privguard.internals.audit.dedupe.api import dedupe
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.normalize.phones_sql import distinct_numbers_sql, number_key
from privguard.internals.audit.paths import AuditPaths
from test_normalize_helpers import write_ingested


def _keyed(values: list[str | None]) -> dict[str | None, tuple[str | None, str | None]]:
    """Each raw value's (key, fast-path status) as normalize builds the key."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (dialed_number VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    sql = (
        f"SELECT raw, coalesce(e164, {number_key('raw')}), status "
        f"FROM ({distinct_numbers_sql('t')})"
    )
    return {r[0]: (r[1], r[2]) for r in con.execute(sql).fetchall()}


def _keys(values: list[str | None]) -> dict[str | None, str | None]:
    return {k: v[0] for k, v in _keyed(values).items()}


# Each group: ways people write ONE number. Keys must agree inside a group, differ across.
SAME = [
    # valid
    ["(212) 555-0100", "+12125550100", "212.555.0100", "1-212-555-0100", "2125550100.0",
     "2.125550100E+09", "212 555 0100 x12"],
    # N11 area code, N11 exchange, exchange starting 1, area code starting 0
    ["(211) 555-0100", "+12115550100", "2115550100", "1 211 555 0100", "2115550100.0",
     "+1 (211) 555-0100", "211-555-0100 ext 7", "2.115550100e+09"],
    ["(212) 911-0100", "+12129110100", "12129110100"],
    ["(212) 155-0100", "+1 212 155 0100", "2121550100"],
    ["(012) 555-0100", "+10125550100", "0125550100"],
    # 10 digits starting 011 are an (invalid) area code 011, as in both layouts
    ["(011) 555-0100", "+10115550100", "0115550100"],
    # an international number that fails validation, three ways
    ["+44 20 7946 095", "011 44 20 7946 095", "+44 (20) 7946-095"],
    # a 7-digit local number
    ["555-0100", "5550100", "555.0100"],
    # the same 11 digits not starting with 1 (no trunk prefix to drop)
    ["21255501000", "212-555-01000"],
    # rounded by a spreadsheet: only the same text
    ["2.12555E+09", "2.12555e+09"],
]  # fmt: skip
# Different numbers that a careless key would merge with one of the groups above.
DIFFERENT = [
    "+2125550100",  # Morocco (+212), not (212) 555-0100
    "+15550100",  # a country code and 7 digits, not the local 555-0100
    "15550100",  # 8 digits
    "2125550000",  # what 2.12555E+09 rounds to: a real, different number
    "21255509",  # the digits of "2.12555E+09"
    "8656696",  # UNKNOWN on a keypad
    "212555010",  # 9 digits
    "+4420794609",  # one digit more than +44 20 7946 095
]


def test_every_way_of_writing_a_number_gets_one_key_and_different_numbers_differ() -> None:
    raws = [r for group in SAME for r in group] + DIFFERENT
    keys = _keys(raws)
    group_keys = []
    for group in SAME:
        found = {keys[r] for r in group}
        assert len(found) == 1 and None not in found, (group, found)
        group_keys.append(found.pop())
    every = group_keys + [keys[r] for r in DIFFERENT]
    assert len(set(every)) == len(every), every


def test_text_without_digits_has_no_key() -> None:
    assert _keys(["UNKNOWN", "BLOCKED", "", None]) == dict.fromkeys(
        ["UNKNOWN", "BLOCKED", "", None]
    )


_D = st.text("0123456789", min_size=10, max_size=10)
_F = st.sampled_from(
    ["({a}) {e}-{l}", "+1{a}{e}{l}", "1-{a}-{e}-{l}", "{a}{e}{l}.0", "{a}.{e}.{l}"]
)


@settings(max_examples=80, deadline=None)
@given(d=_D, f1=_F, f2=_F)
def test_any_ten_digits_written_two_ways_share_a_key(d: str, f1: str, f2: str) -> None:
    """Valid or not (N11, 0/1 starts, even area code 011): the layouts of issue #21 agree."""
    a, e, line = d[:3], d[3:6], d[6:]
    r1, r2 = f1.format(a=a, e=e, l=line), f2.format(a=a, e=e, l=line)
    keyed = _keyed([r1, r2])
    assert keyed[r1][0] == keyed[r2][0] == f"+1{d}"
    # and the fast path decides both alike, so the report gives one reason per number
    assert keyed[r1][1] == keyed[r2][1] is not None


@settings(max_examples=60, deadline=None)
@given(d1=_D, d2=_D)
def test_two_different_ten_digit_numbers_never_share_a_key(d1: str, d2: str) -> None:
    if d1 == d2:
        return
    keys = _keys([f"({d1[:3]}) {d1[3:6]}-{d1[6:]}", f"+1{d2}", d1[3:], f"1{d2[3:]}"])
    assert all(a != b for a, b in combinations(keys.values(), 2)), keys


# --- through normalize and dedupe: the same calls in two layouts and several formats --------
T0 = dt.datetime(2013, 3, 4, 15, 0, 0)
NUMBERS = [
    # (layout A, layout B) for one number each
    ("(512) 555-0101", "+15125550101"),  # valid
    ("(211) 555-0100", "+12115550100"),  # N11 area code
    ("(512) 911-0100", "+15129110100"),  # N11 exchange
    ("(512) 155-0100", "1-512-155-0100"),  # exchange starts with 1
    ("555-0100", "5550100"),  # local, no area code
    ("+44 20 7946 095", "011 44 20 7946 095"),  # international, not valid
    ("2.12555E+09", "2.12555E+09"),  # rounded by a spreadsheet, same text both times
    ("UNKNOWN", ""),  # no number
]


def _layouts() -> tuple[list[dict], list[dict], int]:
    a, b = [], []
    for i, (num_a, num_b) in enumerate(NUMBERS):
        for k in range(2):  # two calls per number, an hour apart
            start = T0 + dt.timedelta(hours=k, minutes=7 * i)
            row = {"facility": "TX07", "inmate_account": str(100 + i), "duration": 120 + 10 * i}
            a.append({**row, "dialed_number": num_a, "start": start.isoformat(sep=" ")})
            b.append({**row, "dialed_number": num_b or None, "start": start.isoformat(sep=" ")})
    return a, b, len(NUMBERS) * 2


def test_normalize_and_dedupe_give_one_call_per_true_call(tmp_path: Path) -> None:
    a, b, true_calls = _layouts()
    work = tmp_path / "work"
    write_ingested(
        work,
        [
            {"file": "a.csv", "rows": a, "tz_hint": "UTC", "duration_unit": "seconds"},
            {"file": "b.csv", "rows": b, "tz_hint": "UTC", "duration_unit": "seconds"},
        ],
    )
    normalize(work)
    result = dedupe(work, tmp_path / "out")
    assert (result.rows_in, result.calls_out) == (2 * true_calls, true_calls)
    calls = pq.read_table(AuditPaths(tmp_path / "out").calls).to_pylist()
    assert all(c["n_sources"] == 2 for c in calls)


# --- end to end: privguard.audit on a tiny hand-made CSV dump in two layouts ----------------
BILLING = """call_id,facility,inmate_account,dialed_number,start_utc,duration_s,status
1,TX07,100,(512) 555-0101,2013-03-04 15:00:00,125,completed
2,TX07,100,(512) 555-0101,2013-03-04 16:00:00,300,completed
3,TX07,101,(211) 555-0100,2013-03-04 15:07:00,60,completed
4,TX07,102,(512) 911-0100,2013-03-04 15:14:00,61,completed
5,TX07,103,555-0100,2013-03-04 15:21:00,62,refused
6,TX07,104,+44 20 7946 095,2013-03-04 15:28:00,63,completed
7,TX07,105,2.12555E+09,2013-03-04 15:35:00,64,completed
8,TX07,106,2115550100.0,2013-03-04 17:00:00,65,completed
"""
RECORDINGS = """seq,site,account,phone,call_start_utc,seconds,recorded
A1,TX07,100,+15125550101,2013-03-04 15:00:00,125,yes
A2,TX07,100,1-512-555-0101,2013-03-04 16:00:00,300,yes
A3,TX07,101,+12115550100,2013-03-04 15:07:00,60,yes
A4,TX07,102,+15129110100,2013-03-04 15:14:00,61,no
A5,TX07,103,5550100,2013-03-04 15:21:00,62,no
A6,TX07,104,011 44 20 7946 095,2013-03-04 15:28:00,63,yes
A7,TX07,105,2.12555E+09,2013-03-04 15:35:00,64,yes
A8,TX07,106,+1 (211) 555-0100,2013-03-04 17:00:00,65,yes
"""


def test_audit_counts_one_call_per_true_call_and_reports_invalid_numbers_apart(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "billing.csv").write_text(BILLING, encoding="utf-8")
    (dump / "recordings.csv").write_text(RECORDINGS, encoding="utf-8")
    out = tmp_path / "out"
    privguard.audit(dump, out)
    summary = json.loads(AuditPaths(out).summary.read_text())
    calls = pq.read_table(AuditPaths(out).calls).to_pylist()
    assert summary["calls"] == len(calls) == 8
    assert all(c["n_sources"] == 2 for c in calls)
    assert summary["calls_to_invalid_numbers"] == 6
    assert summary["invalid_number_reasons"] == {
        "area code is an N11 service code": 2,
        "digits lost to scientific notation": 1,
        "exchange is an N11 service code": 1,
        "local number without area code": 1,
        "not a valid number": 1,
    }
    assert summary["unique_numbers"] == 1  # only (512) 555-0101 is a phone number
    assert summary["attorney_numbers"] == 0
    sentence = (
        "6 calls went to numbers that are not valid phone numbers (N11 area code: 2; "
        "digits lost by a spreadsheet: 1; N11 exchange: 1; local number without area code: 1; "
        "no such number: 1); they are counted as calls, never as attorney numbers."
    )
    assert sentence in AuditPaths(out).report_html.read_text(encoding="utf-8")


def test_the_sentence_reads_right_for_none_one_and_many() -> None:
    from privguard.internals.audit.report.texts import invalid_numbers

    assert invalid_numbers({}) is None  # a summary from before the count existed
    assert invalid_numbers({"calls_to_invalid_numbers": 0}) == (
        "Every call went to a valid phone number."
    )
    one = {"calls_to_invalid_numbers": 1, "invalid_number_reasons": {"too short": 1}}
    assert invalid_numbers(one) == (
        "1 call went to a number that is not a valid phone number (too short: 1); "
        "it is counted as a call, never as an attorney number."
    )
    many = {
        "calls_to_invalid_numbers": 312,
        "invalid_number_reasons": {"too short": 112, "area code is an N11 service code": 200},
    }
    assert invalid_numbers(many) == (
        "312 calls went to numbers that are not valid phone numbers (N11 area code: 200; "
        "too short: 112); they are counted as calls, never as attorney numbers."
    )
