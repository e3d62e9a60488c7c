"""bench/_measure.py counts the CPU of descendants that are never waited for (Spark's JVM)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import _measure

needs_cgroup = pytest.mark.skipif(
    os.geteuid() != 0 or not (_measure.CPUACCT / "cgroup.procs").is_file(),
    reason="counting an orphan's CPU needs a cpuacct cgroup (root, cgroup v1)",
)

# Burns about a second of CPU, whatever the machine's speed; the orphan is never waited for.
BURN = f"{sys.executable} -c 'x = 0\nfor i in range(15_000_000): x += i'"


@needs_cgroup
def test_an_orphaned_childs_cpu_is_in_the_tree_cpu(tmp_path: Path) -> None:
    # The shell starts the burner in the background and exits at once: RUSAGE_CHILDREN
    # (cpu_s) never sees it, as it never saw Spark's JVM.
    before = set(_measure.CPUACCT.iterdir())  # another benchmark may be running
    m = _measure.run_measured(["bash", "-c", f"({BURN} &)"], log_path=tmp_path / "log")
    assert m.returncode == 0
    assert m.cpu_tree_source == "cgroup"
    assert m.cpu_s < 0.3
    assert m.cpu_tree_s > m.cpu_s + 0.3
    assert set(_measure.CPUACCT.iterdir()) <= before  # its group is removed


def test_a_waited_for_childs_cpu_is_counted_both_ways(tmp_path: Path) -> None:
    m = _measure.run_measured(["bash", "-c", BURN], log_path=tmp_path / "log")
    assert m.returncode == 0
    assert m.cpu_s > 0.3
    # The cgroup counts the same CPU (plus bash); polling can miss the last 0.2 s.
    assert m.cpu_tree_s > m.cpu_s * 0.5
