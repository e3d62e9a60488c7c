"""Splink deduplication on privguard's normalized rows, scored against synth's truth.

Splink is fed ``WORK/normalized.parquet`` as privguard's normalize stage wrote it (E.164
numbers, UTC start times, durations in seconds, normalized accounts), so the comparison
isolates deduplication: both methods see the very same rows. The setup is what an expert
would write with Splink's DuckDB backend:

* blocking for predictions on (facility, inmate_account, dialed_number, start date) and
  on (dialed_number, start date) (``--blocking daily``, the default), or without the date
  in the first rule (``--blocking person``, feasible only on small samples);
* comparisons: start time (exact, within 1, 3, 10 and 60 minutes), duration (exact,
  within 60 s, within 120 s), account (exact, Levenshtein 1, 2), number (exact, Levenshtein 1);
* lambda from a deterministic rule, u by random sampling, m by EM on two one-day blocking
  rules, (number, start date) and (facility, account, start date), so that every
  comparison is trained at least once;
* clusters by connected components at match probability 0.95 (as in Splink's own
  deduplication tutorial); the pairwise F1 at other thresholds is reported too, so a
  reader can see Splink's best case.

Usage: python bench/baseline_splink.py NORMALIZED.parquet --truth TRUTH_ROWS.parquet
       [--audit OUT] [--sample ROWS] [--blocking daily|person] [--memory-limit 6GB] --out DIR
Both clusterings are scored by privguard's own `evaluate` (privguard.internals.audit.dedupe
.evaluate): pairs over the truth's rows, rows no call lists counted as singletons.
With --audit, privguard's clustering (OUT/calls.parquet) is scored too.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.truth.dedupe import evaluate

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
# Splink's own deduplication tutorial clusters at 0.95; an expert without labels would too.
DEFAULT_THRESHOLD = 0.95
INPUT_COLUMNS = (
    "row_key, src_file, src_table, src_row, facility, inmate_account, dialed_number, "
    "start_utc, duration_s, CAST(start_utc AS DATE) AS start_date"
)


def settings(blocking: str = "daily") -> Any:
    """The Splink model an expert would write for call records.

    ``blocking="person"`` blocks predictions on (facility, account, number) and (number,
    start date). The first rule compares every pair of calls one person made to one number
    over the whole period: 130 M pairs at 1 M rows (a family line called 2,000 times), which
    took 18 GB before we stopped it. ``"daily"`` (the default) adds the start date to it, as
    an expert does after counting comparisons; copies straddling midnight UTC are then
    missed, which the scores show.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    duration = cl.CustomComparison(
        [
            cll.NullLevel("duration_s"),
            cll.ExactMatchLevel("duration_s"),
            cll.AbsoluteDifferenceLevel("duration_s", 60),
            cll.AbsoluteDifferenceLevel("duration_s", 120),
            cll.ElseLevel(),
        ],
        output_column_name="duration_s",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="row_key",
        blocking_rules_to_generate_predictions=[
            block_on("facility", "inmate_account", "dialed_number", "start_date")
            if blocking == "daily"
            else block_on("facility", "inmate_account", "dialed_number"),
            block_on("dialed_number", "start_date"),
        ],
        comparisons=[
            cl.AbsoluteTimeDifferenceAtThresholds(
                "start_utc",
                input_is_string=False,
                metrics=["minute", "minute", "minute", "minute"],
                thresholds=[1, 3, 10, 60],
            ),
            duration,
            cl.LevenshteinAtThresholds("inmate_account", [1, 2]),
            cl.LevenshteinAtThresholds("dialed_number", [1]),
        ],
        retain_intermediate_calculation_columns=False,
    )


def sample_sql(normalized: Path, truth: Path, rows: int | None, seed: int) -> str:
    """The rows to dedupe: all, or every row of a random set of true calls (~``rows`` rows).

    Sampling whole calls, not rows, keeps each call's copies together, so the sample has
    the same duplicate structure as the full leak.
    """
    base = truth_join_sql(f"SELECT {INPUT_COLUMNS} FROM read_parquet('{normalized}')", truth)
    if rows is None:
        return base
    return f"""
        WITH t AS ({base}),
        calls AS (SELECT true_id, count(*) AS n FROM t GROUP BY true_id),
        frac AS (SELECT {int(rows)} / (SELECT count(*) FROM t)::DOUBLE AS f)
        SELECT t.* FROM t JOIN calls USING (true_id)
        WHERE hash(coalesce(true_id, -t.row_key) + {int(seed)}) % 1000000
              < (SELECT f FROM frac) * 1000000
    """


