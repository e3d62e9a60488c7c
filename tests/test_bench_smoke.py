"""The benchmark harness runs end to end on a tiny leak (slow: it generates and audits one)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from privguard.internals.audit.paths import AuditPaths

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
    calls = AuditPaths(data / "3k" / "audit").calls
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


def _floor_module() -> Any:
    """bench/baseline_floor.py, imported from its folder (bench/ is not a package)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import baseline_floor
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return baseline_floor


def test_floor_hash_dedupe_keeps_the_rows_distinct_star_keeps(tmp_path: Path) -> None:
    """The floor's hash dedupe removes exactly the rows SELECT DISTINCT * removes."""
    import csv
    import random

    rng = random.Random(6)
    dump = tmp_path / "dump"
    dump.mkdir()
    # Two layouts that union by name into four columns; values drawn from small pools so that
    # exact duplicates occur within a file and across files, and rows that differ only by
    # where a value sits ('x' in one column or the other) or by a missing cell are distinct.
    layouts = {
        "a": ["DialedNumber", "note", "extra"],
        "b": ["called_no", "note", "extra"],
    }
    pool = ["", "x", "y", "312-555-0101", "(773) 555-0199", "2125550123"]
    rows_by_file: dict[str, list[dict[str, str | None]]] = {}
    for i, (layout, cols) in enumerate([*layouts.items(), ("a", layouts["a"])]):
        name = f"{layout}{i}.csv"
        rows = [{c: rng.choice(pool) for c in cols} for _ in range(300)]
        with open(dump / name, "w", newline="") as f:
            writer = csv.DictWriter(f, cols)
            writer.writeheader()
            writer.writerows(rows)
        rows_by_file[name] = [{c: v or None for c, v in r.items()} for r in rows]
    directory = tmp_path / "directory.csv"
    directory.write_text("name,phone\nA,312.555.0101\nB,+1 212 555 0123\n")

    result = _floor_module().run(dump, [directory], tmp_path / "out")

    columns = ["DialedNumber", "called_no", "note", "extra"]
    union = [tuple(r.get(c) for c in columns) for rows in rows_by_file.values() for r in rows]
    distinct = set(union)
    assert len(distinct) < len(union)  # the data does hold exact duplicates
    assert result["rows_distinct"] == len(distinct)

    def number(row: tuple[str | None, ...]) -> str | None:
        # The floor's rule: the first phone-like column that is set, best name first.
        phone = row[0] if row[0] is not None else row[1]
        return "".join(ch for ch in phone if ch.isdigit())[-10:] if phone else None

    listed = {"3125550101", "2125550123"}
    assert result["rows_matching_directory"] == sum(number(r) in listed for r in distinct)
    # What the floor wrote holds no duplicate left.
    written = tmp_path / "out" / "distinct.parquet"
    again = duckdb.connect().execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM '{written}')")
    assert again.fetchall()[0][0] == len(distinct)
    assert not (tmp_path / "out" / "scratch" / "union.parquet").exists()
