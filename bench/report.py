"""Turn bench/results/*.json into the tables and the plot of docs/benchmarks.md.

The tables replace the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``
in docs/benchmarks.md; the plot is written to docs/benchmarks-scaling.png.

Example: .venv/bin/python bench/report.py
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
PLOT = HERE.parent / "docs" / "benchmarks-scaling.png"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load(results: Path) -> list[dict[str, Any]]:
    """Every size's results, smallest first."""
    runs = [json.loads(p.read_text()) for p in results.glob("*.json")]
    return sorted(runs, key=lambda r: r.get("rows_target", 0))


def _ok(step: dict[str, Any] | None) -> bool:
    return bool(step) and step.get("returncode") == 0  # type: ignore[union-attr]


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _mb(mb: float | None) -> str:
    if mb is None:
        return "–"
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _skipped(floor: dict[str, Any] | None, dump: dict[str, Any]) -> str:
    """Share of the dump's bytes the floor could not read (MySQL/PostgreSQL dumps)."""
    if not _ok(floor) or not floor.get("result") or not dump.get("bytes"):  # type: ignore[union-attr]
        return "–"
    return f"{floor['result']['skipped_bytes'] / dump['bytes']:.0%} of bytes"  # type: ignore[index]


def _n(value: int | None) -> str:
    return f"{value:,}" if value else "–"


def _failure(step: dict[str, Any] | None) -> str:
    if not step:
        return "not run"
    if "skipped" in step:
        return str(step["skipped"])
    if step.get("killed_for_memory"):
        return f"killed at the memory cap after {_t(step['wall_s'])}"
    if step.get("killed_for_time"):
        done = ", ".join(s["stage"] for s in step.get("stages", [])) or "no stage"
        return f"stopped at the time limit after {_t(step['wall_s'])} ({done} done)"
    if "No space left" in step.get("stderr_tail", ""):
        return f"ran out of disk for spilling after {_t(step['wall_s'])}"
    if "MemoryError" in step.get("stderr_tail", ""):
        return f"MemoryError after {_t(step['wall_s'])}"
    return f"failed (exit {step.get('returncode')})"


