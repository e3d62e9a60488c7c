"""Issue 11 item 3: completion stated, inferred from other evidence, or unknown: never a false 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from privguard.internals.audit.dedupe.api import dedupe
from privguard.internals.audit.findings.words import headline
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.normalize.sql import RING_S
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.completion import completed_cell
from test_dedupe import _row, _write
from test_normalize_helpers import write_ingested

T0 = dt.datetime(2013, 5, 6, 15, 0, 0)


def _call(i: int, **kw: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "facility": "TX07",
        "inmate_account": str(10 + i),
        "dialed_number": f"512-555-{2000 + i:04d}",
        "start": (T0 + dt.timedelta(hours=5 * i)).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return {**base, **kw}


def _completion(work: Path) -> dict[tuple[int, int], tuple[bool | None, str | None]]:
    rows = duckdb.sql(
        f"SELECT table_id, src_row, completed, completed_from FROM '{work}/normalized.parquet'"
    ).fetchall()
    return {(t, r): (c, f) for t, r, c, f in rows}


def test_completion_is_inferred_only_from_evidence_that_shows_it(tmp_path: Path) -> None:
    no_status = [
        _call(0, duration="300", recorded=None),  # past the ring-out: connected
        _call(1, duration=str(RING_S)),  # could be ringing: unknown
        _call(2, duration="0"),  # zero: not connected
        _call(3, duration=None, recording_ref="media/3.wav"),  # a recording exists
        _call(4, duration=None, recorded="Y"),  # flagged recorded
        _call(5, duration=None),  # nothing at all: unknown
    ]
    # Billed minutes: one minute may be a ring-out billed, two are not.
    billed = [_call(6, duration="2"), _call(7, duration="0"), _call(10, duration="1")]
    stated = [_call(8, duration="400", status="refused"), _call(9, duration="0", status="C")]
    write_ingested(
        tmp_path,
        [
            {"file": "a.csv", "rows": no_status, "tz_hint": "UTC", "duration_unit": "seconds"},
            {"file": "b.csv", "rows": billed, "tz_hint": "UTC", "duration_unit": "minutes"},
            {"file": "c.csv", "rows": stated, "tz_hint": "UTC", "duration_unit": "seconds"},
        ],
    )
    normalize(tmp_path)
    got = _completion(tmp_path)
    assert got[(0, 1)] == (True, "duration")
    assert got[(0, 2)] == (None, None)
    assert got[(0, 3)] == (False, "duration")
    assert got[(0, 4)] == (True, "recording")
    assert got[(0, 5)] == (True, "recording")
    assert got[(0, 6)] == (None, None)
    assert got[(1, 1)] == (True, "billed minutes")
    assert got[(1, 2)] == (False, "duration")
    assert got[(1, 3)] == (None, None)
    # A stated status wins over every inference, either way.
    assert got[(2, 1)] == (False, "status")
    assert got[(2, 2)] == (True, "status")


def test_a_stated_status_outranks_a_copy_whose_completion_was_inferred(tmp_path: Path) -> None:
    rows = [
        _row(0, 1, "7", "+15125550101", T0, 95, completed=False, completed_from="status"),
        _row(1, 1, "7", "+15125550101", T0, 95, completed=True, completed_from="duration"),
        _row(0, 2, "8", "+15125550102", T0, 95, completed=None, completed_from=None),
        _row(1, 2, "8", "+15125550102", T0, 95, completed=True, completed_from="recording"),
    ]
    dedupe(_write(tmp_path / "work", rows), tmp_path / "out")
    calls = duckdb.sql(
        f"SELECT dialed_number, completed, completed_from FROM '{AuditPaths(tmp_path / 'out').calls}'"
        " ORDER BY 1"
    ).fetchall()
    assert calls == [("+15125550101", False, "status"), ("+15125550102", True, "recording")]


def _summary(**kw: int) -> dict[str, int | str]:
    base = dict(calls=90, inmates=9, unique_numbers=30, privileged_calls=40,
                completed_privileged_calls=0, privileged_calls_completion_inferred=0,
                privileged_calls_completion_unknown=0, attorney_numbers=5,
                privileged_calls_recorded=12, registry_violations=0, candidate_numbers=0)  # fmt: skip
    return {**base, **kw, "first_call": "2013-01-01", "last_call": "2014-01-01"}


def test_headline_never_states_a_false_zero_completed() -> None:
    unknown = headline(_summary(privileged_calls_completion_unknown=40))
    assert "0 completed" not in unknown and "completion unknown" in unknown
    inferred = headline(
        _summary(
            completed_privileged_calls=25,
            privileged_calls_completion_inferred=31,
            privileged_calls_completion_unknown=3,
        )  # fmt: skip
    )
    assert "25 completed" in inferred
    assert "completion of 31 inferred from their duration" in inferred
    assert "unknown for 3" in inferred
    stated = headline(_summary(completed_privileged_calls=25))
    assert "(25 completed)" in stated


def test_monthly_cells_say_unknown_or_inferred() -> None:
    assert completed_cell({"calls": 4, "completed": 0, "completion_unknown": 4}) == "unknown"
    cell = completed_cell(
        {"calls": 9, "completed": 5, "completion_unknown": 2, "completion_inferred": 6}
    )
    assert cell == "5 (6 inferred; 2 unknown)"
    assert completed_cell({"calls": 9, "completed": 0, "completion_unknown": 0}) == "0"


def test_a_violation_resting_on_an_undated_list_entry_says_so() -> None:
    """A registry without dates: the headline qualifies 'on the list at the time' (issue 13)."""
    import duckdb

    from privguard.internals.audit.findings.sql import undated_registry_query

    con = duckdb.connect()
    con.execute(
        "CREATE VIEW f_registry AS SELECT * FROM (VALUES ('+15125550100', NULL::DATE), "
        "('+15125550111', DATE '2013-01-01')) t(number, registered_from)"
    )
    assert con.execute(undated_registry_query()).fetchone() == (1,)
    dated = headline(_summary(registry_violations=3))
    assert "at the time." in dated and "no date added" not in dated
    undated = headline(_summary(registry_violations=3, registry_entries_undated=1))
    assert "the list gives no date added for 1 of its entries" in undated
