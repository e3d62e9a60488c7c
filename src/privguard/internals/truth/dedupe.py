"""Score a dedupe against ground truth: pairwise precision, recall and F1, without pairs.

Pairs are counted, never enumerated: a group of n rows holds n·(n-1)/2 pairs, so
true positives are the sum over (predicted call, true call) intersection groups,
predicted pairs the sum over predicted calls, true pairs the sum over true calls.
That keeps the evaluation a few aggregations, whatever the size of the dump.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.audit.engines import Executor, connect
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import parquet_source

WORST = 10


@dataclass
class Evaluation:
    """Pairwise scores of ``calls.parquet`` against the truth, and the worst clusters."""

    precision: float
    recall: float
    f1: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    rows_evaluated: int
    rows_missing: int  # rows the truth says are good but no call lists
    rows_unknown: int  # rows a call lists that the truth does not know
    corrupt_rows_kept: int
    calls_out: int
    true_calls: int
    over_merged: list[dict[str, Any]] = field(default_factory=list)
    split: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _joined_sql(calls: str, rows: str) -> str:
    """Truth rows (good ones, and corrupt ones a call kept) with the call that lists them."""
    return f"""
    SELECT t.call_id AS truth, p.pred, t.corrupt, t.file, t."table", t."row"
    FROM (SELECT file, "table", CAST("row" AS BIGINT) AS "row", call_id, corrupt FROM {rows}) t
    LEFT JOIN (SELECT call_id AS pred, s.file, s."table", s."row"
               FROM (SELECT call_id, unnest(sources) AS s FROM {calls})) p
      ON p.file = t.file AND p."table" = t."table" AND p."row" = t."row"
    WHERE NOT coalesce(t.corrupt, false) OR p.pred IS NOT NULL"""


def _pairs(n: str) -> str:
    return f"sum(CAST({n} AS HUGEINT) * ({n} - 1) // 2)"


def scores_sql(joined: str) -> str:
    """One row: TP pairs, predicted pairs, true pairs, rows, missing, corrupt kept, calls."""
    return f"""
    SELECT
      (SELECT coalesce({_pairs("n")}, 0) FROM (SELECT count(*) AS n FROM {joined}
          WHERE pred IS NOT NULL GROUP BY pred, truth)),
      (SELECT coalesce({_pairs("n")}, 0) FROM (SELECT count(*) AS n FROM {joined}
          WHERE pred IS NOT NULL GROUP BY pred)),
      (SELECT coalesce({_pairs("n")}, 0) FROM (SELECT count(*) AS n FROM {joined} GROUP BY truth)),
      (SELECT count(*) FROM {joined}),
      (SELECT count(*) FROM {joined} WHERE pred IS NULL),
      (SELECT count(*) FROM {joined} WHERE corrupt AND pred IS NOT NULL),
      (SELECT count(DISTINCT truth) FROM {joined})"""


def unknown_rows_sql(calls: str, rows: str) -> str:
    """Rows listed by calls that the truth does not hold (provenance mismatch)."""
    return f"""
    SELECT count(*) FROM (SELECT unnest(sources) AS s FROM {calls}) p
    ANTI JOIN {rows} t ON t.file = p.s.file AND t."table" = p.s."table"
                      AND CAST(t."row" AS BIGINT) = p.s."row" """


def worst_sql(joined: str, group: str, other: str, limit: int = WORST) -> str:
    """Groups of ``group`` spanning the most distinct ``other`` (over-merged or split)."""
    return f"""
    SELECT {group}, count(*) AS n_rows, count(DISTINCT {other}) + count(*) FILTER ({other} IS NULL) AS n_other,
           list(struct_pack(file := file, "table" := "table", "row" := "row")
                ORDER BY file, "table", "row")[1:5] AS examples
    FROM {joined} WHERE {group} IS NOT NULL GROUP BY {group}
    HAVING n_other > 1
    ORDER BY n_other DESC, n_rows DESC, {group} LIMIT {int(limit)}"""


def evaluate(audit_out: Path, truth: Path, *, executor: Executor | None = None) -> Evaluation:
    """Score ``audit_out/calls.parquet`` against ``truth/rows.parquet`` of a synthetic leak.

    ``truth/rows.parquet`` lists every source row (``file``, ``table``, ``row``) with
    its true ``call_id`` and whether it was deliberately ``corrupt``. Rows the truth
    calls good but no call lists count as their own singleton (lost recall); corrupt
    rows count only when a call kept them. Precision, recall and F1 are over pairs of
    rows that belong to the same call, counted from group sizes. Also returns the
    calls out against the true calls and the worst over-merged and split clusters.
    """
    audit_out, truth = Path(audit_out), Path(truth)
    calls_path = AuditPaths(audit_out).calls
    rows_path = truth / "rows.parquet" if truth.is_dir() else truth
    for path, fix in (
        (calls_path, "give the folder an audit wrote (it holds calls.parquet)"),
        (rows_path, "give the synthetic leak's truth/ folder (it holds rows.parquet)"),
    ):
        if not path.is_file():
            raise InputError(f"{path.name} is missing", where=str(path), fix=fix)
    own = executor is None
    ex = executor or connect()
    try:
        calls, rows = parquet_source(calls_path), parquet_source(rows_path)
        ex.execute(f"CREATE OR REPLACE TEMP TABLE _pg_eval AS {_joined_sql(calls, rows)}")
        tp, pp, tpairs, n, missing, corrupt, true_calls = ex.fetchall(scores_sql("_pg_eval"))[0]
        unknown = ex.fetchall(unknown_rows_sql(calls, rows))[0][0]
        calls_out = ex.fetchall(f"SELECT count(*) FROM {calls}")[0][0]
        over = ex.fetchall(worst_sql("_pg_eval", "pred", "truth"))
        split = ex.fetchall(worst_sql("_pg_eval", "truth", "pred"))
    finally:
        ex.execute("DROP TABLE IF EXISTS _pg_eval")
        if own:
            ex.close()
    precision = float(tp) / float(pp) if pp else 1.0
    recall = float(tp) / float(tpairs) if tpairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Evaluation(
        precision=precision,
        recall=recall,
        f1=f1,
        true_positive_pairs=int(tp),
        predicted_pairs=int(pp),
        true_pairs=int(tpairs),
        rows_evaluated=int(n),
        rows_missing=int(missing),
        rows_unknown=int(unknown),
        corrupt_rows_kept=int(corrupt),
        calls_out=int(calls_out),
        true_calls=int(true_calls),
        over_merged=[
            {"call_id": r[0], "rows": r[1], "true_calls": r[2], "examples": r[3]} for r in over
        ],
        split=[
            {"true_call_id": r[0], "rows": r[1], "calls": r[2], "examples": r[3]} for r in split
        ],
    )


def to_json(ev: Evaluation) -> str:
    """The evaluation as JSON text (for ``--json`` and the benchmarks)."""
    return json.dumps(ev.to_dict(), indent=2, default=str)
