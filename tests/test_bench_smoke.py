"""The benchmark harness runs end to end on a tiny leak (slow: it generates and audits one)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("pandas")
pytest.importorskip("splink")


def _brute_force_f1(rows: list[tuple[int | None, int | None, bool]]) -> float:
    """Pairwise F1 by listing every pair of (true call, predicted call, corrupt) truth rows.

    The definition of `privguard evaluate`: good truth rows, plus corrupt rows a call kept;
    a row no call lists is its own singleton.
    """
    kept = [(t, p) for t, p, corrupt in rows if not corrupt or p is not None]
    tp = predicted = actual = 0
    for (t1, p1), (t2, p2) in itertools.combinations(kept, 2):
        same_pred = p1 is not None and p1 == p2
        predicted += same_pred
        actual += t1 == t2
        tp += same_pred and t1 == t2
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@pytest.mark.slow
def test_harness_runs_every_step_on_a_tiny_leak(tmp_path: Path) -> None:
    data, results = tmp_path / "data", tmp_path / "results"
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "3000"]
    cmd += ["--splink-sizes", "3000", "--data", str(data), "--results", str(results)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr

    run = json.loads((results / "3k.json").read_text())
    for step in ("generate", "audit", "floor", "pandas", "splink"):
        assert run[step]["returncode"] == 0, (step, run[step].get("stderr_tail"))
        assert run[step]["peak_rss_mb"] > 0
    stages = [s["stage"] for s in run["audit"]["stages"]]
    assert stages[:3] == ["ingest", "normalize", "dedupe"]
    assert run["floor"]["result"]["rows_distinct"] > 0
    assert run["pandas"]["result"]["rows_read"] >= run["pandas"]["result"]["rows_distinct"]

    # The F1 the harness reports agrees with listing every pair, for privguard's clustering.
    splink = run["splink"]["result"]
    calls = data / "3k" / "audit" / "calls.parquet"
    truth = data / "3k" / "leak" / "truth" / "rows.parquet"
    rows = (
        duckdb.connect()
        .execute(
            f"""SELECT t.call_id, c.call_id, coalesce(t.corrupt, false)
            FROM read_parquet('{truth}') t
            LEFT JOIN (SELECT call_id, unnest(sources) AS s FROM read_parquet('{calls}')) c
              ON c.s.file = t.file AND c.s."table" = t."table" AND c.s."row" = t."row" """
        )
        .fetchall()
    )
    assert splink["privguard"]["scores"]["f1"] == pytest.approx(_brute_force_f1(rows), abs=1e-4)
    assert 0.0 <= splink["splink"]["scores"]["f1"] <= 1.0
