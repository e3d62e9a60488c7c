"""bench/vault.py stays runnable: every phase on a tiny vault, with figures that add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vault_bench_runs_every_phase(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "vault.py"), "--recordings", "120",
           "--inmates", "4", "--pool", "40", "--registered", "5", "--reads", "10",
           "--productions", "2", "--purge", "3", "--out", str(tmp_path / "v.json")]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "v.json").read_text())
    phases = result["phases"]
    assert phases["store"]["recordings"] == 120 and phases["access"]["reads"] == 10
    produced = phases["produce"]
    assert produced["included"] + produced["withheld"] == 2 * 30
    assert phases["purge"]["purged"] == 3 and phases["verify"]["ok"] is True
    assert all(p["peak_rss_mb"] > 0 for p in phases.values())
