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


def _brute_force_f1(sample: list[tuple[int, int, int]]) -> float:
    """Pairwise F1 by listing every pair: the definition bench/pairwise.py computes in SQL."""
    rows = [(pred, true) for _, true, pred in sample if true is not None]
    tp = predicted = actual = 0
    for (p1, t1), (p2, t2) in itertools.combinations(rows, 2):
        predicted += p1 == p2
        actual += t1 == t2
        tp += p1 == p2 and t1 == t2
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

    # The SQL pairwise F1 agrees with listing every pair, for Splink's clustering at 0.9.
    splink = run["splink"]["result"]
    con = duckdb.connect()
    normalized = data / "3k" / "audit" / "work" / "normalized.parquet"
    truth = data / "3k" / "leak" / "truth" / "rows.parquet"
    pg = con.execute(
        f"""SELECT n.row_key, t.call_id, c.call_id
            FROM read_parquet('{normalized}') n
            LEFT JOIN read_parquet('{truth}') t
              ON t.file = n.src_file AND t."table" = n.src_table AND t."row" = n.src_row
            JOIN (SELECT call_id, unnest(sources) AS s
                  FROM read_parquet('{data / "3k" / "audit" / "calls.parquet"}')) c
              ON c.s.file = n.src_file AND c.s."table" = n.src_table AND c.s."row" = n.src_row"""
    ).fetchall()
    assert splink["privguard"]["scores"]["f1"] == pytest.approx(_brute_force_f1(pg), abs=1e-4)
    assert 0.0 <= splink["splink"]["scores"]["f1"] <= 1.0
