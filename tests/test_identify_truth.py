"""identify and findings measured against ground truth (synthetic leaks).

The fast test builds a small leak with truth from the fixture population; the slow ones
run ``privguard synth`` at 1 M calls for several seeds and check the issue's bar: every
listed attorney number found, recorded privileged calls and registry violations equal to
the truth, and candidates at precision >= 0.8 with recall >= 0.6.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from privguard.internals.truth.identify import TruthEvaluation, evaluate_truth
from test_identify_helpers import FACILITIES, attorney_numbers, build

REG_FROM = dt.date(2013, 2, 4)


def _fixture_leak(root: Path, seed: int) -> Path:
    """A leak folder in the synth layout (truth, directory, registry) from the fixture."""
    pop = build(seed=seed)
    groups = attorney_numbers(pop)
    (root / "truth").mkdir(parents=True)
    (root / "directory").mkdir()
    (root / "registry").mkdir()
    calls = pa.Table.from_pylist(
        [
            {
                "call_id": i + 1,
                "facility": r["facility"],
                "inmate_id": r["inmate_account"],
                "number": r["dialed_number"],
                "start_utc": r["start_utc"],
                "duration_s": r["duration_s"],
                "completed": r["completed"],
                "recorded": r["recorded"],
                "kind": pop.kinds[str(r["dialed_number"])],
            }
            for i, r in enumerate(pop.rows)
        ]
    )
    numbers = pa.Table.from_pylist(
        [
            {
                "number": n,
                "kind": k,
                "owner_id": None,
                "owner_name": None,
                "in_directory": n in groups["directory"],
                "in_registry": n in groups["registry"],
                "registered_from": REG_FROM if n in groups["registry"] else None,
                "registered_until": None,
            }
            for n, k in sorted(pop.kinds.items())
        ]
    )
    con = duckdb.connect()
    con.register("c", calls)
    con.register("n", numbers)
    con.execute(f"COPY c TO '{root / 'truth' / 'calls.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY n TO '{root / 'truth' / 'numbers.parquet'}' (FORMAT parquet)")
    con.close()
    bar = "Name,Phone\n" + "".join(f"Atty {i},{n}\n" for i, n in enumerate(groups["directory"]))
    (root / "directory" / "bar_directory.csv").write_text(bar)
    reg = "number,date added\n" + "".join(f"{n},{REG_FROM}\n" for n in groups["registry"])
    (root / "registry" / "do_not_record.csv").write_text(reg)
    zones = {"JAIL_A": "Etc/GMT+6", "JAIL_B": "Etc/GMT+5"}
    assert all(int(z[7:]) == -FACILITIES[f] for f, z in zones.items())
    facilities = ", ".join(f'{{"code": "{f}", "zone": "{z}"}}' for f, z in zones.items())
    (root / "synth.json").write_text(f'{{"facilities": [{facilities}]}}')
    return root


def check(ev: TruthEvaluation) -> None:
    """The issue's bar for identify and findings."""
    assert ev.listed_found == ev.listed_called > 0
    assert ev.listed_non_attorneys == 0
    assert ev.privileged_calls[0] == ev.privileged_calls[1]
    assert ev.privileged_calls_recorded[0] == ev.privileged_calls_recorded[1]
    assert ev.registry_violations[0] == ev.registry_violations[1]
    assert ev.precision >= 0.8, ev.false_candidates
    assert ev.recall >= 0.6


def test_fixture_leak_meets_the_bar(tmp_path: Path) -> None:
    ev = evaluate_truth(_fixture_leak(tmp_path / "leak", 21), tmp_path / "out")
    check(ev)
    assert ev.registry_violations[1] > 0
    alone = evaluate_truth(tmp_path / "leak", tmp_path / "alone", use_lists=False)
    assert alone.unlisted_called == 20 and alone.precision >= 0.8 and alone.recall >= 0.6


def _synth(out: Path, calls: int, seed: int) -> Path:
    cmd = [sys.executable, "-c", "from privguard.cli import main; main()", "synth", str(out)]
    proc = subprocess.run(
        [*cmd, "--calls", str(calls), "--seed", str(seed)], capture_output=True, text=True
    )
    if proc.returncode != 0 and "not built yet" in proc.stderr:
        pytest.skip("privguard synth is not built yet")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_leak_meets_the_bar(tmp_path: Path, seed: int) -> None:
    leak = _synth(tmp_path / "leak", 1_000_000, seed)
    check(evaluate_truth(leak, tmp_path / "out"))


@pytest.mark.slow
def test_synthetic_leak_without_lists(tmp_path: Path) -> None:
    leak = _synth(tmp_path / "leak", 1_000_000, 4)
    ev = evaluate_truth(leak, tmp_path / "out", use_lists=False)
    assert ev.precision >= 0.8 and ev.recall >= 0.6, ev.to_dict()
