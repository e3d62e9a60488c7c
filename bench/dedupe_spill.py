"""Dedupe alone on one audit's normalized rows: wall, CPU, and the peak disk it spills.

Runs the dedupe stage of the privguard found first on ``PYTHONPATH`` on
``WORK/normalized.parquet`` with the engine settings ``privguard audit`` gives it (the
5 GB memory limit, DuckDB's spill folder ``WORK/tmp``), and polls every 0.2 s the size of
that folder and of dedupe's own scratch files (``WORK/_dedupe_tmp``). Prints one JSON line:
wall, CPU, peak spill, peak scratch, peak of both together, calls out and the SHA-256 of
``calls.parquet`` (so two commits can be compared byte for byte).

``--prepare DUMP`` first ingests and normalizes ``DUMP`` into ``WORK`` (once; a
``normalized.parquet`` already there is kept). ``--bucket-rows N`` lowers the rows per
bucket, to take the bucketed path on a small dump.

Example: PYTHONPATH=$PWD/src .venv/bin/python bench/dedupe_spill.py /work/bench-data/1M/prof-new/restricted/work --out /tmp/dd1M
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import threading
import time
from pathlib import Path

from privguard.internals.audit.dedupe import api
from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.pipeline import DEFAULT_MEMORY_LIMIT


def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # deleted while walking
                total += os.stat(os.path.join(root, name)).st_size
    return total


class Poller(threading.Thread):
    """Peak size of the spill folder, of the scratch folder, and of both at once."""

    def __init__(self, spill: Path, scratch: Path) -> None:
        super().__init__(daemon=True)
        self.spill, self.scratch = spill, scratch
        self.peaks = {"spill": 0, "scratch": 0, "both": 0}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            a, b = _size(self.spill), _size(self.scratch)
            for k, v in (("spill", a), ("scratch", b), ("both", a + b)):
                self.peaks[k] = max(self.peaks[k], v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work", type=Path, help="folder holding normalized.parquet")
    ap.add_argument("--out", type=Path, required=True, help="where calls.parquet goes")
    ap.add_argument("--prepare", type=Path, help="ingest and normalize this dump first")
    ap.add_argument("--bucket-rows", type=int, help="rows per bucket (default: the stage's)")
    ap.add_argument("--memory-limit", default=DEFAULT_MEMORY_LIMIT)
    args = ap.parse_args()
    spill = args.work / "tmp"
    opts = EngineOptions(memory_limit=args.memory_limit, temp_directory=spill)
    if args.prepare and not (args.work / "normalized.parquet").is_file():
        from privguard.internals.audit.ingest.api import ingest
        from privguard.internals.audit.normalize.api import normalize

        ex = connect(opts)
        try:
            ingest(args.prepare, args.work, executor=ex)
            normalize(args.work, executor=ex)
        finally:
            ex.close()
    if args.bucket_rows:
        api.BUCKET_ROWS = args.bucket_rows
    poller = Poller(spill, args.work / "_dedupe_tmp")
    ex = connect(opts)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    poller.start()
    try:
        result = api.dedupe(args.work, args.out, executor=ex)
    finally:
        poller.done.set()
        poller.join()
        ex.close()
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
    print(
        json.dumps(
            {
                "rows_in": result.rows_in,
                "calls_out": result.calls_out,
                "buckets": api.bucket_count(result.rows_in),
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "peak_rss_mb": round(cpu1.ru_maxrss / 1024),
                "peak_spill_mb": round(poller.peaks["spill"] / 2**20, 1),
                "peak_scratch_mb": round(poller.peaks["scratch"] / 2**20, 1),
                "peak_disk_mb": round(poller.peaks["both"] / 2**20, 1),
                "calls_sha256": digest,
                "load": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
