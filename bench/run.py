"""The benchmark harness: privguard's audit at the leak's scale, beside the baselines.

For each size (in source rows; synth writes about two rows per call) it:

1. generates a synthetic leak with ``privguard synth`` (skipped if already there);
2. runs ``privguard audit`` on it, measuring the whole process tree from outside
   (wall, CPU, peak RSS) and reading the audit's own per-stage ``timings.json``;
3. runs the floor (bare DuckDB SQL, ``bench/baseline_floor.py``) on the same files;
4. runs the naive pandas script (``bench/baseline_pandas.py``) under a memory cap, until
   the first size at which it fails;
5. at the Splink sizes, runs Splink on privguard's normalized rows and scores both
   methods' deduplication against the truth (``bench/baseline_splink.py``).

``--shape high-cardinality`` measures the other shape of dump instead (issue #20): a
plain CSV dump where every call is stored twice in two layouts and nearly every call
goes to a number of its own (``bench/two_layouts.py --calls-per-number 0.05``, with a
bar list naming 0.5 % of the numbers). Its folders and results are ``<size>-hc``.

While the audit runs, the peak size of its spill folder (``OUT/restricted/work/tmp``,
where DuckDB spills) and of its whole work folder (spill plus the stages' scratch files)
are polled every 0.5 s. After the steps, a summary is printed and saved under
``summary``: the stage table, the audit's wall, CPU, peak RSS and spill, the floor, the
ratio, and whether audit and floor ran at one clean commit. The 10 M runs of issue #20,
one command per shape (each generates its dump first if missing):

    .venv/bin/python bench/run.py --sizes 1e7 --splink-sizes '' --steps generate,audit,floor --shape realistic
    .venv/bin/python bench/run.py --sizes 1e7 --splink-sizes '' --steps generate,audit,floor --shape high-cardinality

Results go to ``bench/results/<size>.json``; ``bench/report.py`` turns them into the
tables and the plot in docs/benchmarks.md.

Example: .venv/bin/python bench/run.py --sizes 1e6,14.4e6 --data /work/bench-data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Measurement, dir_bytes, run_measured
from privguard.internals.audit.paths import AuditPaths

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ROWS_PER_CALL = 2.05
STAGES = ("generate", "audit", "floor", "pandas", "splink")
BIN = Path(sys.executable).parent
PY = sys.executable


def label(rows: float) -> str:
    """1e6 -> '1M', 14.4e6 -> '14.4M', 1e5 -> '100k'."""
    if rows >= 1e6:
        return f"{rows / 1e6:g}M"
    return f"{rows / 1e3:g}k"


def machine() -> dict[str, Any]:
    """The machine and the versions the figures were taken with."""
    import duckdb
    import pyarrow

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions["duckdb"] = duckdb.__version__
    versions["pyarrow"] = pyarrow.__version__
    for name in ("pandas", "splink", "privguard"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    grouped = autogroup.exists() and autogroup.read_text().strip() == "1"
    if grouped:
        # With autogroup, each terminal session gets an equal share of the CPU whatever
        # its processes' nice values, so a `nice -n 19` job elsewhere still halves the
        # benchmark (seen on 3 Dec 2026: the audit's main thread waited on the run queue
        # 70 % of the time). Record it, and say how to turn it off for a quiet run.
        print(
            "warning: kernel.sched_autogroup_enabled=1, so nice does not protect this run "
            "from other sessions; as root: sysctl -w kernel.sched_autogroup_enabled=0",
            file=sys.stderr,
        )
    return {
        "sched_autogroup": grouped,
        "dirty": bool(dirty),  # uncommitted changes under src/ when the step ran
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "versions": versions,
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class PeakSize(threading.Thread):
    """Peak total size of the files under each folder, polled every 0.5 s while running.

    With ``timeline`` (and ``log``), every 5 s one line is appended to that file: the
    time, the 1-minute load average, each folder's size and how many lines the audit's
    log has. The log has one line per finished SQL statement (``-vv``), so the line
    count tells which statement was running when the spill grew.
    """

    def __init__(
        self, folders: dict[str, Path], timeline: Path | None = None, log: Path | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.folders = folders
        self.peaks = dict.fromkeys(folders, 0)
        self.stop = threading.Event()
        self.timeline, self.log = timeline, log

    def run(self) -> None:
        ticks = 0
        while not self.stop.wait(0.5):
            sizes: dict[str, int] = {}
            for name, folder in self.folders.items():
                try:
                    size = dir_bytes(folder) if folder.exists() else 0
                except OSError:  # a file removed while walking: try again next time
                    continue
                sizes[name] = size
                self.peaks[name] = max(self.peaks[name], size)
            ticks += 1
            if self.timeline and ticks % 10 == 0:
                self._line(sizes)

    def _line(self, sizes: dict[str, int]) -> None:
        """One timeline line: time, load, folder sizes (MB), log lines so far."""
        lines = 0
        if self.log and self.log.exists():
            with self.log.open("rb") as f:
                lines = sum(1 for _ in f)
        cols = [time.strftime("%H:%M:%S"), f"{os.getloadavg()[0]:.2f}"]
        cols += [f"{sizes.get(k, 0) / 2**20:.0f}" for k in self.folders]
        cols.append(str(lines))
        assert self.timeline is not None
        with self.timeline.open("a") as f:
            f.write("\t".join(cols) + "\n")

    def __enter__(self) -> PeakSize:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


class SizeRun:
    """One size: its folders, its results file, and the steps run on it."""

    def __init__(
        self,
        rows: float,
        data: Path,
        results: Path,
        seed: int,
        timeout_s: float | None = None,
        shape: str = "realistic",
    ) -> None:
        self.rows, self.seed, self.shape = rows, seed, shape
        self.label = label(rows) + ("-hc" if shape == "high-cardinality" else "")
        self.timeout_s = timeout_s
        # synth writes 2.02-2.09 rows per call by default (copies across exports, plus
        # exact duplicates); the leak had 144 M rows for about 70 M calls.
        self.calls = max(100, round(rows / ROWS_PER_CALL))
        self.base = data / self.label
        self.leak, self.audit_out = self.base / "leak", self.base / "audit"
        self.logs = self.base / "logs"
        self.results_path = results / f"{self.label}.json"
        self.results: dict[str, Any] = {}
        if self.results_path.exists():
            self.results = json.loads(self.results_path.read_text())
        if shape == "high-cardinality":
            self.calls = max(100, round(rows / 2))  # every call stored twice
        self.results |= {"size": self.label, "rows_target": rows, "calls": self.calls}
        self.results["shape"] = shape

    def save(self) -> None:
        self.results_path.parent.mkdir(parents=True, exist_ok=True)
        self.results_path.write_text(json.dumps(self.results, indent=2) + "\n")

    @property
    def dump(self) -> Path:
        return self.leak / "dump"

    def directories(self) -> list[Path]:
        return sorted((self.leak / "directory").glob("*"))

    def registries(self) -> list[Path]:
        return sorted((self.leak / "registry").glob("*"))

    def record(self, step: str, m: Measurement, **extra: Any) -> dict[str, Any]:
        # The code changes between runs of different steps: keep the commit of each.
        entry = m.to_dict() | extra | {"commit": self.results["machine"]["commit"]}
        entry["dirty"] = self.results["machine"].get("dirty")
        self.results[step] = entry
        self.save()
        status = "ok" if m.returncode == 0 else f"FAILED ({m.returncode})"
        print(
            f"[{self.label}] {step}: {status} {m.wall_s:.1f}s wall, {m.cpu_s:.1f}s cpu, "
            f"{m.peak_rss_mb:.0f} MB peak (others used {m.machine_busy_other_pct:.0f}% CPU)",
            flush=True,
        )
        return entry

    # --- steps -------------------------------------------------------------------------
    @property
    def generated(self) -> Path:
        """The file a finished generation leaves."""
        return self.leak / ("truth.json" if self.shape == "high-cardinality" else "synth.json")

    def generate(self, skip: bool) -> None:
        if self.generated.exists() or skip:
            return
        if self.shape == "high-cardinality":
            cmd = [PY, str(HERE / "two_layouts.py"), "--out", str(self.leak)]
            cmd += ["--calls", str(self.calls), "--seed", str(self.seed)]
            cmd += ["--calls-per-number", "0.05"]
            self.record("generate", run_measured(cmd, log_path=self.logs / "generate.log"))
            return
        cmd = [str(BIN / "privguard"), "synth", str(self.leak)]
        cmd += ["--calls", str(self.calls), "--seed", str(self.seed)]
        self.record("generate", run_measured(cmd, log_path=self.logs / "generate.log"))

    def dump_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"bytes": dir_bytes(self.dump)}
        info["files"] = sum(1 for p in self.dump.rglob("*") if p.is_file())
        synth = self.leak / "synth.json"
        if synth.exists():
            info["synth"] = json.loads(synth.read_text())
        report = AuditPaths(self.audit_out).ingest_report
        if report.exists():
            info["rows_read"] = json.loads(report.read_text()).get("totals", {}).get("rows_read")
        elif "rows_read" in self.results.get("dump", {}):
            # e.g. --only floor after the audit's work folder was cleaned: keep its count.
            info["rows_read"] = self.results["dump"]["rows_read"]
        self.results["dump"] = info
        self.save()
        return info

    def audit(self) -> None:
        # -vv logs each stage's timing as it ends, so a run cut short still has figures, and
        # each SQL statement's time, which the spill timeline is read against.
        cmd = [str(BIN / "privguard"), "-vv", "audit", str(self.dump), "--out", str(self.audit_out)]
        for d in self.directories():
            cmd += ["--directory", str(d)]
        for r in self.registries():
            cmd += ["--registry", str(r)]
        log = self.logs / "audit.log"
        paths = AuditPaths(self.audit_out)
        timeline = self.logs / "audit.timeline.tsv"
        timeline.parent.mkdir(parents=True, exist_ok=True)
        timeline.write_text("time\tload1\tspill_mb\twork_mb\tlog_lines\n")
        folders = {"spill": paths.scratch, "work": paths.work}
        with PeakSize(folders, timeline=timeline, log=log) as disk:
            m = run_measured(cmd, log_path=log, timeout_s=self.timeout_s)
        info = self.dump_info()
        rows = info.get("rows_read") or self.rows
        stages = []
        timings = AuditPaths(self.audit_out).timings
        found = json.loads(timings.read_text()) if m.returncode == 0 and timings.exists() else []
        for s in found or stages_from_log(log):
            wall = max(s["wall_s"], 1e-9)
            rates = {"input_mb_s": round(info["bytes"] / 1e6 / wall, 2)}
            stages.append(s | rates | {"rows_s": round(rows / wall)})
        total = {"input_mb_s": round(info["bytes"] / 1e6 / m.wall_s, 2)}
        total["rows_s"] = round(rows / m.wall_s)
        peaks = {f"peak_{k}_mb": round(v / 2**20, 1) for k, v in disk.peaks.items()}
        self.record("audit", m, stages=stages, total=total, **peaks)

    def summary(self) -> str:
        """The stage table and the audit against the floor, as markdown; saved too."""
        audit, floor = self.results.get("audit"), self.results.get("floor")
        lines = [f"### {self.label} ({self.shape}), {self.results['machine']['date']}"]
        if not audit:
            return lines[0] + "\n\nno audit recorded"
        lines += ["", "| stage | wall | CPU | peak RSS (process) |", "|---|---|---|---|"]
        for st in audit.get("stages", []):
            lines.append(
                f"| {st['stage']} | {st['wall_s']:.1f} s | {st['cpu_s']:.1f} s "
                f"| {st['peak_rss_mb']:.0f} MB |"
            )
        lines.append(
            f"| **audit** | **{audit['wall_s']:.1f} s** | **{audit['cpu_s']:.1f} s** "
            f"| **{audit['peak_rss_mb']:.0f} MB** (tree) |"
        )
        lines.append("")
        lines.append(
            f"spill peak {audit.get('peak_spill_mb', 0):.0f} MB, work folder peak "
            f"{audit.get('peak_work_mb', 0):.0f} MB; others used "
            f"{audit.get('machine_busy_other_pct', 0):.0f} % CPU during the audit"
        )
        if floor and floor.get("returncode") == 0:
            lines.append(
                f"floor {floor['wall_s']:.1f} s wall, {floor['cpu_s']:.1f} s CPU, "
                f"{floor['peak_rss_mb']:.0f} MB; audit / floor: "
                f"{audit['wall_s'] / floor['wall_s']:.2f}x wall, "
                f"{audit['cpu_s'] / max(floor['cpu_s'], 1e-9):.2f}x CPU"
            )
            same = audit.get("commit") == floor.get("commit")
            clean = not audit.get("dirty") and not floor.get("dirty")
            lines.append(
                f"commits: audit {audit.get('commit')}, floor {floor.get('commit')} "
                f"({'one commit' if same else 'DIFFERENT commits'}, "
                f"{'clean' if clean else 'uncommitted changes under src/'})"
            )
        text = "\n".join(lines)
        self.results["summary"] = text
        self.save()
        return text

    def baseline(self, name: str, **caps: Any) -> dict[str, Any]:
        out = self.base / name
        cmd = [PY, str(HERE / f"baseline_{name}.py"), str(self.dump), "--out", str(out)]
        for d in self.directories():
            cmd += ["--directory", str(d)]
        m = run_measured(cmd, log_path=self.logs / f"{name}.log", timeout_s=self.timeout_s, **caps)
        result_file = out / "result.json"
        result = json.loads(result_file.read_text()) if m.returncode == 0 else None
        if result_file.exists() and m.returncode != 0:
            result_file.unlink()
        return self.record(name, m, result=result)

    def splink(self, blocking: str) -> None:
        normalized = AuditPaths(self.audit_out).normalized
        cmd = [PY, str(HERE / "baseline_splink.py"), str(normalized)]
        cmd += ["--truth", str(self.leak / "truth" / "rows.parquet")]
        out = self.base / f"splink-{blocking}"
        cmd += ["--audit", str(self.audit_out), "--out", str(out), "--blocking", blocking]
        # A cap, so that Splink's pair tables can never take the shared machine down.
        m = run_measured(
            cmd,
            log_path=self.logs / f"splink-{blocking}.log",
            rss_cap_mb=10_000,
            timeout_s=self.timeout_s,
        )
        result_file = out / "result.json"
        result = json.loads(result_file.read_text()) if m.returncode == 0 else None
        dedupe = [
            s for s in self.results.get("audit", {}).get("stages", []) if s["stage"] == "dedupe"
        ]
        step = "splink" if blocking == "daily" else f"splink_{blocking}"
        self.record(step, m, result=result, privguard_dedupe=dedupe[0] if dedupe else None)


STAGE_LINE = re.compile(r"stage (\w+): ([\d.]+)s wall, ([\d.]+)s cpu, (\d+) MB peak")


def stages_from_log(log: Path) -> list[dict[str, Any]]:
    """Per-stage figures from an audit's -v log (for runs stopped before timings.json)."""
    found = []
    for m in STAGE_LINE.finditer(log.read_text(errors="replace") if log.exists() else ""):
        found.append(
            {
                "stage": m.group(1),
                "wall_s": float(m.group(2)),
                "cpu_s": float(m.group(3)),
                "peak_rss_mb": float(m.group(4)),
                "extra": {"from": "log"},
            }
        )
    return found


