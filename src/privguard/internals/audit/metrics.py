"""Per-stage wall time, CPU time and peak RSS, for the audit log and the benchmarks."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)


def cpu_s() -> float:
    """CPU seconds of this process and of its finished child processes (the letter workers).

    ``time.process_time`` alone hides the workers' CPU, so a stage that renders letters in
    them looked idle: wall time far above CPU time (issue #20)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class StageTiming:
    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timings:
    """Collects one :class:`StageTiming` per stage run."""

    stages: list[StageTiming] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, **extra: Any) -> Iterator[dict[str, Any]]:
        wall, cpu = time.perf_counter(), cpu_s()
        info: dict[str, Any] = dict(extra)
        yield info
        timing = StageTiming(name, time.perf_counter() - wall, cpu_s() - cpu, peak_rss_mb(), info)
        log.info(
            "stage %s: %.2fs wall, %.2fs cpu, %.0f MB peak",
            name,
            timing.wall_s,
            timing.cpu_s,
            timing.peak_rss_mb,
        )
        self.stages.append(timing)

    def to_list(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.stages]