def overview(runs: list[dict[str, Any]]) -> list[str]:
    """Whole-run figures: audit, floor, pandas; time, memory and the ratio to the floor."""
    lines = [
        "| rows (target) | rows read | dump | audit wall | audit CPU | audit peak RSS | "
        "floor wall | floor CPU | floor peak RSS | audit / floor (wall) | audit / floor (CPU) | "
        "floor skipped (.sql dumps) | pandas | pandas peak RSS | others' CPU load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        a, f, p = r.get("audit"), r.get("floor"), r.get("pandas")
        dump = r.get("dump", {})
        ratio = f"{a['wall_s'] / f['wall_s']:.2f}×" if _ok(a) and _ok(f) else "–"
        cpu_ratio = f"{a['cpu_s'] / f['cpu_s']:.2f}×" if _ok(a) and _ok(f) else "–"
        pandas = _t(p["wall_s"]) if _ok(p) else _failure(p)
        others = a.get("machine_busy_other_pct") if a else None
        lines.append(
            f"| {r['size']} | {_n(dump.get('rows_read'))} | {dump.get('bytes', 0) / 1e9:.2f} GB "
            f"| {_t(a['wall_s']) if _ok(a) else _failure(a)} | {_t(a['cpu_s']) if a else '–'} "
            f"| {_mb(a['peak_rss_mb']) if a else '–'} "
            f"| {_t(f['wall_s']) if _ok(f) else _failure(f)} | {_t(f['cpu_s']) if f else '–'} "
            f"| {_mb(f['peak_rss_mb']) if f else '–'} | {ratio} | {cpu_ratio} | {_skipped(f, dump)} | {pandas} | {_mb(p.get('peak_rss_mb')) if p and 'peak_rss_mb' in p else '–'} "
            f"| {others if others is not None else '–'}% |"
        )
    return lines


def stages(runs: list[dict[str, Any]]) -> list[str]:
    """Per-stage figures from the audit's own timings.json."""
    lines = [
        "| rows | stage | wall | CPU | CPU / wall | peak RSS (process) | input MB/s | rows/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        for s in (r.get("audit") or {}).get("stages", []):
            par = s["cpu_s"] / s["wall_s"] if s["wall_s"] else 0
            lines.append(
                f"| {r['size']} | {s['stage']} | {_t(s['wall_s'])} | {_t(s['cpu_s'])} | {par:.2f} "
                f"| {_mb(s['peak_rss_mb'])} | {s['input_mb_s']:,.1f} | {s['rows_s']:,} |"
            )
    return lines


def scaling(runs: list[dict[str, Any]]) -> list[str]:
    """Time ratio between consecutive sizes against the row ratio (linear = equal)."""
    done = [r for r in runs if _ok(r.get("audit"))]
    lines = [
        "| from | to | rows read × | audit wall × | audit CPU × | floor wall × | audit commits |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(done, done[1:], strict=False):
        # Rows actually read (synth's rows per call varies a little with size).
        ra = a.get("dump", {}).get("rows_read") or a["rows_target"]
        rows = (b.get("dump", {}).get("rows_read") or b["rows_target"]) / ra
        at = b["audit"]["wall_s"] / a["audit"]["wall_s"]
        ft = (
            f"{b['floor']['wall_s'] / a['floor']['wall_s']:.1f}×"
            if _ok(a.get("floor")) and _ok(b.get("floor"))
            else "–"
        )
        ac = b["audit"]["cpu_s"] / a["audit"]["cpu_s"]
        commits = f"{a['audit'].get('commit', '?')} → {b['audit'].get('commit', '?')}"
        lines.append(
            f"| {a['size']} | {b['size']} | {rows:.1f}× | {at:.1f}× | {ac:.1f}× | {ft} | {commits} |"
        )
    return lines


def dedupe(runs: list[dict[str, Any]]) -> list[str]:
    """Splink against privguard's dedupe on the same normalized rows."""
    lines = [
        "| rows | method | wall | CPU | precision | recall | pairwise F1 | calls out | true calls |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        s = r.get("splink")
        if not _ok(s) or not s.get("result"):
            continue
        res = s["result"]
        sp, pg = res["splink"], res.get("privguard", {}).get("scores")
        best_t, best = max(sp["by_threshold"].items(), key=lambda kv: kv[1]["f1"])
        d = s.get("privguard_dedupe") or {}
        rows = f"{res['sample_rows']:,}"
        sc = sp["scores"]
        lines.append(
            f"| {rows} | Splink (p ≥ {sp['threshold']}) | {_t(sp['time_s'])} | {_t(sp.get('cpu_s'))} "
            f"| {sc['precision']:.4f} "
            f"| {sc['recall']:.4f} | {sc['f1']:.4f} | {sc['calls_out']:,} | {sc['true_calls']:,} |"
        )
        lines.append(
            f"| {rows} | Splink, best threshold in hindsight (p ≥ {best_t}) | – | – "
            f"| {best['precision']:.4f} | {best['recall']:.4f} | {best['f1']:.4f} "
            f"| {best['calls_out']:,} | {best['true_calls']:,} |"
        )
        if pg:
            lines.append(
                f"| {rows} | privguard dedupe | {_t(d.get('wall_s'))} | {_t(d.get('cpu_s'))} "
                f"| {pg['precision']:.4f} "
                f"| {pg['recall']:.4f} | {pg['f1']:.4f} | {pg['calls_out']:,} | {pg['true_calls']:,} |"
            )
    return lines


def machine_lines(runs: list[dict[str, Any]]) -> list[str]:
    m = next((r["machine"] for r in reversed(runs) if "machine" in r), None)
    if not m:
        return []
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    return [
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB memory. "
        f"Versions: {v}. Latest step run at commit {m['commit']}, {m['date']}; each step's "
        "commit is in bench/results/<size>.json."
    ]


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Wall time, CPU time and peak memory against rows, log-log, audit and baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, (ax_t, ax_c, ax_m) = plt.subplots(1, 3, figsize=(14, 4.2))
    for step, name, style in (
        ("audit", "privguard audit", "o-"),
        ("floor", "floor (bare DuckDB SQL)", "s--"),
        ("pandas", "pandas (naive)", "^:"),
    ):
        pts = [(r["rows_target"], r[step]) for r in runs if _ok(r.get(step))]
        if pts:
            xs = [x for x, _ in pts]
            ax_t.plot(xs, [s["wall_s"] / 60 for _, s in pts], style, label=name)
            ax_c.plot(xs, [s["cpu_s"] / 60 for _, s in pts], style, label=name)
            ax_m.plot(xs, [s["peak_rss_mb"] / 1024 for _, s in pts], style, label=name)
        failed = [(r["rows_target"], r[step]) for r in runs if r.get(step, {}).get("returncode")]
        for x, s in failed:
            ax_m.plot([x], [s["peak_rss_mb"] / 1024], "rx", ms=10)
            ax_m.annotate(
                f"{name.split()[0]} killed at cap",
                (x, s["peak_rss_mb"] / 1024),
                fontsize=7,
                xytext=(-95, 6),
                textcoords="offset points",
            )
    ax_m.axhline(8, color="grey", lw=0.8, ls="-.", label="8 GB goal")
    ax_t.axhline(15, color="grey", lw=0.8, ls="-.", label="15 min goal")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, title, unit in (
        (ax_t, "wall time (machine shared)", "minutes"),
        (ax_c, "CPU time (user + system)", "minutes"),
        (ax_m, "peak RSS (process tree)", "GB"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xlabel("source rows")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def render(runs: list[dict[str, Any]]) -> str:
    parts = [
        *machine_lines(runs),
        "",
        "**Whole runs** (measured from outside: wall, CPU, peak RSS summed over the process tree)",
        "",
        *overview(runs),
        "",
        "**Per stage** (the audit's own timings.json; MB/s and rows/s relative to the whole dump)",
        "",
        *stages(runs),
        "",
        "**Scaling** (linear scaling means time × equals rows ×)",
        "",
        *scaling(runs),
        "",
        "**Deduplication against Splink** (same normalized rows, same pairwise F1 code)",
        "",
        *dedupe(runs),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    runs = load(args.results)
    body = render(runs)
    doc = args.doc.read_text() if args.doc.exists() else f"{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    args.doc.write_text(pattern.sub(lambda _: f"{BEGIN}\n{body}\n{END}", doc))
    if runs:
        plot(runs, args.plot)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
