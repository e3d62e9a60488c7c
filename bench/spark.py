"""Spark local[2] against DuckDB: the same audit, wall, CPU and peak memory of each.

For each leak it runs ``privguard audit`` twice, ``--engine duckdb`` and ``--engine spark``
(``--spark-master local[2]``), each measured from outside over the whole process tree
(the JVM included: ``_measure.run_measured`` sums the RSS of every descendant, and reads
their CPU from a cpuacct cgroup, since the JVM is never waited for and the kernel's
RUSAGE_CHILDREN misses it), reads each run's per-stage ``timings.json``, and
checks that calls.parquet, numbers.parquet and summary.json are equal between engines.

Results go to ``bench/results/spark_<label>.json``.

One command per scale: ``--rows`` finds the leak bench/run.py generates for that many
source rows (``--data``/<label>/leak, e.g. /work/bench-data/14.4M/leak) and generates it
first when it is not there (``privguard synth``, seed 2015, as bench/run.py).

Example: .venv/bin/python bench/spark.py --rows 1e6 --out /tmp/spark-bench-1M
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pyarrow.parquet as pq

from _measure import run_measured
from _spark_equal import plain_table

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def equal_outputs(a: Path, b: Path) -> dict[str, bool]:
    """Whether each compared output is the same in two audit folders."""
    out: dict[str, bool] = {}
    for name in ("calls", "numbers"):
        ta = pq.read_table(a / "restricted" / f"{name}.parquet")
        tb = pq.read_table(b / "restricted" / f"{name}.parquet")
        out[f"{name}.parquet"] = plain_table(ta).equals(plain_table(tb))
    rel = "shareable/summary.json"
    out["summary.json"] = filecmp.cmp(a / rel, b / rel, shallow=False)
    return out


def audit_command(
    leak: Path,
    out: Path,
    engine: str,
    spark_conf: list[str] | None = None,
    config: Path | None = None,
) -> list[str]:
    d = leak / "directory"
    cmd = [str(BIN / "privguard"), "audit", str(leak / "dump"), "--out", str(out)]
    if config is not None and engine == "spark":
        cmd += ["--config", str(config)]
    cmd += ["--directory", str(d / "bar_directory.csv")]
    cmd += ["--directory", str(d / "public_defenders.xlsx")]
    cmd += ["--registry", str(leak / "registry" / "do_not_record.csv"), "--engine", engine]
    if engine == "spark":
        cmd += ["--spark-master", "local[2]"]
        for item in spark_conf or []:
            cmd += ["--spark-conf", item]
    return cmd


def run(
    leak: Path, out: Path, label: str, spark_conf: list[str] | None = None, native: bool = True
) -> dict[str, Any]:
    result: dict[str, Any] = {"leak": str(leak), "label": label, "runs": {}}
    result["spark_conf"] = list(spark_conf or [])
    result["native_reads"] = native
    config = None
    if not native:  # DuckDB converts every table, as before Spark read text itself
        config = out / "no_native_reads.toml"
        config.write_text("[spark]\nnative_reads = false\n")
    for engine in ("duckdb", "spark"):
        target = out / engine
        cmd = audit_command(leak, target, engine, spark_conf, config)
        # This checkout's privguard, not whichever the venv's entry point would import.
        env = {"PYTHONPATH": str(HERE.parent / "src"), "PYSPARK_PYTHON": sys.executable}
        m = run_measured(cmd, log_path=out / f"{engine}.log", timeout_s=4 * 3600, env=env)
        entry = m.to_dict()
        timings = target / "timings.json"
        if timings.is_file():
            entry["stages"] = {
                s["stage"]: {k: s.get(k) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
                for s in json.loads(timings.read_text())
            }
        report = target / "restricted" / "work" / "ingest_report.json"
        if engine == "spark" and report.is_file():  # which tables Spark read itself
            tables = json.loads(report.read_text())["tables"]
            entry["tables_read"] = dict(Counter(t.get("reader", "duckdb") for t in tables))
        result["runs"][engine] = entry
        print(f"{label} {engine}: rc={m.returncode} wall {m.wall_s:.0f}s "
              f"cpu {m.cpu_tree_s:.0f}s ({m.cpu_tree_source}; waited-for {m.cpu_s:.0f}s) "
              f"peak {m.peak_rss_mb:.0f} MB (tree) load {m.load_avg_1m}", flush=True)  # fmt: skip
    if all(r["returncode"] == 0 for r in result["runs"].values()):
        result["equal"] = equal_outputs(out / "duckdb", out / "spark")
        print(f"{label} equal: {result['equal']}", flush=True)
    return result


def leak_for(rows: float, data: Path, seed: int, out: Path) -> tuple[Path, str]:
    """bench/run.py's leak for ``rows`` source rows (generated when missing) and its label."""
    from run import SizeRun, machine

    # Its record of the generation goes to the scratch folder, not bench/results.
    bench = SizeRun(rows, data, out / "generate", seed)
    bench.results["machine"] = machine()  # each step's record names the commit
    bench.generate(skip=False)
    return bench.leak, bench.label


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--leak", type=Path, help="a synth leak folder")
    where.add_argument("--rows", type=float, help="source rows: 1e6 or 14.4e6 (bench/run.py's)")
    p.add_argument("--data", type=Path, default=Path("/work/bench-data"), help="with --rows")
    p.add_argument("--seed", type=int, default=2015, help="with --rows, when generating")
    p.add_argument("--out", type=Path, required=True, help="scratch folder for both audits")
    p.add_argument("--label", default=None, help="name of the result file (default: folder)")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="passed to the Spark audit, e.g. spark.driver.memory=6g")  # fmt: skip
    p.add_argument("--native-reads", choices=("on", "off"), default="on",
                   help="off: DuckDB converts every table for Spark ([spark] native_reads)")  # fmt: skip
    args = p.parse_args()
    args.out = args.out.resolve()  # the runs start from the repository root
    if args.rows:
        args.leak, label = leak_for(args.rows, args.data, args.seed, args.out)
        label = args.label or label
    else:
        label = args.label or args.leak.parent.name
    # Spark's Python workers put their working folder first on sys.path, so the runs start
    # from the root (bench/ once held a profile.py that shadowed the standard library's).
    os.chdir(HERE.parent)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args.leak, args.out, label, args.spark_conf, args.native_reads == "on")
    result["cores"] = os.cpu_count()
    dest = HERE / "results" / f"spark_{label}.json"
    dest.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {dest}")


if __name__ == "__main__":
    main()
