"""`privguard replay`: an audit's recorded privileged calls through the gate."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from privguard.cli import cli
from privguard.internals.prevention.decisions.replay import replay

LAWYER, LATE, NEVER, FAMILY = "+15125550100", "+15125550101", "+15125550102", "+15125550199"


def _audit(out: Path) -> Path:
    out.mkdir()
    t = dt.datetime
    calls = [  # call_id, facility, number, start_utc, recorded
        (1, "MAIN", LAWYER, t(2013, 3, 1, 15), True),  # registered: a violation in the audit
        (2, "MAIN", LAWYER, t(2013, 3, 2, 4), True),  # 22:00 local on the 1st in Chicago
        (3, "MAIN", LATE, t(2013, 3, 1, 15), True),  # registered only from the 10th
        (4, "MAIN", NEVER, t(2013, 3, 1, 15), True),  # never registered
        (5, "MAIN", FAMILY, t(2013, 3, 1, 15), True),  # not privileged
        (6, "MAIN", LAWYER, t(2013, 3, 1, 16), False),  # privileged, not recorded
        (7, "MAIN", LAWYER, t(2013, 2, 28, 7), True),  # before its registration (local day)
    ]
    pq.write_table(
        pa.table(
            {
                "call_id": [c[0] for c in calls],
                "facility": [c[1] for c in calls],
                "inmate_account": ["A1"] * len(calls),
                "dialed_number": [c[2] for c in calls],
                "start_utc": pa.array([c[3] for c in calls], pa.timestamp("us")),
                "recorded": [c[4] for c in calls],
            }
        ),
        out / "calls.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "number": [LAWYER, LATE, NEVER, FAMILY],
                "classification": ["registered", "registered", "directory_attorney", "other"],
            }
        ),
        out / "numbers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "number": [LAWYER, LATE],
                "registered_from": [dt.date(2013, 2, 28), dt.date(2013, 3, 10)],
                "registered_until": pa.array([None, None], pa.date32()),
                "facility": pa.array([None, None], pa.string()),
                "source_file": ["dnr.csv", "dnr.csv"],
                "source_row": [2, 3],
            }
        ),
        out / "registry.parquet",
    )
    pq.write_table(
        pa.table({"facility": ["MAIN"], "zone": ["America/Chicago"], "offset_h": [-6.0]}),
        out / "facility_clocks.parquet",
    )
    return out


def test_replay_stops_every_registry_violation_and_says_why_others_pass(tmp_path: Path) -> None:
    out = _audit(tmp_path / "out")
    r = replay(out, out / "registry.parquet")
    assert r.calls == 7 and r.privileged_calls == 6 and r.privileged_recorded == 5
    # call 7 is on Feb 28th UTC but Feb 28th 01:00 local: registered that day, so covered
    assert (r.registry_violations, r.stopped, r.violations_after_gate) == (3, 3, 0)
    assert r.let_through == 2
    assert r.let_through_why == {"number not yet registered": 1, "number never registered": 1}
    assert {c["call_id"] for c in r.let_through_calls} == {3, 4}


def test_replay_cli_writes_json_and_summary(tmp_path: Path) -> None:
    out = _audit(tmp_path / "out")
    res = CliRunner().invoke(cli, ["replay", str(out), "--registry", str(out / "registry.parquet")])
    assert res.exit_code == 0, res.output
    assert "registry violations: 0" in res.output
    doc = json.loads((tmp_path / "replay" / "replay.json").read_text())
    assert doc["registry_violations_with_gate"] == 0
    assert doc["recorded_privileged_calls_stopped"] == 3


def test_replay_of_a_folder_that_is_not_an_audit_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from privguard.cli import main

    (tmp_path / "empty").mkdir()
    (tmp_path / "r.parquet").write_bytes(b"")
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(tmp_path / "empty"), "--registry", str(tmp_path / "r.parquet")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "calls.parquet is missing" in err and "Fix: give the OUT folder" in err
