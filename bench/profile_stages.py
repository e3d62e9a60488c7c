"""Per-stage DuckDB profile of one audit: the operators each stage spends its time in.

Runs ``privguard audit`` in this process with DuckDB's own profiler on
(``PRAGMA enable_profiling = 'json'``, one ``profiling_output`` file per statement), tags
each statement with the stage that issued it, and sums the operators' times per stage.
Writes ``OUT/profile/<n>.json`` (DuckDB's JSON, one per statement), ``OUT/profile.json``
(per stage: wall, statements, the top operators and statements) and prints the same as
markdown, ready for docs/benchmarks.md.

Operator times are DuckDB's ``timing``: summed over the engine's threads, so on 2 cores
they can exceed the wall time. Statements run by the report's worker processes are not
seen (they open their own connections); their stage shows as the Python-side remainder.
The audit it runs is the privguard found first on ``PYTHONPATH``, so the same script
profiles any commit's ``src``.

Example: PYTHONPATH=$PWD/src .venv/bin/python bench/profile_stages.py /work/bench-data/hc1M/leak/dump --out /work/bench-data/hc1M/profile
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from privguard.internals.audit import metrics
from privguard.internals.audit.engines import duckdb as engine

STAGES = ("ingest", "normalize", "dedupe", "identify", "findings", "report")


class Recorder:
    """Turns profiling on in every executor and remembers which stage ran each statement."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stage = "setup"
        self.counter = itertools.count()
        self.statements: list[dict[str, Any]] = []
        self.stage_wall: dict[str, float] = {}

    def install(self) -> None:
        rec = self
        init, timed = engine.DuckDBExecutor.__init__, engine.DuckDBExecutor._timed
        stage_cm = metrics.Timings.stage

        def __init__(self: engine.DuckDBExecutor, *a: Any, **k: Any) -> None:
            init(self, *a, **k)
            self.con.execute("PRAGMA enable_profiling = 'json'")

        @contextmanager
        def _timed(self: engine.DuckDBExecutor, sql: str) -> Iterator[None]:
            n = next(rec.counter)
            path = rec.folder / f"{n:05d}.json"
            self.con.execute(f"SET profiling_output = '{path}'")
            started = time.perf_counter()
            with timed(self, sql):
                yield
            wall = time.perf_counter() - started
            rec.statements.append({"n": n, "stage": rec.stage, "wall_s": wall, "file": path})

        @contextmanager
        def stage(self: metrics.Timings, name: str, **extra: Any) -> Iterator[dict[str, Any]]:
            rec.stage, started = name, time.perf_counter()
            with stage_cm(self, name, **extra) as info:
                yield info
            rec.stage_wall[name] = time.perf_counter() - started

        engine.DuckDBExecutor.__init__ = __init__  # type: ignore[method-assign]
        engine.DuckDBExecutor._timed = _timed  # type: ignore[method-assign]
        metrics.Timings.stage = stage  # type: ignore[method-assign]


def _operators(node: dict[str, Any], into: dict[str, float]) -> None:
    """Sum each operator type's own time over one plan tree."""
    into[str(node.get("operator_type") or node.get("type") or node.get("name"))] += float(
        node.get("operator_timing") or node.get("timing") or 0.0
    )
    for child in node.get("children", []):
        _operators(child, into)


def summarize(rec: Recorder, top: int) -> dict[str, Any]:
    """Per stage: wall, SQL time, spill, the top operators and the slowest statements."""
    out: dict[str, Any] = {}
    for stage in [*STAGES, "setup"]:
        mine = [s for s in rec.statements if s["stage"] == stage]
        if not mine and stage not in rec.stage_wall:
            continue
        ops: dict[str, float] = defaultdict(float)
        stmts = []
        spilled = 0
        for s in mine:
            if not s["file"].exists():
                continue
            prof = json.loads(s["file"].read_text())
            for root in prof.get("operator", []) or prof.get("children", []):
                _operators(root, ops)
            query = prof.get("query", {})
            spilled = max(spilled, int(prof.get("system", {}).get("peak_temp_dir_size", 0) or 0))
            own: dict[str, float] = defaultdict(float)
            for root in prof.get("operator", []) or prof.get("children", []):
                _operators(root, own)
            first = max(own.items(), key=lambda kv: kv[1]) if own else ("", 0.0)
            sql = " ".join(str(query.get("sql", "")).split())
            stmts.append(
                {"wall_s": s["wall_s"], "top_operator": first[0], "sql": sql[:140], "n": s["n"]}
            )
        out[stage] = {
            "wall_s": rec.stage_wall.get(stage),
            "sql_wall_s": sum(s["wall_s"] for s in mine),
            "statements": len(mine),
            "peak_temp_dir_bytes": spilled,
            "operators": sorted(ops.items(), key=lambda kv: -kv[1])[:top],
            "slowest": sorted(stmts, key=lambda s: -s["wall_s"])[:top],
        }
    return out


def markdown(summary: dict[str, Any], label: str) -> str:
    """The summary as the tables of docs/benchmarks.md."""
    lines = [
        f"**{label}**: per stage, wall time, time inside SQL statements, and the top operators "
        "(DuckDB operator time, summed over threads)",
        "",
        "| stage | wall | in SQL | top operators (s) | slowest statement |",
        "|---|---|---|---|---|",
    ]
    for stage, s in summary.items():
        ops = ", ".join(f"{k} {v:.1f}" for k, v in s["operators"][:4])
        slow = s["slowest"][0] if s["slowest"] else None
        what = (
            f"{slow['wall_s']:.1f} s, {slow['top_operator']}: `{slow['sql'][:70]}…`" if slow else ""
        )
        wall = f"{s['wall_s']:.1f} s" if s["wall_s"] is not None else "–"
        lines.append(
            f"| {stage} | {wall} | {s['sql_wall_s']:.1f} s | {ops} | {what.replace('|', '¦')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the audit")
    parser.add_argument("--directory", type=Path, action="append", default=[])
    parser.add_argument("--registry", type=Path, action="append", default=[])
    parser.add_argument("--top", type=int, default=6)
    parser.add_argument("--label", default="profile")
    args = parser.parse_args(argv)
    from privguard.internals.audit.pipeline import audit

    folder = args.out.parent / f"{args.out.name}-profile"
    folder.mkdir(parents=True, exist_ok=True)
    rec = Recorder(folder)
    rec.install()
    audit(args.dump, args.out, directories=args.directory, registries=args.registry)
    summary = summarize(rec, args.top)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(markdown(summary, args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
