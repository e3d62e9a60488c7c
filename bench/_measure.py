"""Run one command and measure it from outside: wall, CPU, peak RSS of the whole process tree.

The audit reports its own per-stage figures (OUT/timings.json), but those come from
inside the process; this module measures what a user's machine sees: the sum of the
resident memory of the child and all its children, polled, and the CPU time the
kernel charged to them (RUSAGE_CHILDREN). RUSAGE_CHILDREN misses a descendant that is
never waited for (Spark's JVM outlives the Python process that started it), so the CPU
of the whole tree is also read from a cpuacct cgroup the command is started in, where the
machine has one (cgroup v1, as root); elsewhere it is polled per process. It also records
how busy the rest of the machine was during the run, because the benchmark machine is shared.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

POLL_S = 0.2


@dataclass
class Measurement:
    """What one command cost, measured from outside."""

    command: list[str]
    returncode: int
    wall_s: float
    cpu_s: float  # charged to the command by the kernel when its children were waited for
    peak_rss_mb: float  # the sum over the process tree, polled every POLL_S
    peak_rss_single_mb: float  # the largest single process, from /usr/bin/time (exact)
    killed_for_memory: bool = False
    killed_for_time: bool = False
    machine_busy_other_pct: float = 0.0  # CPU used by other processes, % of all cores
    load_avg_1m: float = 0.0
    stderr_tail: str = ""
    # Every descendant's CPU, waited for or not: from the cgroup, or polled per process.
    cpu_tree_s: float = 0.0
    cpu_tree_source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tree_rss(proc: psutil.Process) -> float:
    """Resident bytes of a process and all its descendants (0 if it is gone)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return float(total)


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class _CpuGroup:
    """A cpuacct cgroup (v1) that counts the CPU of a command and every descendant."""

    def __init__(self) -> None:
        self.path: Path | None = None
        if os.geteuid() != 0 or not (CPUACCT / "cgroup.procs").is_file():
            return
        path = CPUACCT / f"privguard-bench-{os.getpid()}-{time.monotonic_ns()}"
        try:
            path.mkdir()
        except OSError:
            return
        self.path = path

    def join(self) -> None:
        """Move the calling process in (preexec_fn: the child joins before it execs)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> float | None:
        """The group's CPU seconds, once what is left in it (an orphaned JVM) has ended.

        Stragglers get a few seconds to exit on their own, then are killed; the group
        is removed either way.
        """
        if self.path is None:
            return None
        for attempt in range(100):
            pids = (self.path / "cgroup.procs").read_text().split()
            if not pids:
                break
            if attempt >= 50:  # 5 s: kill what is left
                for pid in pids:
                    try:
                        os.kill(int(pid), 9)
                    except OSError:
                        continue
            time.sleep(0.1)
        seconds = int((self.path / "cpuacct.usage").read_text()) / 1e9
        with contextlib.suppress(OSError):
            self.path.rmdir()
        return seconds


def _tree_cpu(proc: psutil.Process, seen: dict[int, float]) -> None:
    """Record each live descendant's own CPU seconds (the fallback without a cgroup)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        seen[p.pid] = t.user + t.system


def _limit_address_space(limit_bytes: int) -> None:
    """Cap the child's virtual memory so a runaway baseline fails alone (preexec_fn)."""
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def run_measured(
    command: list[str],
    *,
    log_path: Path,
    rss_cap_mb: float | None = None,
    address_space_cap_mb: float | None = None,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run ``command``, polling its process tree; kill it past ``rss_cap_mb`` or ``timeout_s``.

    stdout and stderr go to ``log_path`` (the tail of it is kept in the result).
    ``address_space_cap_mb`` additionally sets RLIMIT_AS in the child, so an
    allocation beyond it fails inside the child (MemoryError) instead of the
    machine swapping or the OOM killer picking a neighbour.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    time_file = log_path.with_suffix(".time")
    # /usr/bin/time reports the exact peak RSS and CPU of this one command and its children.
    wrapped = ["/usr/bin/time", "-o", str(time_file), "-f", "%M %U %S", *command]
    cpu_total_before = psutil.cpu_times()
    started = time.perf_counter()
    group = _CpuGroup()
    cap = int(address_space_cap_mb * 1024 * 1024) if address_space_cap_mb else 0

    def preexec() -> None:
        group.join()
        if cap:
            _limit_address_space(cap)

    peak = 0.0
    polled: dict[int, float] = {}
    killed_mem = killed_time = False
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            wrapped,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
            env={**os.environ, **(env or {})},
        )
        proc = psutil.Process(child.pid)
        while child.poll() is None:
            rss = _tree_rss(proc)
            peak = max(peak, rss)
            if group.path is None:
                _tree_cpu(proc, polled)
            if rss_cap_mb and rss > rss_cap_mb * 1024 * 1024:
                killed_mem = True
                _kill_tree(proc)
            elif timeout_s and time.perf_counter() - started > timeout_s:
                killed_time = True
                _kill_tree(proc)
            time.sleep(POLL_S)
        returncode = child.wait()
    wall = time.perf_counter() - started
    group_cpu = group.close()
    cpu_total_after = psutil.cpu_times()
    # close() may wait for an orphan; the machine's share is taken over the same span.
    span = time.perf_counter() - started
    maxrss_kb, cpu = _read_time_file(time_file)
    busy = _busy_seconds(cpu_total_after) - _busy_seconds(cpu_total_before)
    ncpu = psutil.cpu_count() or 1
    tree_cpu = group_cpu if group_cpu is not None else max(cpu, sum(polled.values()))
    # The others' share is what the whole tree did not use (an orphaned JVM is ours too).
    other_pct = max(0.0, (busy - tree_cpu) / (span * ncpu) * 100) if span > 0 else 0.0
    tail = log_path.read_bytes()[-3000:].decode("utf-8", "replace")
    return Measurement(
        command=command,
        returncode=returncode,
        wall_s=round(wall, 3),
        cpu_s=round(cpu, 3),
        peak_rss_mb=round(peak / 1024 / 1024, 1),
        peak_rss_single_mb=round(maxrss_kb / 1024, 1),
        killed_for_memory=killed_mem,
        killed_for_time=killed_time,
        machine_busy_other_pct=round(other_pct, 1),
        load_avg_1m=round(os.getloadavg()[0], 2),
        stderr_tail=tail if returncode != 0 else "",
        cpu_tree_s=round(tree_cpu, 3),
        cpu_tree_source="cgroup" if group_cpu is not None else "polled",
    )


def _read_time_file(path: Path) -> tuple[float, float]:
    """(peak RSS in KB, user+system CPU seconds) from /usr/bin/time's output file."""
    try:
        last = path.read_text().strip().splitlines()[-1].split()
        return float(last[0]), float(last[1]) + float(last[2])
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0  # killed before /usr/bin/time could write


def _busy_seconds(t: Any) -> float:
    """CPU seconds spent not idle, machine-wide."""
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def _kill_tree(proc: psutil.Process) -> None:
    """Kill the descendants of the /usr/bin/time wrapper, which then reports and exits."""
    try:
        procs = proc.children(recursive=True)
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            continue


def dir_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
