"""Issue 11: a dump with no status, no durations and no recorded flag, plus a table of
recordings. Completion is inferred or unknown, recordings count as recorded, and the
candidate score goes on without the features the dump lacks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

import duckdb
import pytest

import privguard
from privguard.internals.audit.paths import AuditPaths

ATTORNEYS = [f"+1512555{3000 + i:04d}" for i in range(6)]
FAMILY = [f"+1737555{4000 + i:04d}" for i in range(12)]
INMATES = [f"{9000 + i}" for i in range(40)]
MONDAY = dt.datetime(2013, 1, 7)
CHICAGO_TO_UTC = dt.timedelta(hours=6)  # winter: CST = UTC-6


def _calls(rng: random.Random) -> list[tuple[str, str, dt.datetime]]:
    calls = []
    for number in ATTORNEYS:  # many inmates, weekday office hours
        for _ in range(40):
            day = MONDAY + dt.timedelta(days=7 * rng.randrange(10) + rng.randrange(5))
            local = day + dt.timedelta(hours=rng.randrange(9, 16), minutes=rng.randrange(60))
            calls.append((rng.choice(INMATES), number, local))
    for k, number in enumerate(FAMILY):  # one caller, evenings and weekends
        for _ in range(30):
            day = MONDAY + dt.timedelta(days=rng.randrange(70))
            local = day + dt.timedelta(hours=rng.choice((7, 19, 20, 21)), minutes=rng.randrange(60))
            calls.append((INMATES[k], number, local))
    return sorted(calls, key=lambda c: c[2])


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unseen")
    dump = root / "dump"
    dump.mkdir()
    calls = _calls(random.Random(5))
    with open(dump / "phone_log.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["facility", "account", "dialed_number", "start_utc"])
        for acct, number, local in calls:
            utc = local + CHICAGO_TO_UTC
            w.writerow(["TX07", acct, number, utc.strftime("%Y-%m-%d %H:%M:%S")])
    with open(dump / "recordings.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["facility", "account", "dialed_number", "start_utc", "media_path"])
        for i, (acct, number, local) in enumerate(calls):
            if i % 3 == 0:
                utc = local + CHICAGO_TO_UTC
                w.writerow(["TX07", acct, number, utc.strftime("%Y-%m-%d %H:%M:%S"),
                            f"audio/{i}.wav"])  # fmt: skip
    out = root / "out"
    privguard.audit(dump, out)
    return out


def test_recordings_table_marks_its_calls_recorded_and_completed(audited: Path) -> None:
    calls = AuditPaths(audited).calls
    rows = duckdb.sql(
        f"SELECT recording_ref IS NOT NULL AS has_ref, recorded, completed, completed_from, "
        f"count(*) FROM '{calls}' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [
        (False, None, None, None, rows[0][4]),
        (True, True, True, "recording", rows[1][4]),
    ]
    assert rows[1][4] > 50


def test_summary_says_completion_is_inferred_or_unknown(audited: Path) -> None:
    s = json.loads(AuditPaths(audited).summary.read_text())
    assert s["calls_completion_inferred"] == s["completed_calls"] > 0
    assert s["calls_completion_unknown"] == s["calls"] - s["completed_calls"] > 0
    html = AuditPaths(audited).report_html.read_text()
    assert "inferred from duration, billed minutes or a recording" in html


def test_candidates_are_found_without_durations_and_say_so(audited: Path) -> None:
    s = json.loads(AuditPaths(audited).summary.read_text())
    assert s["candidate_features_missing"] == ["duration", "brevity"]
    assert "without looking at how long their calls lasted" in s["headline"]
    numbers = AuditPaths(audited).numbers
    found = dict(
        duckdb.sql(
            f"SELECT number, evidence FROM '{numbers}' WHERE classification = 'candidate'"
        ).fetchall()
    )
    assert len(set(found) & set(ATTORNEYS)) >= 5
    assert not set(found) & set(FAMILY)
    assert all(
        "scored without the median call length and the share of short calls" in e
        for e in found.values()
    )


@pytest.mark.parametrize("header", ["rec_link", "media_path", "Media ID", "audio_id"])
def test_a_recording_column_under_a_vendor_header_is_the_recording_reference(header: str) -> None:
    from privguard.internals.audit.ingest.mapping import map_table

    sample = [["5125553000", "2013-01-07 15:00:00", f"R-{i:05d}"] for i in range(20)]
    m = map_table(["dialed_number", "start", header], sample, None)
    assert m.fields.get("recording_ref") == (2,)


def test_a_start_with_an_hours_only_offset_is_found_by_its_values() -> None:
    from privguard.internals.audit.ingest.mapping import kind

    # PostgreSQL writes timestamptz as "2011-12-01 17:10:57+00".
    assert kind([f"2011-12-{d:02d} 17:10:57+00" for d in range(1, 20)]) == "datetime"
    assert kind([f"2011-12-{d:02d} 17:10:57-0500" for d in range(1, 20)]) == "datetime"


def test_unseen_headers_are_read_from_their_values() -> None:
    from privguard.internals.audit.ingest.mapping import map_table

    cols = ["ph", "dt", "rec", "t", "seq"]
    sample = [
        [f"512555{3000 + i:04d}", f"2013-01-{1 + i % 28:02d} 10:{i % 60:02d}:00", str(i % 2),
         f"{i % 17}:{(7 * i) % 60:02d}", str(700000000 + 7919 * i)]
        for i in range(40)
    ]  # fmt: skip
    m = map_table(cols, sample, None)
    assert m.fields["recorded"] == (2,) and m.fields["duration"] == (3,)
    roles = m.roles(cols)
    assert roles["duration"]["column"] == "t" and roles["duration"]["confidence"] == "medium"
    assert "m:ss" in roles["duration"]["evidence"]
    assert "yes/no flag" in roles["recorded"]["evidence"]
    # Two flag columns: which one is "recorded" is not unambiguous, so neither is taken.
    two = map_table([*cols, "x"], [[*r, str(1 - int(r[2]))] for r in sample], None)
    assert "recorded" not in two.fields
    # A billing-named duration in whole minutes is found by its values too.
    billed = map_table(["ph", "dt", "bill_amt_units"], [r[:2] + [str(i % 30)] for i, r in
                                                        enumerate(sample)], None)  # fmt: skip
    assert billed.fields["duration"] == (2,)


def test_tables_with_the_same_meaningless_header_are_each_read_from_their_values(
    tmp_path: Path,
) -> None:
    """Two exports under col1..colN headers with the columns in a different order."""
    dump = tmp_path / "dump"
    dump.mkdir()
    rows = [(f"512555{3000 + i:04d}", f"2013-01-{1 + i % 28:02d} 10:{i % 60:02d}:00")
            for i in range(30)]  # fmt: skip
    (dump / "a.csv").write_text("col1,col2\n" + "".join(f"{p},{t}\n" for p, t in rows))
    (dump / "b.csv").write_text("col1,col2\n" + "".join(f"{t},{p}\n" for p, t in rows))
    from privguard.internals.audit.ingest.api import ingest

    ingest(dump, tmp_path / "work")
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    got = {t["file"]: t["mapping"] for t in report["tables"]}
    assert got["a.csv"] == {"dialed_number": "col1", "start": "col2"}
    assert got["b.csv"] == {"dialed_number": "col2", "start": "col1"}
    assert report["tables"][0]["roles"]["start"]["how"] == "content"


def test_the_mapping_file_still_overrides_what_the_values_suggest() -> None:
    from privguard.internals.audit.ingest.mapping import map_table
    from privguard.internals.audit.ingest.settings import MappingRule

    cols = ["ph", "dt", "a", "b"]
    sample = [[f"512555{3000 + i:04d}", f"2013-01-{1 + i % 28:02d} 10:00:00", str(i % 2),
               f"{i % 9}:{i % 60:02d}"] for i in range(30)]  # fmt: skip
    rule = MappingRule(files="*.csv", columns=(("duration", ("a",)), ("status", ("b",))))
    m = map_table(cols, sample, rule)
    assert m.fields["duration"] == (2,) and m.how["duration"] == "mapping"
    assert m.fields["status"] == (3,)
    assert "recorded" not in m.fields  # its only flag column was given to duration
    assert m.roles(cols)["duration"]["confidence"] == "given"


def test_the_report_says_how_each_table_was_read_and_what_a_gap_costs(audited: Path) -> None:
    html = AuditPaths(audited).report_html.read_text()
    assert 'id="reading"' in html and "Appendix: How each table was read" in html
    appendix = html[html.index('id="reading"') :]
    assert "phone_log.csv" in appendix and "recordings.csv" in appendix
    assert "read from the column&#x27;s values" in appendix or "the column&#x27;s name" in appendix
    # phone_log.csv has no duration, no flag and no status; recordings.csv a media path.
    summary = html[: html.index('id="reading"')]
    assert "1 of 2 tables" in summary and "no recorded flag and no recording reference" in summary
    assert "2 of 2 tables" in summary and "no call durations" in summary
    assert "undercounted" in appendix
    for number in ATTORNEYS:  # shapes and names only: no value of the dump is quoted
        assert number not in appendix and number[2:] not in appendix
