"""The SQL of the truth evaluations, built by pure functions (nothing runs here).

``dedupe.py`` and ``identify.py`` hand what these return to an executor. Table
expressions (``calls``, ``rows``) come from :func:`~privguard.internals.audit.sql.parquet_source`.
"""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.sql import parquet_source, quote_literal

WORST = 10
ATTORNEY_KINDS = ("attorney", "public_defender")
JOINED = "_pg_eval"  # the temp table of truth rows joined with their predicted call


def columns_sql(source: str) -> str:
    """The column names (first field of each row) of the table expression ``source``."""
    return f"DESCRIBE SELECT * FROM {source}"


def create_joined_sql(calls: str, rows: str) -> str:
    """Make :data:`JOINED`: truth rows (good ones, and corrupt ones a call kept) with the
    call that lists them."""
    return f"CREATE OR REPLACE TEMP TABLE {JOINED} AS {joined_sql(calls, rows)}"


def drop_joined_sql() -> str:
    return f"DROP TABLE IF EXISTS {JOINED}"


def joined_sql(calls: str, rows: str) -> str:
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


def truth_calls_sql(truth_calls: Path) -> str:
    """The true calls in the ``OUT/calls.parquet`` shape (one source: the truth row)."""
    return f"""
SELECT call_id::BIGINT AS call_id, facility::VARCHAR AS facility,
       inmate_id::VARCHAR AS inmate_account, NULL::VARCHAR AS inmate_name,
       number::VARCHAR AS dialed_number,
       CASE WHEN number IS NULL THEN 'invalid: empty' ELSE 'valid' END AS number_status,
       start_utc::TIMESTAMP AS start_utc,
       duration_s::INTEGER AS duration_s, false AS duration_rounded, completed,
       'status' AS completed_from, recorded,
       NULL::VARCHAR AS recording_ref, 'single' AS merge_rule, 1 AS n_sources,
       [{{'file': 'truth/calls.parquet', 'table': 'calls', 'row': call_id::BIGINT}}] AS sources
FROM {parquet_source(truth_calls)} ORDER BY call_id"""


def metrics_sql(numbers: Path, truth_numbers: Path, use_lists: bool) -> str:
    """One row: listed and unlisted attorney numbers called and found, candidates, and
    listed numbers that are not attorneys', from an audit's ``numbers`` against the truth."""
    kinds = ", ".join(quote_literal(k) for k in ATTORNEY_KINDS)
    # Without lists nothing is "listed": every attorney number must come from its calls.
    listed = "(in_dir OR in_reg)" if use_lists else "false"
    return f"""
WITH t AS (SELECT * FROM {parquet_source(truth_numbers)}),
n AS (SELECT number, classification FROM {parquet_source(numbers)}),
j AS (SELECT n.*, t.kind, coalesce(t.in_directory, false) AS in_dir,
             coalesce(t.in_registry, false) AS in_reg, t.kind IN ({kinds}) AS attorney
      FROM n LEFT JOIN t USING (number))
SELECT
  count(*) FILTER (WHERE attorney AND {listed}) AS listed_called,
  count(*) FILTER (WHERE attorney AND {listed}
                   AND classification IN ('registered', 'directory_attorney')) AS listed_found,
  count(*) FILTER (WHERE attorney AND NOT {listed}) AS unlisted_called,
  count(*) FILTER (WHERE attorney AND NOT {listed}
                   AND classification = 'candidate') AS unlisted_found,
  count(*) FILTER (WHERE classification = 'candidate') AS candidates,
  count(*) FILTER (WHERE NOT attorney AND classification IN
                   ('registered', 'directory_attorney')) AS listed_non_attorneys
FROM j"""


def false_candidates_sql(numbers: Path, truth_numbers: Path) -> str:
    """(true kind, count) of the candidates that are no attorney's, most first."""
    return f"""
SELECT coalesce(t.kind, '(unknown)'), count(*)
FROM {parquet_source(numbers)} n
LEFT JOIN {parquet_source(truth_numbers)} t USING (number)
WHERE n.classification = 'candidate' AND coalesce(t.kind, '') NOT IN
      ({", ".join(quote_literal(k) for k in ATTORNEY_KINDS)})
GROUP BY 1 ORDER BY 2 DESC"""


def truth_counts_sql(
    truth_calls: Path, truth_numbers: Path, zones: dict[str, str], facility_col: str | None
) -> str:
    """Truth restricted to listed attorney numbers: recorded calls and registry violations."""
    kinds = ", ".join(quote_literal(k) for k in ATTORNEY_KINDS)
    zone_rows = ", ".join(f"({quote_literal(f)}, {quote_literal(z)})" for f, z in zones.items())
    zone_cte = (
        f"z(facility, zone) AS (VALUES {zone_rows})"
        if zones
        else "z AS (SELECT NULL::VARCHAR AS facility, NULL::VARCHAR AS zone WHERE false)"
    )
    return f"""
WITH {zone_cte},
t AS (SELECT * FROM {parquet_source(truth_numbers)}
      WHERE kind IN ({kinds}) AND (coalesce(in_directory, false) OR coalesce(in_registry, false))),
c AS (SELECT c.*, t.in_registry, t.registered_from, t.registered_until,
             {("t." + facility_col) if facility_col else "NULL::VARCHAR"} AS registry_facility,
             CAST(CASE WHEN z.zone IS NULL THEN c.start_utc
                       ELSE timezone(z.zone, c.start_utc AT TIME ZONE 'UTC') END AS DATE) AS day
      FROM {parquet_source(truth_calls)} c JOIN t USING (number)
      LEFT JOIN z USING (facility))
SELECT count(*) AS privileged_calls,
       count(*) FILTER (WHERE recorded) AS privileged_calls_recorded,
       count(*) FILTER (WHERE recorded AND in_registry AND day >= registered_from
                        AND (registered_until IS NULL OR day < registered_until)
                        AND (registry_facility IS NULL OR registry_facility = facility))
           AS registry_violations
FROM c"""
