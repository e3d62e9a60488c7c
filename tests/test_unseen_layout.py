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
    assert "without the duration and brevity" in s["headline"]
    numbers = AuditPaths(audited).numbers
    found = dict(
        duckdb.sql(
            f"SELECT number, evidence FROM '{numbers}' WHERE classification = 'candidate'"
        ).fetchall()
    )
    assert len(set(found) & set(ATTORNEYS)) >= 5
    assert not set(found) & set(FAMILY)
    assert all("scored without duration and brevity" in e for e in found.values())


@pytest.mark.parametrize("header", ["rec_link", "media_path", "Media ID", "audio_id"])
def test_a_recording_column_under_a_vendor_header_is_the_recording_reference(header: str) -> None:
    from privguard.internals.audit.ingest.mapping import map_table

    sample = [["5125553000", "2013-01-07 15:00:00", f"R-{i:05d}"] for i in range(20)]
    m = map_table(["dialed_number", "start", header], sample, None)
    assert m.fields.get("recording_ref") == (2,)
