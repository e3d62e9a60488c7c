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
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import count_sql, parquet_source
from privguard.internals.truth import sql as S


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
        (
            calls_path,
            "give the --out folder of a finished audit (it holds restricted/calls.parquet)",
        ),
        (rows_path, "give the synthetic leak's truth/ folder (it holds rows.parquet)"),
    ):
        if not path.is_file():
            raise InputError(f"{path.name} is missing", where=str(path), fix=fix)
    calls, rows = parquet_source(calls_path), parquet_source(rows_path)
    with session(executor) as ex:
        try:
            ex.execute(S.create_joined_sql(calls, rows))
            tp, pp, tpairs, n, missing, corrupt, true_calls = ex.fetchall(S.scores_sql(S.JOINED))[0]
            unknown = ex.fetchall(S.unknown_rows_sql(calls, rows))[0][0]
            calls_out = ex.fetchall(count_sql(calls))[0][0]
            over = ex.fetchall(S.worst_sql(S.JOINED, "pred", "truth"))
            split = ex.fetchall(S.worst_sql(S.JOINED, "truth", "pred"))
        finally:
            ex.execute(S.drop_joined_sql())
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
