"""Ingest alone on one dump: wall, CPU, and how well its phases keep both workers busy.

Run on purpose, not part of the tests (the privguard found first on ``PYTHONPATH`` is
measured, so the same script measures any commit's ``src``):

    PYTHONPATH=$PWD/src .venv/bin/python bench/ingest_stages.py /work/bench-data/10M/leak/dump --out /tmp/ingest10M

Prints and writes ``OUT/ingest_stages.json``: the machine's load before and after, ingest's
wall and CPU (every thread of the process), and per phase (probe, stage, write) its wall,
the share of it during which every worker had a table in hand, and each worker's busy
time. Under load the busy share still shows whether the work is shared out evenly; the
wall time means something only on a quiet machine. ``OUT/digests.txt`` lists the SHA-256 of
every output (ingested Parquet, rejects.csv, ingest_report.json): ``diff`` two runs' lists
to show two commits write the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from privguard.internals.audit.ingest import api, parallel
from privguard.internals.audit.metrics import cpu_s

# ingest/staging.py's probe_all and stage_all, called through api's names (api's own
# _probe_all and _stage_all before they moved there).
PHASES = ("probe_all", "stage_all", "_write_all")


def _instrument(spans: list[tuple[str, int, float, float]]) -> None:
    """Record (phase, thread, start, end) of every table a worker handles."""
    phase = ["?"]
    run = parallel.Workers._run

    def _run(self: parallel.Workers, *args: Any) -> Any:
        fn = args[-1]

        def timed(ex: Any, item: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(ex, item)
            finally:
                spans.append((phase[0], threading.get_ident(), started, time.perf_counter()))

        return run(self, *args[:-1], timed)

    parallel.Workers._run = _run  # type: ignore[method-assign]
    for name in PHASES:
        if not hasattr(api, name):
            name = "_" + name
        original = getattr(api, name)

        def tagged(*a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
            phase[0] = _n
            return _f(*a, **k)

        setattr(api, name, tagged)


def _phase(spans: list[tuple[str, int, float, float]]) -> dict[str, Any]:
    lo, hi = min(s[2] for s in spans), max(s[3] for s in spans)
    events = sorted([(s[2], 1) for s in spans] + [(s[3], -1) for s in spans])
    workers = len({s[1] for s in spans})
    every = 0.0
    running, last = 0, lo
    for t, step in events:
        if running >= workers:
            every += t - last
        running, last = running + step, t
    busy: dict[int, float] = {}
    for s in spans:
        busy[s[1]] = busy.get(s[1], 0.0) + s[3] - s[2]
    return {
        "wall_s": round(hi - lo, 2),
        "all_workers_busy_pct": round(100 * every / max(hi - lo, 1e-9), 1),
        "worker_busy_s": sorted(round(v, 2) for v in busy.values()),
    }


def _digests(work: Path) -> list[str]:
    files = [*sorted((work / "ingested").rglob("*.parquet")), work / "rejects.csv"]
    files.append(work / "ingest_report.json")
    return [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(work)}" for p in files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="work folder (replaced)")
    # Commits before the shared queue have no WORKERS (two workers, fixed).
    ap.add_argument("--workers", type=int, default=getattr(api, "WORKERS", 2))
    args = ap.parse_args()
    if hasattr(api, "WORKERS"):
        api.WORKERS = args.workers
    spans: list[tuple[str, int, float, float]] = []
    _instrument(spans)
    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), cpu_s()
    result = api.ingest(args.dump, args.out)
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    report = {
        "dump": str(args.dump),
        "src": api.__file__,
        "workers": args.workers,
        "rows_read": result.totals.get("rows_read"),
        "tables": len(result.tables),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "phases": {p[1:]: _phase([s for s in spans if s[0] == p]) for p in PHASES},
    }
    (args.out / "digests.txt").write_text("\n".join(_digests(args.out)) + "\n")
    (args.out / "ingest_stages.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
