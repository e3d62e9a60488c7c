"""bench/ledger.py still runs (tiny scale), so the figures in docs/benchmarks.md can be redone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ledger.py"


def test_the_ledger_bench_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_ledger", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.run(f"sqlite:///{tmp_path / 'l.db'}", entries=300, batch=100, proofs=3, seed=1)
    assert out["entries"] == 300 and out["append_per_s"] > 0
    assert out["inclusion_proof"]["n"] == 3 and out["verify_s"] >= 0
