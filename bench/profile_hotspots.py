"""Find the audit's hot spots: the slowest SQL statements, and where Python spends its time.

Runs ``privguard -vv audit`` (the executor logs every statement with its time at DEBUG)
under py-spy, then ranks the statements by time and groups them by the stage module
that issued them. Python-side time (libphonenumber on leftovers, PDF drawing, ...) shows
in py-spy's output as frames outside ``duckdb``.

Example: .venv/bin/python bench/profile_hotspots.py /work/bench-data/1M --out /work/bench-data/1M/profile
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

STATEMENT = re.compile(r"^DEBUG privguard\.internals\.engines\.duckdb: (\d+\.\d+)s (.*)$")
STAGE = re.compile(r"stage (\w+): ([\d.]+)s wall")


def rank(log: Path, top: int) -> str:
    """The slowest statements in an audit's -vv log, as a markdown table, with stage totals."""
    stage_of_line, current = [], "ingest"
    rows: list[tuple[float, str, str]] = []
    for line in log.read_text(errors="replace").splitlines():
        m = STATEMENT.match(line)
        if m:
            rows.append((float(m.group(1)), current, m.group(2)[:160]))
            continue
        s = STAGE.search(line)
        if s:
            stage_of_line.append((s.group(1), float(s.group(2))))
            # statements after "stage X: done" belong to the next stage
            order = ["ingest", "normalize", "dedupe", "identify", "findings", "report"]
            i = order.index(s.group(1)) if s.group(1) in order else -1
            current = order[i + 1] if 0 <= i < len(order) - 1 else "after"
    per_stage: dict[str, float] = defaultdict(float)
    for secs, stage, _ in rows:
        per_stage[stage] += secs
    out = ["| stage | wall (timings) | SQL time (sum of statements) |", "|---|---|---|"]
    for stage, wall in stage_of_line:
        out.append(f"| {stage} | {wall:.1f} s | {per_stage.get(stage, 0):.1f} s |")
    out += ["", "| seconds | stage | statement (first 160 chars) |", "|---|---|---|"]
    for secs, stage, sql in sorted(rows, reverse=True)[:top]:
        out.append(f"| {secs:.2f} | {stage} | `{sql.replace('|', '¦')}` |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="a size folder of bench/run.py, e.g. .../1M")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-py-spy", action="store_true")
    args = parser.parse_args(argv)
    leak, out = args.base / "leak", args.out
    out.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    cmd = [
        str(bindir / "privguard"),
        "-vv",
        "audit",
        str(leak / "dump"),
        "--out",
        str(out / "audit"),
    ]
    for d in sorted((leak / "directory").glob("*")):
        cmd += ["--directory", str(d)]
    for r in sorted((leak / "registry").glob("*")):
        cmd += ["--registry", str(r)]
    spy = shutil.which("py-spy", path=str(bindir)) or shutil.which("py-spy")
    if spy and not args.no_py_spy:
        # --format raw: collapsed stacks, greppable; --subprocesses is not needed (one process)
        cmd = [
            spy,
            "record",
            "--rate",
            "20",
            "--format",
            "raw",
            "-o",
            str(out / "py-spy.txt"),
            "--",
            *cmd,
        ]
    log = out / "audit-vv.log"
    with open(log, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False)
    table = rank(log, args.top)
    (out / "hotspots.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
