"""Normalize alone on one audit's ingested tables: wall, CPU, and the peak disk it spills.

Copies ``WORK/ingested`` and ``WORK/ingest_report.json`` to ``--out`` (``WORK`` is only
read), runs the normalize stage of the privguard found first on ``PYTHONPATH`` there with
DuckDB's spill folder ``OUT/tmp`` and the given memory limit, and polls every 0.2 s the
size of that folder and of normalize's scratch (``OUT/_normalize_parts``, the staging
file). Prints one JSON line: wall and CPU of the stage and of its final write of
``normalized.parquet``, peak spill, peak scratch, and the SHA-256 of
``normalized.parquet``, ``set_aside.csv`` and ``normalize_report.json`` (so two commits,
or two ``--part-rows``, can be compared byte for byte).

``--part-rows N`` sets the rows sorted at once when ``normalized.parquet`` is written (a
multiple of 122,880; a huge value keeps the one sort).

Example: PYTHONPATH=$PWD/src .venv/bin/python bench/normalize_spill.py /work/bench-data/1M/prof-new/restricted/work --out /tmp/ns1M --memory-limit 300MB --part-rows 245760
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.normalize import api
from privguard.internals.audit.normalize.settings import Settings
from privguard.internals.audit.pipeline import DEFAULT_MEMORY_LIMIT

try:  # the same poller as dedupe's bench
    from dedupe_spill import Poller
except ImportError:  # run from elsewhere than bench/
    from bench.dedupe_spill import Poller  # type: ignore[no-redef]


class _CopyTime(logging.Handler):
    """Seconds of the one COPY of the normalized rows (before issue #20), from the log."""

    def __init__(self, into: dict[str, Any]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        # The line is cut at 200 characters: the normalized rows' COPY starts so.
        msg = record.getMessage()
        if "s COPY (SELECT row_key, table_id, src_file" in msg:
            self.into["wall"] = float(msg.split("s ", 1)[0])


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work", type=Path, help="folder holding ingested/ and ingest_report.json")
    ap.add_argument("--out", type=Path, required=True, help="a new folder: normalize runs here")
    ap.add_argument("--memory-limit", default=DEFAULT_MEMORY_LIMIT)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--part-rows", type=int, default=getattr(Settings(), "part_rows", None))
    args = ap.parse_args()
    out: Path = args.out
    if out.exists():
        raise SystemExit(f"{out} exists: give a new folder")
    out.mkdir(parents=True)
    shutil.copytree(args.work / "ingested", out / "ingested")
    shutil.copy2(args.work / "ingest_report.json", out / "ingest_report.json")
    spill = out / "tmp"
    opts = EngineOptions(memory_limit=args.memory_limit, threads=args.threads, temp_directory=spill)
    write: dict[str, Any] = {}
    # The final write: write_kept since issue #20, before it one copy_to_parquet (the
    # executor's) to normalized.parquet; time whichever this commit has.
    ordered = getattr(api, "ordered", None)
    inner = ordered.write_kept if ordered else None

    def timed(*a: Any, **k: Any) -> None:
        w0, c0 = time.perf_counter(), _cpu()
        assert inner is not None
        inner(*a, **k)
        write.update(wall=time.perf_counter() - w0, cpu=_cpu() - c0)

    if ordered:
        ordered.write_kept = timed
    else:  # the engine logs each statement's seconds: take the COPY to normalized.parquet
        engine_log = logging.getLogger("privguard.internals.audit.engines.duckdb")
        engine_log.setLevel(logging.DEBUG)
        engine_log.addHandler(_CopyTime(write))
    settings = Settings(part_rows=args.part_rows) if ordered and args.part_rows else Settings()
    poller = Poller(spill, out / "_normalize_parts")
    ex = connect(opts)
    cpu0, t0 = _cpu(), time.perf_counter()
    poller.start()
    try:
        result = api.normalize(out, settings=settings, executor=ex)
    finally:
        poller.done.set()
        poller.join()
        ex.close()
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    print(
        json.dumps(
            {
                "rows": result.rows,
                "part_rows": args.part_rows if ordered else None,
                "memory_limit": args.memory_limit,
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "write_wall_s": round(write.get("wall", 0), 1),
                "write_cpu_s": round(write["cpu"], 1) if "cpu" in write else None,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "peak_spill_mb": round(poller.peaks["spill"] / 2**20, 1),
                "peak_parts_mb": round(poller.peaks["scratch"] / 2**20, 1),
                "normalized_sha256": _sha(result.path),
                "set_aside_sha256": _sha(out / api.SET_ASIDE),
                "report_sha256": _sha(result.report_path),
                "load": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
