"""Notification letters per second, and CPU per letter, on an existing audit output.

Reads an audit output folder (``--audit OUT``: ``OUT/restricted`` and
``OUT/shareable/summary.json``; the case key at ``OUT/../case.key`` when the audit was
pseudonymized), prepares the letters' scratch files as the report stage does
(``parallel.plan_letters``), then renders the first ``--limit`` letters of every
worker's share (biggest letters spread evenly, as the report splits them) in THIS
process, so the CPU time measured is the letters' alone (no worker start-up, no CSVs).
The letters go to ``--into`` (never into the audit folder). Prints one JSON line: letters,
wall and CPU seconds, letters/s, CPU ms per letter, and the load average before/after.
``--profile FILE`` writes a cProfile of the rendering (read with ``pstats``);
``--compare DIR`` counts the letters whose bytes differ from DIR's (an earlier run with
the same ``--limit``, e.g. at the commit before a speed change).

Example: PYTHONPATH=$PWD/src .venv/bin/python bench/letters.py --audit /tmp/letters4/hc1M/out --limit 2000 --into /tmp/letters4/bench-out
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import time
from pathlib import Path

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report import parallel, privacy
from privguard.internals.audit.report import sql as rsql
from privguard.internals.audit.report.model import as_of, prepare, read_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--audit", type=Path, required=True, help="an audit output folder")
    ap.add_argument("--limit", type=int, default=2000, help="letters to render (0: all)")
    ap.add_argument("--into", type=Path, default=Path("/tmp/privguard-bench-letters"))
    ap.add_argument("--clear", action="store_true", help="pseudonymize=False (clear names)")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the rendering here")
    ap.add_argument("--compare", type=Path, help="a folder of letters to compare bytes with")
    args = ap.parse_args()
    out = args.audit.resolve()
    if args.into.resolve().is_relative_to(out):
        ap.error("--into must not be inside the audit folder")
    shutil.rmtree(args.into, ignore_errors=True)
    folder, scratch = args.into / "letters", args.into / "scratch"
    pseudonymized = not args.clear
    ex = connect(EngineOptions(memory_limit="3GB"))
    try:
        if pseudonymized:
            privacy.install(ex, privacy.load_key(out, None))
        prepare(ex, out)
        when = as_of(read_json(AuditPaths(out).summary, required=True))
        ex.execute(
            "CREATE OR REPLACE TEMP TABLE pg_export_calls AS "
            + rsql.privileged_export_sql(pseudonymized)
        )
        t0 = time.perf_counter()
        plan = parallel.plan_letters(
            ex, folder, scratch, as_of=when, pseudonymized=pseudonymized, max_workers=2
        )
        t_plan = time.perf_counter() - t0
    finally:
        ex.close()
    total = sum(len(s["jobs"]) for s in plan.specs)
    # An equal share of each worker's letters (each share holds big and small letters).
    share = (args.limit or total) // max(1, len(plan.specs)) + 1
    load0 = os.getloadavg()
    prof = cProfile.Profile() if args.profile else None
    c0, w0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    done = 0
    for spec in plan.specs:
        want = min(share, (args.limit or total) - done)
        if want > 0:
            done += parallel.render_spec(spec, want)
    if prof:
        prof.disable()
        prof.dump_stats(str(args.profile))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    shutil.rmtree(scratch, ignore_errors=True)
    differ = None
    if args.compare:
        mine = sorted(folder.glob("*.pdf"))
        differ = sum(
            1 for p in mine if (args.compare / p.name).read_bytes() != p.read_bytes()
        )  # a letter missing there raises: compare runs with the same --limit
    print(
        json.dumps(
            {
                "letters": done,
                "recipients": total,
                "plan_s": round(t_plan, 2),
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "letters_per_s_wall": round(done / wall, 1) if wall else None,
                "letters_per_cpu_s": round(done / cpu, 1) if cpu else None,
                "cpu_ms_per_letter": round(1000 * cpu / done, 2) if done else None,
                "load_before": [round(x, 2) for x in load0],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "into": str(folder),
                "compared": None if differ is None else {"letters": done, "differ": differ},
            }
        )
    )


if __name__ == "__main__":
    main()
