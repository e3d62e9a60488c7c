"""bench/decisions_http.py stays runnable: a real server, a tiny load, every fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_decisions_http_bench_runs_with_every_fault(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    cmd = [sys.executable, str(ROOT / "bench" / "decisions_http.py"), "--numbers", "60",
           "--rates", "40", "--seconds", "2", "--fault-rate", "40", "--fault-seconds", "6",
           "--conns", "8", "--work", str(tmp_path / "w"), "--out", str(out)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    (run,) = result["runs"]
    assert run["answers"] == 80 and run["errors"] == 0
    assert run["record_true_registered"] == 0 and run["record_true_unregistered"] > 0
    fault = result["fault_run"]
    assert fault["record_true_registered"] == 0
    assert set(fault["faults"]) == {"db_down", "corrupted", "registry_update"}
    assert fault["faults"]["registry_update"]["visible_within_ms"] is not None
    assert "BAD_SIGNATURE" in fault["phases"]["corrupted"]["reasons"]
    assert result["decision_rows"] >= run["answers"] + fault["answers"]
