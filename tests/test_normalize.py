"""normalize: phone numbers, clocks (given, per row, inferred), durations, accounts, flags."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privguard.errors import InputError, SettingsError
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.normalize.phones_sql import distinct_numbers_sql
from privguard.internals.audit.settings import parse_settings
from privguard.internals.common.phones import to_e164
from test_normalize_helpers import write_ingested

UTC = dt.UTC


def _fast(values: list[str | None]) -> dict[str | None, tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (dialed_number VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    return {r[0]: r[1:] for r in con.execute(distinct_numbers_sql("t")).fetchall()}


_n11 = st.integers(200, 999).filter(lambda n: n % 100 != 11)
_formats = st.sampled_from(
    ["({a}) {e}-{l}", "{a}-{e}-{l}", "1-{a}-{e}-{l}", "+1 {a} {e} {l}", "{a}.{e}.{l}", "1{a}{e}{l}"]
)


@settings(max_examples=60, deadline=None)
@given(a=_n11, e=_n11, line=st.integers(0, 9999), fmt=_formats)
def test_fast_path_reads_any_punctuation_of_a_valid_nanp_number(a, e, line, fmt) -> None:
    raw = fmt.format(a=a, e=e, l=f"{line:04d}")
    e164, status, ext = _fast([raw])[raw]
    assert (e164, status, ext) == (f"+1{a}{e}{line:04d}", "valid", None)


def test_fast_path_agrees_with_libphonenumber_where_both_decide() -> None:
    raws = ["1-800-FLOWERS", "(212) 555-1212 ext. 4", "2125551212#3", "512 555 0101 x12",
            "5125550101.0", "+1-512-555-0101"]  # fmt: skip
    fast = _fast(raws)
    for raw in raws:
        lib = to_e164(raw)
        assert fast[raw][0] == lib.e164, raw
        assert fast[raw][2] == lib.extension, raw


def test_fast_path_rejects_nanp_violations_and_defers_the_rest() -> None:
    fast = _fast(["112-555-1234", "512-111-1234", "+44 20 7946 0958", "911", "unknown", None])
    assert fast["112-555-1234"][1].startswith("invalid: area code")
    assert fast["512-111-1234"][1].startswith("invalid: exchange")
    for undecided in ("+44 20 7946 0958", "911", "unknown"):
        assert fast[undecided][1] is None  # left to libphonenumber
    assert fast[None][1] == "invalid: empty"


# --- a small dump: one UTC billing table and local-time copies ------------------------------
CALLS = [
    # (account, number, UTC start, seconds): winter and summer, so DST decides zones
    (i % 7, f"512-555-{1000 + i % 11:04d}",
     dt.datetime(2013, 1, 3, 15, tzinfo=UTC) + dt.timedelta(hours=37 * i, seconds=13 * i),
     45 + 17 * i)
    for i in range(160)
]  # fmt: skip


def _local(t: dt.datetime, zone: str) -> dt.datetime:
    return t.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _dump(work: Path, extra: list[dict] | None = None) -> Path:
    billing = [
        {"facility": "TX07", "inmate_account": f"TX07-{a:07d}", "dialed_number": n,
         "start": t.strftime("%Y-%m-%d %H:%M:%S"), "duration": s, "status": "COMPLETED",
         "recorded": "Y"}
        for a, n, t, s in CALLS
    ]  # fmt: skip
    # Recording system: Chicago wall clock, 12-hour time from separate columns, billed minutes.
    recording = [
        {"facility": "tx-07", "inmate_account": str(a), "dialed_number": "1" + n.replace("-", ""),
         "start": _local(t, "America/Chicago").strftime("%m/%d/%Y %I:%M %p"),
         "duration": -(-s // 60), "status": "accepted", "recorded": "0",
         "recording_ref": f"rec/{a}/{i}.wav"}
        for i, (a, n, t, s) in enumerate(CALLS)
    ]  # fmt: skip
    # Per-row zone abbreviations and h:m:s durations.
    abbrev = [
        {"facility": "Travis County Jail", "inmate_account": f"000{a}", "dialed_number": n,
         "start": _local(t, "America/Denver").strftime("%Y-%m-%dT%H:%M:%S"),
         "start_zone": t.astimezone(ZoneInfo("America/Denver")).tzname(),
         "duration": f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}", "status": "C"}
        for a, n, t, s in CALLS
    ]  # fmt: skip
    tables = [
        {"file": "billing.csv", "rows": billing, "tz_hint": "UTC"},
        {"file": "site/recording.csv", "rows": recording},
        {"file": "abbrev.jsonl", "rows": abbrev},
    ]
    return write_ingested(work, tables + (extra or []))


def _utc_by_table(work: Path) -> dict[int, list]:
    rows = duckdb.sql(
        f"SELECT table_id, list(start_utc ORDER BY src_row) FROM '{work}/normalized.parquet' "
        "GROUP BY table_id"
    ).fetchall()
    return dict(rows)


def test_every_clock_lands_on_the_same_utc_instant(tmp_path: Path) -> None:
    result = normalize(_dump(tmp_path))
    truth = [t.replace(tzinfo=None) for _, _, t, _ in CALLS]
    by_table = _utc_by_table(tmp_path)
    assert by_table[0] == truth
    assert by_table[2] == truth
    # The recording table keeps minutes only: its start is the UTC minute of the call.
    assert by_table[1] == [t.replace(second=0) for t in truth]
    tables = {t["table_id"]: t for t in result.tables}
    assert tables[1]["zone"] == "America/Chicago"
    assert tables[1]["zone_from"] == "inferred"
    assert tables[1]["evidence"]["aligned_rows"] >= 150
    assert tables[1]["evidence"]["runner_up"] is not None
    assert tables[1]["confidence"] in ("high", "medium")
    assert tables[2]["row_zone_methods"] == {"column": len(CALLS)}
    assert not result.warnings


def test_durations_accounts_status_and_flags(tmp_path: Path) -> None:
    normalize(_dump(tmp_path))
    con = duckdb.connect()
    src = f"'{tmp_path}/normalized.parquet'"
    per_table = con.execute(
        f"SELECT table_id, list(duration_s ORDER BY src_row), bool_and(duration_rounded), "
        f"list(DISTINCT inmate_account ORDER BY inmate_account), bool_and(completed), "
        f"list(DISTINCT recorded), count(DISTINCT facility) FROM {src} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    seconds = [s for *_, s in CALLS]
    accounts = sorted({str(a) for a, *_ in CALLS})
    assert per_table[0][1:] == (seconds, False, accounts, True, [True], 1)
    assert per_table[1][1] == [-(-s // 60) * 60 for s in seconds]
    assert per_table[1][2] is True  # billed minutes
    # A recording reference means recorded, even though the flag column says 0.
    assert per_table[1][5] == [True]
    assert per_table[2][1] == seconds  # h:m:s
    assert per_table[2][5] == [None]
    # The table that names the facility instead of coding it joins the same facility.
    assert con.execute(f"SELECT list(DISTINCT facility) FROM {src}").fetchone() == (["TX07"],)
    report = json.loads((tmp_path / "normalize_report.json").read_text())
    assert report["facilities"]["groups"] == [
        {"facility": "TX07", "labels": ["TRAVISCOUNTYJAIL", "TX07"]}
    ]


def test_table_without_overlap_is_a_warning_not_a_silent_guess(tmp_path: Path) -> None:
    lonely = {"file": "lonely.csv", "rows": [
        {"facility": "ZZ01", "inmate_account": "9", "dialed_number": "2125550000",
         "start": "2013-05-05 10:00:00", "duration": "100"}]}  # fmt: skip
    result = normalize(_dump(tmp_path, [lonely]))
    report = json.loads((tmp_path / "normalize_report.json").read_text())
    entry = report["tables"][3]
    assert entry["zone_from"] == "assumed"
    assert entry["warnings"]
    assert any("lonely.csv" in w for w in result.warnings)
    assert report["warnings"] == result.warnings


def test_day_first_table_is_read_day_first(tmp_path: Path) -> None:
    rows = [{"facility": "A", "start": s, "duration": "10"}
            for s in ("03/04/2013 10:00", "25/12/2013 11:30")]  # fmt: skip
    write_ingested(tmp_path, [{"file": "eu.csv", "rows": rows, "tz_hint": "UTC"}])
    normalize(tmp_path)
    assert _utc_by_table(tmp_path)[0] == [
        dt.datetime(2013, 4, 3, 10),
        dt.datetime(2013, 12, 25, 11, 30),
    ]


def test_offsets_in_the_text_and_epochs(tmp_path: Path) -> None:
    rows = [{"facility": "A", "start": s, "duration": "10"}
            for s in ("2013-07-01T12:00:00-05:00", "2013-07-01T17:00:00Z", "1372698000")]  # fmt: skip
    write_ingested(tmp_path, [{"file": "iso.csv", "rows": rows}])
    result = normalize(tmp_path)
    assert _utc_by_table(tmp_path)[0] == [dt.datetime(2013, 7, 1, 17)] * 3
    assert not result.warnings


def test_missing_work_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        normalize(tmp_path)
    assert "privguard ingest" in (info.value.fix or "")


def test_settings_report_every_problem() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings({"normalize": {"zone_candidates": ["Mars/Base"], "infer_min_matches": 0,
                                      "colour": 1}})  # fmt: skip
    assert len(info.value.problems) == 3
    ok = parse_settings({"normalize": {"zone_candidates": ["America/Chicago", "UTC"]}})
    assert ok.normalize.zone_candidates == ("America/Chicago", "UTC")


def test_facility_with_no_zone_anywhere_is_solved_by_trying_a_pivot(tmp_path: Path) -> None:
    # Neither table states a zone: one runs on UTC, the other on Chicago wall clock.
    utc = [
        {"facility": "TX07", "inmate_account": str(a), "dialed_number": n,
         "start": t.strftime("%Y-%m-%d %H:%M:%S"), "duration": s}
        for a, n, t, s in CALLS
    ]  # fmt: skip
    local = [
        {"facility": "TX07", "dialed_number": n, "duration": s,  # no account column
         "start": _local(t, "America/Chicago").strftime("%m/%d/%Y %I:%M:%S %p")}
        for a, n, t, s in CALLS[:120]
    ]  # fmt: skip
    write_ingested(tmp_path, [{"file": "u.csv", "rows": utc}, {"file": "l.csv", "rows": local}])
    result = normalize(tmp_path)
    zones = {t["file"]: (t["zone"], t["zone_from"]) for t in result.tables}
    assert zones == {"u.csv": ("UTC", "inferred"), "l.csv": ("America/Chicago", "inferred")}
    truth = [t.replace(tzinfo=None) for _, _, t, _ in CALLS]
    assert _utc_by_table(tmp_path) == {0: truth, 1: truth[:120]}


# Calls placed in Chicago daytime (8 am - 8 pm local), as jail phones run: UTC instants.
DAY_CALLS = [
    (i % 7, f"512-555-{1000 + i % 11:04d}",
     (dt.datetime(2013, 1, 3, 8 + (5 * i) % 13, i % 60) + dt.timedelta(days=37 * i // 24))
     .replace(tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC),
     45 + 17 * i)
    for i in range(160)
]  # fmt: skip


def _periods(work: Path, calls: list) -> list[dict]:
    """Two periods (winter to spring, then summer), each a UTC table and a Chicago copy."""
    files = []
    for h, part in enumerate([calls[:80], calls[80:]]):
        files.append({"file": f"u{h}.csv", "rows": [
            {"facility": "TX07", "inmate_account": str(a), "dialed_number": n,
             "start": t.strftime("%Y-%m-%d %H:%M:%S"), "duration": s}
            for a, n, t, s in part]})  # fmt: skip
        files.append({"file": f"l{h}.csv", "rows": [
            {"facility": "TX07", "inmate_account": str(a), "dialed_number": n, "duration": s,
             "start": _local(t, "America/Chicago").strftime("%m/%d/%Y %I:%M:%S %p")}
            for a, n, t, s in part[: 60 + 10 * h]]})  # fmt: skip
    write_ingested(work, files)
    return normalize(work).tables


def test_every_period_of_a_facility_with_no_zone_gets_its_own_pivot(tmp_path: Path) -> None:
    # Exports split by period: the first half's tables share no call with the second's, so
    # one pivot cannot reach them all (issue 11: every other year was left "assumed UTC").
    # The summer half has no DST change: UTC + Chicago and Chicago + Honolulu align alike,
    # and only the hour of day (few calls at night on a wall clock) tells them apart.
    tables = _periods(tmp_path, DAY_CALLS)
    zones = {t["file"]: (t["zone"], t["zone_from"], t["confidence"]) for t in tables}
    assert zones == {
        "u0.csv": ("UTC", "inferred", "medium"), "l0.csv": ("America/Chicago", "inferred", "high"),
        "u1.csv": ("UTC", "inferred", "medium"), "l1.csv": ("America/Chicago", "inferred", "high"),
    }  # fmt: skip
    night = tables[2]["evidence"]["night_share_by_zone"]
    assert list(night) == ["UTC", "America/Chicago"]
    assert night["UTC"] == 0.0 and night["America/Chicago"] > 0.05  # local 7-8 pm is UTC 0-1 am
    truth = [t.replace(tzinfo=None) for _, _, t, _ in DAY_CALLS]
    assert _utc_by_table(tmp_path) == {
        0: truth[:80],
        1: truth[:60],
        2: truth[80:],
        3: truth[80:150],
    }


def test_a_tie_the_hours_cannot_break_is_low_confidence_and_warned(tmp_path: Path) -> None:
    # CALLS fall at every hour of the day: the summer half's two readings stay tied.
    summer = {t["file"]: t for t in _periods(tmp_path, CALLS)}["u1.csv"]
    assert summer["confidence"] == "low"
    assert "align about as well" in summer["warnings"][0]


def test_a_weak_guess_becomes_evidence_for_its_copies_before_they_guess(tmp_path: Path) -> None:
    # Two full copies (UTC billing, Chicago recordings) each share only 8 calls with the one
    # table whose clock is stated: too few for either alone. One is taken first; the other
    # is then judged against all 160 calls of its copy (issue 11: judged together, on a
    # handful of calls each, one copy at 1 M calls took Honolulu for UTC).
    rows = lambda calls, zone, fmt: [  # noqa: E731
        {"facility": "TX07", "inmate_account": str(a), "dialed_number": n, "duration": s,
         "start": (t.replace(tzinfo=None) if zone == "UTC" else _local(t, zone)).strftime(fmt)}
        for a, n, t, s in calls
    ]  # fmt: skip
    stated = rows(DAY_CALLS[:8], "America/Chicago", "%Y-%m-%d %H:%M:%S")
    for r in stated:
        r["start_zone"] = "America/Chicago"
    write_ingested(tmp_path, [
        {"file": "k.csv", "rows": stated},
        {"file": "u.csv", "rows": rows(DAY_CALLS, "UTC", "%Y-%m-%d %H:%M:%S")},
        {"file": "l.csv", "rows": rows(DAY_CALLS, "America/Chicago", "%m/%d/%Y %I:%M:%S %p")},
    ])  # fmt: skip
    tables = {t["file"]: t for t in normalize(tmp_path).tables}
    assert tables["u.csv"]["zone"] == "UTC" and tables["l.csv"]["zone"] == "America/Chicago"
    confidence = sorted(tables[f]["confidence"] for f in ("u.csv", "l.csv"))
    assert confidence == ["high", "low"]
    second = next(t for f, t in tables.items() if f != "k.csv" and t["confidence"] == "high")
    assert second["evidence"]["matched_rows"] == 160


def test_equivalent_zones_take_the_name_the_facility_uses(tmp_path: Path) -> None:
    # In summer Phoenix (MST) and Los Angeles (PDT) give the same UTC: name it Phoenix,
    # as the facility's zone column does, and do not warn (nothing is ambiguous).
    summer = [c for c in CALLS if 6 <= c[2].month <= 8]
    billing = [
        {"facility": "AZ03", "inmate_account": str(a), "dialed_number": n,
         "start": t.strftime("%Y-%m-%d %H:%M:%S"), "duration": s}
        for a, n, t, s in CALLS
    ]  # fmt: skip
    named = [
        {"facility": "AZ03", "inmate_account": str(a), "dialed_number": n, "duration": s,
         "start": _local(t, "America/Phoenix").isoformat(sep=" "), "start_zone": "America/Phoenix"}
        for a, n, t, s in CALLS[:20]
    ]  # fmt: skip
    local = [
        {"facility": "AZ03", "inmate_account": str(a), "dialed_number": n, "duration": s,
         "start": _local(t, "America/Phoenix").isoformat(sep=" ")}
        for a, n, t, s in summer
    ]  # fmt: skip
    write_ingested(
        tmp_path,
        [
            {"file": "b.csv", "rows": billing, "tz_hint": "UTC"},
            {"file": "n.csv", "rows": named},
            {"file": "summer.csv", "rows": local},
        ],
    )
    result = normalize(tmp_path)
    entry = result.tables[2]
    assert (entry["zone"], entry["zone_from"]) == ("America/Phoenix", "inferred")
    assert entry["evidence"]["same_utc_as_runner_up"] == 1.0
    assert not result.warnings
