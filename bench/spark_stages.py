"""Where Spark's time goes: the Spark stages of one audit, query by query.

Takes a finished DuckDB audit folder (its ingested tables are reused: ingest, where Spark
reads CSV/TSV itself, is not profiled here; bench/spark.py times whole audits), copies it,
and runs normalize, dedupe, identify and findings on a Spark executor. Per stage it prints the wall time, the CPU time of this process and of
every process under it (the JVM and Spark's Python workers), how many Spark
statements ran, and the slowest statements with their times.

Example: .venv/bin/python bench/spark_stages.py /tmp/audit-duckdb --leak /tmp/leak --top 8
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _spark_equal import plain_table


class _Queries(logging.Handler):
    """Collects the Spark executor's per-statement debug lines (time, SQL)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.items: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = re.match(r"([0-9.]+)s spark (.*)", record.getMessage())
        if m:
            self.items.append((float(m.group(1)), m.group(2)))


def _kind(p: psutil.Process, me: psutil.Process) -> str:
    """Which part of Spark a process is: this driver, the JVM, or a Python worker."""
    if p.pid == me.pid:
        return "driver"
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return "other"
    if "java" in p.name() or "java" in cmd.split(" ")[0]:
        return "jvm"
    return "python workers" if "pyspark" in cmd else "other"


def _cpu_by_kind() -> dict[str, float]:
    """CPU seconds of this process and its descendants by kind (see :func:`_kind`), the
    exited ones that were reaped too: a process's own time goes to its kind, its reaped
    children's to theirs (the JVM's children are Python daemons and their workers)."""
    me = psutil.Process()
    out: dict[str, float] = {}
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            kind = _kind(p, me)
        except psutil.Error:
            continue
        reaped = "python workers" if kind in ("jvm", "python workers") else kind
        out[kind] = out.get(kind, 0.0) + t.user + t.system
        out[reaped] = out.get(reaped, 0.0) + t.children_user + t.children_system
    return out


def _tree_cpu() -> float:
    """CPU seconds of this process and its descendants, the exited ones that were reaped too."""
    return sum(_cpu_by_kind().values())


# Outputs of the Spark stages compared with the DuckDB audit's, value for value.
EQUAL = ("work/normalized.parquet", "calls.parquet", "numbers.parquet", "registry.parquet")


def _jobs(ex: object) -> tuple[int, int, int]:
    """Spark jobs, stages and tasks run so far in the session (its status tracker)."""
    sc = ex.session.sparkContext  # type: ignore[attr-defined]
    tracker = sc.statusTracker()
    jobs = tracker.getJobIdsForGroup(None)
    stages = tasks = 0
    for j in jobs:
        info = tracker.getJobInfo(j)
        for sid in info.stageIds if info else []:
            st = tracker.getStageInfo(sid)
            if st is not None:
                stages, tasks = stages + 1, tasks + st.numTasks
    return len(jobs), stages, tasks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("audit", type=Path, help="a finished `privguard audit --engine duckdb` folder")
    p.add_argument("--leak", type=Path, required=True, help="the synth leak it audited")
    p.add_argument("--top", type=int, default=6, help="slowest statements shown per stage")
    p.add_argument("--conf", action="append", default=[], help="spark.key=value")
    p.add_argument(
        "--stages", default="normalize,dedupe,identify,findings", help="comma-separated, in order"
    )
    args = p.parse_args()

    from privguard.internals.audit.dedupe.api import dedupe
    from privguard.internals.audit.engines import EngineOptions, connect
    from privguard.internals.audit.engines.spark_options import SparkOptions, parse_conf_args
    from privguard.internals.audit.findings.api import findings
    from privguard.internals.audit.identify.api import identify
    from privguard.internals.audit.normalize.api import normalize
    from privguard.internals.common.keys import load_key

    handler = _Queries()
    log = logging.getLogger("privguard.internals.audit.engines.spark")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    out = Path(tempfile.mkdtemp(prefix="spark-stages-")) / "audit"
    shutil.copytree(args.audit, out)
    work = out / "restricted" / "work"
    d = args.leak / "directory"
    opts = SparkOptions(master="local[2]", conf=parse_conf_args(args.conf))
    started, cpu0 = time.perf_counter(), _tree_cpu()
    ex = connect(EngineOptions(temp_directory=out / "scratch"), engine="spark", spark=opts)
    print(f"session: {time.perf_counter() - started:.1f}s wall, {_tree_cpu() - cpu0:.1f}s cpu")
    stages = {
        "normalize": lambda: normalize(work, executor=ex),
        "dedupe": lambda: dedupe(work, out, executor=ex),
        "identify": lambda: identify(
            out,
            directories=[d / "bar_directory.csv", d / "public_defenders.xlsx"],
            registries=[args.leak / "registry" / "do_not_record.csv"],
            executor=ex,
            review_key=load_key(out, None),
        ),
        "findings": lambda: findings(out, executor=ex),
    }
    chosen = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in stages]
    if unknown:
        p.error(f"unknown stage(s) {unknown}; choose from {list(stages)}")
    total_wall = total_cpu = 0.0
    try:
        for name in chosen:
            run = stages[name]
            handler.items.clear()
            t0, k0, j0 = time.perf_counter(), _cpu_by_kind(), _jobs(ex)
            run()
            k1 = _cpu_by_kind()
            wall, cpu = time.perf_counter() - t0, sum(k1.values()) - sum(k0.values())
            j = [b - a for a, b in zip(j0, _jobs(ex), strict=True)]
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            spent = sum(t for t, _ in handler.items)
            print(f"{name}: {wall:.1f}s wall, {cpu:.1f}s cpu (tree), "
                  f"{len(handler.items)} statements ({spent:.1f}s), "
                  f"{j[0]} jobs, {j[1]} stages, {j[2]} tasks", flush=True)  # fmt: skip
            kinds = ", ".join(f"{k} {v - k0.get(k, 0.0):.1f}s" for k, v in sorted(k1.items()))
            print(f"   cpu by process: {kinds}")
            for t, sql in sorted(handler.items, reverse=True)[: args.top]:
                print(f"   {t:7.2f}s {sql[:150]}")
        for rel in EQUAL if chosen == list(stages) else ("work/normalized.parquet",):
            a, b = (pq.read_table(x / "restricted" / rel) for x in (args.audit, out))
            same = plain_table(a).equals(plain_table(b))
            print(f"{rel}: {'equal' if same else 'DIFFERENT'} to DuckDB's ({a.num_rows} rows)")
    finally:
        ex.close()
        shutil.rmtree(out.parent, ignore_errors=True)
    print(f"stages: {total_wall:.1f}s wall, {total_cpu:.1f}s cpu; load {psutil.getloadavg()}")


if __name__ == "__main__":
    main()