def run_splink(con: duckdb.DuckDBPyConnection, blocking: str) -> tuple[Any, Any, dict]:
    """Train and predict on table ``sample``; returns (linker, predictions, step seconds)."""
    from splink import DuckDBAPI, Linker, block_on

    steps: dict[str, float] = {}
    t = time.perf_counter()
    db_api = DuckDBAPI(connection=con)
    df = db_api.register("sample")
    linker = Linker(df, settings(blocking), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [
            "l.facility = r.facility and l.inmate_account = r.inmate_account "
            "and l.dialed_number = r.dialed_number "
            "and abs(epoch(l.start_utc) - epoch(r.start_utc)) <= 60"
        ],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6)
    # EM within one day: blocks spanning months (same person, same number) are dominated by
    # distinct calls, and EM then learns that "start times far apart" is common among matches.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dialed_number", "start_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("facility", "inmate_account", "start_date")
    )
    steps["train_s"] = time.perf_counter() - t
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
    steps["predict_s"] = time.perf_counter() - t
    return linker, predictions, steps


def truth_join_sql(rows_sql: str, truth_rows: Path) -> str:
    """Attach synth's true call_id to rows keyed by (src_file, src_table, src_row)."""
    return f"""
        SELECT r.*, t.call_id AS true_id
        FROM ({rows_sql}) r
        LEFT JOIN read_parquet('{truth_rows}') t
          ON t.file = r.src_file AND t."table" = r.src_table AND t."row" = r.src_row
    """


def write_calls_sql(clusters: str) -> str:
    """Splink's clusters in the shape of privguard's calls.parquet (call_id, sources)."""
    return f"""
        SELECT cluster_id AS call_id,
               list(struct_pack(file := s.src_file, "table" := s.src_table, "row" := s.src_row))
                   AS sources
        FROM {clusters} c JOIN sample s USING (row_key)
        GROUP BY cluster_id ORDER BY cluster_id
    """


def score(calls_dir: Path, truth: Path) -> dict[str, Any]:
    """privguard's own `evaluate` (the same pairwise definition for both methods)."""
    ev = evaluate(calls_dir, truth).to_dict()
    ev.pop("over_merged")
    ev.pop("split")
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in ev.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Sample, run Splink, score it at each threshold, and score privguard's clusters."""
    args.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{args.out / 'tmp'}'")
    # Spill rather than take a shared machine's memory (DuckDB's default is 80% of RAM).
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    t0 = time.perf_counter()
    con.execute(
        f"CREATE TABLE sample AS {sample_sql(args.normalized, args.truth, args.sample, args.seed)}"
    )
    truth = args.truth
    if args.sample:
        # Score against the truth of the sampled calls only (their rejected rows included).
        truth = args.out / "truth_sample.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{args.truth}') WHERE call_id IN "
            f"(SELECT true_id FROM sample)) TO '{truth}' (FORMAT parquet)"
        )
    sample_s = time.perf_counter() - t0
    started, cpu_started = time.perf_counter(), time.process_time()
    linker, predictions, steps = run_splink(con, args.blocking)
    by_threshold = {}
    splink_s = splink_cpu_s = 0.0
    for threshold in THRESHOLDS:
        t = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        if threshold == DEFAULT_THRESHOLD:
            steps["cluster_s"] = time.perf_counter() - t
            splink_s = time.perf_counter() - started
            splink_cpu_s = time.process_time() - cpu_started  # all threads (DuckDB's too)
        folder = args.out / f"p{threshold}"
        calls = AuditPaths(folder).calls  # where evaluate() reads an audit's calls
        calls.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY ({write_calls_sql(clusters.physical_name)}) TO '{calls}' (FORMAT parquet)"
        )
        by_threshold[str(threshold)] = score(folder, truth)
    result: dict[str, Any] = {
        "input": "privguard WORK/normalized.parquet",
        "blocking": args.blocking,
        "sample_rows": con.execute("SELECT count(*) FROM sample").fetchall()[0][0],
        "sample_s": round(sample_s, 3),
        "splink": {
            "threshold": DEFAULT_THRESHOLD,
            "time_s": round(splink_s, 3),
            "cpu_s": round(splink_cpu_s, 3),
            "steps": {k: round(v, 3) for k, v in steps.items()},
            "scores": by_threshold[str(DEFAULT_THRESHOLD)],
            "by_threshold": by_threshold,
        },
    }
    if args.audit:
        result["privguard"] = {"scores": score(args.audit, truth)}
    con.close()
    return result


def main(argv: list[str] | None = None) -> int:
    import splink

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("normalized", type=Path)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--audit", type=Path, help="privguard's audit folder (calls.parquet)")
    parser.add_argument("--sample", type=int, help="rows to sample (whole calls); default all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blocking", choices=("daily", "person"), default="daily")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args) | {"splink_version": splink.__version__, "duckdb": duckdb.__version__}
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
