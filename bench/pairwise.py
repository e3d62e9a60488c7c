"""Pairwise precision, recall and F1 of a clustering against the synthetic truth, in SQL.

Two source rows form a true pair when synth's truth/rows.parquet gives them the same
call_id; a predicted pair when the method put them in the same cluster. Counting is
done per (predicted cluster, true call) cell, so no pair list is ever built:
TP = sum over cells of C(n, 2), predicted = sum over clusters of C(n, 2), true = sum over
calls of C(n, 2). Only rows that reached the normalized table take part (rows ingest
rejected are in neither clustering).
"""

from __future__ import annotations

from typing import Any


def pairwise_sql(assignments: str) -> str:
    """SQL over ``assignments`` (columns row_id, true_id, pred_id): one row tp, predicted, true."""
    return f"""
        WITH a AS (SELECT * FROM {assignments} WHERE true_id IS NOT NULL),
        cells AS (SELECT count(*) AS n FROM a GROUP BY pred_id, true_id),
        preds AS (SELECT count(*) AS n FROM a GROUP BY pred_id),
        truth AS (SELECT count(*) AS n FROM a GROUP BY true_id)
        SELECT
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM cells)::HUGEINT AS tp,
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM preds)::HUGEINT AS predicted,
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM truth)::HUGEINT AS true_pairs,
            (SELECT count(*) FROM a) AS rows,
            (SELECT count(*) FROM preds) AS clusters,
            (SELECT count(*) FROM truth) AS true_calls
    """


def scores(tp: int, predicted: int, true_pairs: int) -> dict[str, Any]:
    """Precision, recall and F1 from pair counts (1.0 when there is nothing to find)."""
    precision = tp / predicted if predicted else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": int(tp),
        "predicted_pairs": int(predicted),
        "true_pairs": int(true_pairs),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
    }


def truth_join_sql(rows_sql: str, truth_rows: str) -> str:
    """Attach synth's true call_id to rows keyed by (src_file, src_table, src_row)."""
    return f"""
        SELECT r.*, t.call_id AS true_id
        FROM ({rows_sql}) r
        LEFT JOIN read_parquet('{truth_rows}') t
          ON t.file = r.src_file AND t."table" = r.src_table AND t."row" = r.src_row
    """