def pandas_failed_below(results: Path, rows: float) -> str | None:
    """The label of a smaller size at which pandas already failed, if any."""
    for path in results.glob("*.json"):
        r = json.loads(path.read_text())
        p = r.get("pandas")
        if p and p.get("returncode") != 0 and r.get("rows_target", 0) < rows:
            return str(r["size"])
    return None


def parse_sizes(text: str) -> list[float]:
    return sorted(float(s) for s in text.split(",") if s.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="privguard benchmarks; see docs/benchmarks.md")
    parser.add_argument("--sizes", default="1e6,14.4e6,144e6", help="source rows, comma-separated")
    parser.add_argument("--splink-sizes", default="1e5,1e6", help="sizes that also run Splink")
    parser.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--skip-generate", action="store_true", help="use the dumps already there")
    parser.add_argument("--only", choices=STAGES, help="run one step only")
    parser.add_argument(
        "--steps", default=",".join(STAGES), help="steps to run, comma-separated (default all)"
    )
    parser.add_argument(
        "--timeout-min", type=float, default=0, help="stop a step after this long (0 = never)"
    )
    parser.add_argument(
        "--shape",
        choices=("realistic", "high-cardinality"),
        default="realistic",
        help="realistic: privguard synth; high-cardinality: nearly every call to its own number",
    )
    parser.add_argument("--pandas-cap-gb", type=float, default=16.0, help="pandas memory cap (GB)")
    args = parser.parse_args(argv)
    splink_sizes = parse_sizes(args.splink_sizes)
    sizes = sorted(set(parse_sizes(args.sizes)) | set(splink_sizes))
    want = {args.only} if args.only else {s for s in args.steps.split(",") if s in STAGES}
    if "splink" not in want:
        sizes = parse_sizes(args.sizes)
    elif args.only == "splink":
        sizes = splink_sizes
    info = machine()
    for rows in sizes:
        timeout = args.timeout_min * 60 or None
        run = SizeRun(rows, args.data, args.results, args.seed, timeout, args.shape)
        run.results["machine"] = info
        if "generate" in want:
            run.generate(args.skip_generate)
        if not run.generated.exists():
            print(f"[{run.label}] no dump at {run.leak}; generate it first", file=sys.stderr)
            continue
        run.dump_info()
        if "audit" in want:
            run.audit()
        if "floor" in want and rows in parse_sizes(args.sizes):
            run.baseline("floor")
        if "pandas" in want and rows in parse_sizes(args.sizes):
            failed = pandas_failed_below(args.results, rows)
            if failed:
                run.results["pandas"] = {"skipped": f"pandas already failed at {failed}"}
                run.save()
            else:
                cap = args.pandas_cap_gb * 1024
                run.baseline("pandas", rss_cap_mb=cap, address_space_cap_mb=cap * 1.5)
        if "splink" in want and rows in splink_sizes:
            run.splink("daily")
            if rows <= 1e5:
                run.splink("person")  # the blocking without the date: small samples only
        if "audit" in want:
            print(run.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
