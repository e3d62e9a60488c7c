"""evaluate: pairwise scores from group sizes equal brute-force pair counting; CLI edges."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.truth.dedupe import evaluate

SOURCE = pa.list_(pa.struct([("file", pa.string()), ("table", pa.string()), ("row", pa.int64())]))


def _write(tmp: Path, truth: dict, pred: dict[int, list], corrupt: set) -> tuple[Path, Path]:
    """truth: (file, table, row) -> true call; pred: call_id -> list of (file, table, row)."""
    AuditPaths(tmp / "out").restricted.mkdir(parents=True)
    (tmp / "truth").mkdir()
    keys = sorted(truth)
    pq.write_table(
        pa.table({
            "file": [k[0] for k in keys], "table": [k[1] for k in keys],
            "row": pa.array([k[2] for k in keys], pa.int64()),
            "call_id": pa.array([truth[k] for k in keys], pa.int64()),
            "corrupt": [k in corrupt for k in keys],
        }),
        tmp / "truth" / "rows.parquet",
    )  # fmt: skip
    ids = sorted(pred)
    pq.write_table(
        pa.table({
            "call_id": pa.array(ids, pa.int64()),
            "sources": pa.array(
                [[{"file": f, "table": t, "row": r} for f, t, r in pred[i]] for i in ids], SOURCE),
        }),
        AuditPaths(tmp / "out").calls,
    )  # fmt: skip
    return tmp / "out", tmp / "truth"


def _brute(truth: dict, pred: dict[int, list], corrupt: set) -> tuple[float, float, int]:
    where = {k: c for c, ks in pred.items() for k in ks}
    rows = [k for k in truth if k not in corrupt or k in where]
    same_true = {
        frozenset(p) for p in itertools.combinations(rows, 2) if truth[p[0]] == truth[p[1]]
    }
    same_pred = {
        frozenset(p) for p in itertools.combinations(rows, 2)
        if p[0] in where and p[1] in where and where[p[0]] == where[p[1]]
    }  # fmt: skip
    tp = len(same_true & same_pred)
    return tp / len(same_pred), tp / len(same_true), tp


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_equal_brute_force_pair_counting(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    truth = {("d/f.csv", "f", r): rng.randrange(25) for r in range(1, 121)}
    corrupt = {k for k in truth if rng.random() < 0.05}
    pred: dict[int, list] = {}
    for k in truth:
        if rng.random() < 0.05:
            continue  # lost by the pipeline
        # Mostly right, sometimes merged into a neighbour or split off.
        cid = truth[k] if rng.random() < 0.85 else rng.randrange(40)
        pred.setdefault(cid * 10 + (rng.random() < 0.05), []).append(k)
    out, tr = _write(tmp_path, truth, pred, corrupt)
    ev = evaluate(out, tr)
    precision, recall, tp = _brute(truth, pred, corrupt)
    assert ev.true_positive_pairs == tp
    assert ev.precision == pytest.approx(precision)
    assert ev.recall == pytest.approx(recall)
    assert ev.calls_out == len(pred)
    assert ev.over_merged and ev.split
    assert ev.over_merged[0]["true_calls"] >= ev.over_merged[-1]["true_calls"] > 1


def test_perfect_dedupe_scores_one(tmp_path: Path) -> None:
    truth = {("a", "a", r): r // 3 for r in range(30)}
    pred = {c: [k for k in truth if truth[k] == c] for c in range(10)}
    ev = evaluate(*_write(tmp_path, truth, pred, set()))
    assert (ev.precision, ev.recall, ev.f1) == (1.0, 1.0, 1.0)
    assert (ev.calls_out, ev.true_calls, ev.rows_missing, ev.rows_unknown) == (10, 10, 0, 0)
    assert not ev.over_merged and not ev.split


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from privguard.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_prints_scores(tmp_path: Path) -> None:
    truth = {("a", "a", r): r // 2 for r in range(10)}
    pred = {c: [k for k in truth if truth[k] == c] for c in range(5)}
    out, tr = _write(tmp_path, truth, pred, set())
    done = _cli("evaluate", str(out), "--truth", str(tr))
    assert done.returncode == 0, done.stderr
    assert "Pairwise F1         1.000000" in done.stdout
    assert "Calls found 5; true calls 5" in done.stdout


def test_cli_missing_truth_exits_2_with_a_fix(tmp_path: Path) -> None:
    done = _cli("evaluate", str(tmp_path), "--truth", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "calls.parquet is missing" in done.stderr
    assert "Fix:" in done.stderr
