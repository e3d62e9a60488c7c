"""Pure SQL builders for the report stage: every function returns SQL text.

The heavy work (the join of the call table with the attorney numbers and the
registry) runs once, into a temp table ``pg_privileged`` that holds only the
privileged calls; every summary, chart, letter and export reads from that.
"""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.pseudonyms import pseudonym_sql
from privguard.internals.audit.schema import ATTORNEY_CLASSES
from privguard.internals.audit.sql import (
    by_inmate_sql,
    copy_parquet_sql,
    csv_safe_sql,
    parquet_source,
    quote_ident,
    quote_literal,
)
from privguard.internals.common.classes import RECORDING_SOURCES

_ATTORNEY = ", ".join(quote_literal(c) for c in ATTORNEY_CLASSES)


def views_sql(paths: AuditPaths, *, has_registry: bool, flags_recording: bool = True) -> list[str]:
    """Views over the audit outputs: ``pg_calls``, ``pg_numbers``, ``pg_registry``, ``pg_flags``.

    ``flags_recording``: the flags file has ``recorded`` and ``recorded_from``. An audit
    made before recording was inferred from a facility's practice has neither: its view
    then gives each call's recording as the records state it (nothing inferred), with the
    words findings would use for it.
    """
    registry = (
        f"SELECT number, CAST(registered_from AS DATE) AS registered_from, "
        f"CAST(registered_until AS DATE) AS registered_until, facility "
        f"FROM {parquet_source(paths.registry)}"
        if has_registry
        else "SELECT NULL::VARCHAR AS number, NULL::DATE AS registered_from, "
        "NULL::DATE AS registered_until, NULL::VARCHAR AS facility WHERE false"
    )
    return [
        f"CREATE OR REPLACE TEMP VIEW pg_calls AS SELECT * FROM {parquet_source(paths.calls)}",
        f"CREATE OR REPLACE TEMP VIEW pg_numbers AS SELECT * FROM {parquet_source(paths.numbers)}",
        f"CREATE OR REPLACE TEMP VIEW pg_registry AS {registry}",
        "CREATE OR REPLACE TEMP VIEW pg_flags AS "
        + (
            f"SELECT * FROM {parquet_source(paths.flags)}"
            if flags_recording
            else _older_flags(paths)
        ),
    ]


def _older_flags(paths: AuditPaths) -> str:
    """A flags file without ``recorded`` / ``recorded_from``, completed from the call table:
    shown by a recording reference, else by a recorded flag, else unknown (never inferred)."""
    ref, flag, _ = (quote_literal(s) for s in RECORDING_SOURCES)
    return (
        "SELECT f.call_id, f.registered_at_call, f.registry_violation, c.recorded, "
        f"CASE WHEN c.recording_ref IS NOT NULL THEN {ref} "
        f"WHEN c.recorded IS NOT NULL THEN {flag} END AS recorded_from "
        f"FROM {parquet_source(paths.flags)} f "
        f"JOIN {parquet_source(paths.calls)} c ON c.call_id = f.call_id"
    )


def zones_table_sql() -> str:
    """The (file, table) -> local zone table, filled from normalize_report.json."""
    return "CREATE OR REPLACE TEMP TABLE pg_table_zone (file VARCHAR, tbl VARCHAR, zone VARCHAR)"


def privileged_sql() -> str:
    """Materialize the privileged calls with registry status at call time.

    The status and the recording (shown, or inferred from the facility's practice, with
    ``recorded_from`` saying which) are the ones findings decided (``pg_flags``, from
    ``WORK/privileged_flags.parquet``): the report never re-derives them, so its counts and
    the summary's agree by construction.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE pg_privileged AS
SELECT c.call_id, c.dialed_number AS number, n.attorney_name, n.classification,
       c.facility, c.inmate_name, CAST(c.inmate_account AS VARCHAR) AS inmate_account,
       c.start_utc, c.duration_s, c.completed, c.completed_from,
       coalesce(f.recorded, c.recorded) AS recorded, f.recorded_from, c.recording_ref,
       c.sources, coalesce(f.registered_at_call, false) AS registered_then
FROM pg_calls c JOIN pg_numbers n ON n.number = c.dialed_number
LEFT JOIN pg_flags f ON f.call_id = c.call_id
WHERE n.classification IN ({_ATTORNEY})
ORDER BY c.call_id
"""


def facility_zone_sql(clocks: Path | None = None) -> str:
    """Each facility's local zone: the most common zone among the source tables of its
    privileged calls (tables kept in UTC say nothing about the facility's clock); failing
    that, the IANA zone identify inferred for the facility (``facility_clocks.parquet``)."""
    fallback = (
        f"UNION ALL SELECT facility, zone, 0, 2 FROM {parquet_source(clocks)} "
        "WHERE zone IS NOT NULL"
        if clocks
        else ""
    )
    return f"""
CREATE OR REPLACE TEMP TABLE pg_facility_zone AS
WITH src AS (
  SELECT p.facility, s.file AS file, s."table" AS tbl
  FROM pg_privileged p, UNNEST(p.sources) AS u(s)
), z AS (
  SELECT src.facility, t.zone, count(*) AS n
  FROM src JOIN pg_table_zone t ON t.file = src.file AND t.tbl = src.tbl
  WHERE t.zone IS NOT NULL AND upper(t.zone) NOT IN ('UTC', 'ETC/UTC')
  GROUP BY ALL
), ranked AS (
  SELECT facility, zone, n, 1 AS pref FROM z
  {fallback}
)
SELECT facility, zone FROM ranked
QUALIFY row_number() OVER (PARTITION BY facility ORDER BY pref, n DESC, zone) = 1
"""


def counts_cols(prefix: str = "") -> str:
    """The attempt / completed / recorded / violation counts over ``pg_privileged``."""
    p = prefix
    return (
        f"count(*) AS calls, count(*) FILTER (WHERE {p}completed) AS completed, "
        f"count(*) FILTER (WHERE {p}recorded) AS recorded, "
        f"count(*) FILTER (WHERE {p}recorded AND {p}registered_then) AS violations, "
        f"count(*) FILTER (WHERE {p}completed IS NULL) AS completion_unknown, "
        f"count(*) FILTER (WHERE {p}completed_from <> 'status') AS completion_inferred"
    )


def totals_sql() -> str:
    """One row: the counts over all privileged calls."""
    return f"SELECT {counts_cols()} FROM pg_privileged"


def by_month_sql() -> str:
    """Counts per calendar month (UTC) of privileged calls."""
    return (
        f"SELECT strftime(start_utc, '%Y-%m') AS month, {counts_cols()} "
        "FROM pg_privileged WHERE start_utc IS NOT NULL GROUP BY month ORDER BY month"
    )


def by_facility_sql() -> str:
    """Counts per facility, with the facility's local zone when known."""
    return (
        f"SELECT coalesce(p.facility, '(unknown)') AS facility, any_value(z.zone) AS zone, "
        f"{counts_cols('p.')} FROM pg_privileged p "
        "LEFT JOIN pg_facility_zone z ON z.facility = p.facility "
        "GROUP BY 1 ORDER BY recorded DESC, calls DESC, facility"
    )


def attorney_numbers_sql() -> str:
    """Every attorney number with its evidence and its call counts (0 if never called)."""
    return f"""
SELECT n.number, n.attorney_name, n.classification, n.evidence,
       CAST(n.evidence_file AS VARCHAR) AS evidence_file,
       CAST(n.registered_from AS DATE) AS registered_from,
       CAST(n.registered_until AS DATE) AS registered_until,
       coalesce(a.calls, 0) AS calls, coalesce(a.completed, 0) AS completed,
       coalesce(a.recorded, 0) AS recorded, coalesce(a.violations, 0) AS violations,
       coalesce(a.completion_unknown, 0) AS completion_unknown,
       coalesce(a.completion_inferred, 0) AS completion_inferred,
       coalesce(a.inmates, 0) AS inmates
FROM pg_numbers n LEFT JOIN (
  SELECT number, {counts_cols()},
         count(DISTINCT coalesce(inmate_account, inmate_name)) AS inmates
  FROM pg_privileged GROUP BY number
) a ON a.number = n.number
WHERE n.classification IN ({_ATTORNEY})
ORDER BY recorded DESC, calls DESC, n.number
"""


def candidates_sql(pseudonymize: bool) -> str:
    """Candidate numbers awaiting review, best score first, with their call counts."""
    number = pseudonym_sql("number", "n.number") if pseudonymize else "n.number"
    return f"""
SELECT {number} AS number, CAST(n.score AS DOUBLE) AS score, n.evidence,
       coalesce(c.calls, 0) AS calls, coalesce(c.recorded, 0) AS recorded,
       coalesce(c.inmates, 0) AS inmates
FROM pg_numbers n LEFT JOIN (
  SELECT dialed_number AS number, count(*) AS calls, count(*) FILTER (WHERE recorded) AS recorded,
         count(DISTINCT coalesce(CAST(inmate_account AS VARCHAR), inmate_name)) AS inmates
  FROM pg_calls WHERE dialed_number IN (
    SELECT number FROM pg_numbers WHERE classification = 'candidate')
  GROUP BY 1
) c ON c.number = n.number
WHERE n.classification = 'candidate'
ORDER BY score DESC NULLS LAST, n.number
"""


def classes_sql() -> str:
    """How many called numbers fall in each evidence class."""
    return "SELECT classification, count(*) AS numbers FROM pg_numbers GROUP BY 1 ORDER BY 1"


def privileged_export_sql(pseudonymize: bool) -> str:
    """The privileged calls as shared: one row per call, inmates pseudonymized if asked,
    times in UTC and in the facility's local zone when known, provenance as text."""
    name = pseudonym_sql("name", "p.inmate_name") if pseudonymize else "p.inmate_name"
    account = pseudonym_sql("account", "p.inmate_account") if pseudonymize else "p.inmate_account"
    return f"""
SELECT p.call_id, p.number, p.attorney_name, p.classification, p.facility,
       {name} AS inmate_name, {account} AS inmate_account,
       strftime(p.start_utc, '%Y-%m-%d %H:%M:%S') AS start_utc,
       strftime(timezone(z.zone, p.start_utc AT TIME ZONE 'UTC'), '%Y-%m-%d %H:%M:%S')
         AS start_local,
       z.zone AS local_zone, p.duration_s, p.completed, p.recorded, p.recorded_from,
       p.registered_then,
       coalesce(p.recorded AND p.registered_then, false) AS registry_violation,
       p.recording_ref,
       array_to_string(list_transform(p.sources,
         lambda s: s.file || ':' || s."table" || ':' || CAST(s."row" AS VARCHAR)), '; ') AS sources
FROM pg_privileged p LEFT JOIN pg_facility_zone z ON z.facility = p.facility
ORDER BY p.call_id
"""


LETTER_COLUMNS = (
    "call_id", "number", "attorney_name", "facility", "inmate_name", "inmate_account",
    "start_utc", "local_zone", "duration_s", "completed", "registered_then", "recording_ref",
    "recorded_from",
)  # fmt: skip


def privileged_calls_export_sql() -> str:
    """The ``privileged_calls`` export: every row of ``pg_export_calls`` by call."""
    return "SELECT * FROM pg_export_calls ORDER BY call_id"


def by_inmate_export_sql() -> str:
    """The ``by_inmate`` export: calls to attorney numbers per facility and inmate, built as
    findings builds ``restricted/findings/by_inmate.csv`` (people pseudonymized here)."""
    return by_inmate_sql("pg_export_calls", ordered=True)


def letter_pairs_sql() -> str:
    """Each (attorney name, number) pair of the recorded privileged calls, with its calls."""
    return (
        "SELECT attorney_name, number, count(*) AS calls FROM pg_export_calls "
        "WHERE recorded GROUP BY ALL ORDER BY attorney_name NULLS FIRST, number"
    )


def letter_links_sql() -> str:
    """How each number with recorded privileged calls was linked to its attorney."""
    return (
        "SELECT number, classification, evidence, CAST(evidence_file AS VARCHAR) "
        "FROM pg_numbers WHERE number IN (SELECT number FROM pg_export_calls WHERE recorded) "
        "ORDER BY number"
    )


def letter_calls_by_recipient_sql(recipients: str) -> str:
    """The recorded calls with their recipient (from the view ``recipients``:
    attorney_name, number, recipient), in letter order: by recipient, then by UTC
    start (unknown first), then call id. Has the letters' columns plus ``start_local`` and
    ``sources`` for the per-recipient CSV files."""
    cols = ", ".join(f"c.{c}" for c in (*LETTER_COLUMNS, "start_local", "sources"))
    return (
        f"SELECT r.recipient, {cols} FROM pg_export_calls c JOIN {recipients} r "
        "ON r.attorney_name IS NOT DISTINCT FROM c.attorney_name "
        "AND r.number IS NOT DISTINCT FROM c.number "
        "WHERE c.recorded ORDER BY r.recipient, c.start_utc NULLS FIRST, c.call_id"
    )


def copy_letter_calls_sql(query: str, path: Path, row_group_rows: int = 8192) -> str:
    """``COPY`` of the sorted letter calls to Parquet in small row groups, so each
    recipient's CSV ``COPY`` (a filter on the sorted ``recipient``) reads only the few row
    groups holding that recipient, not ~120 k rows of provenance text each time."""
    return copy_parquet_sql(query, path, row_group_rows=row_group_rows)


def letter_listed_sql(calls: Path, cap: int) -> str:
    """The first ``cap`` calls of each recipient in letter order, with the letters' columns
    only: all the worker processes read (``calls`` from :func:`letter_calls_by_recipient_sql`)."""
    cols = ", ".join(LETTER_COLUMNS)
    return (
        f"SELECT recipient, {cols} FROM {parquet_source(calls)} QUALIFY row_number() OVER "
        "(PARTITION BY recipient ORDER BY start_utc NULLS FIRST, call_id) <= "
        f"{int(cap)} ORDER BY recipient, start_utc NULLS FIRST, call_id"
    )


def letter_summary_sql(calls: Path, pseudonymized: bool) -> str:
    """Per recipient, what its letter states about all its calls: how many, the first and
    last known UTC day, the facilities, how many people in custody (as the letter names
    them: account first when pseudonymized), completed calls, do-not-record calls, the
    numbers, and the calls inferred recorded from the facility's practice."""
    first, second = (
        ("inmate_account", "inmate_name") if pseudonymized else ("inmate_name", "inmate_account")
    )
    return (
        "SELECT recipient, count(*) AS calls, left(min(start_utc), 10) AS first_day, "
        "left(max(start_utc), 10) AS last_day, "
        "list(DISTINCT coalesce(CAST(facility AS VARCHAR), 'unknown')) AS facilities, "
        f"count(DISTINCT coalesce(nullif({first}, ''), nullif({second}, ''), 'unknown')) "
        "AS inmates, "
        "count(*) FILTER (WHERE completed) AS completed, "
        "count(*) FILTER (WHERE registered_then) AS violations, "
        "list(DISTINCT number) AS numbers, "
        "count(*) FILTER (WHERE recorded_from = 'facility practice') AS inferred "
        f"FROM {parquet_source(calls)} GROUP BY recipient ORDER BY recipient"
    )


LETTER_CSV_COLUMNS: list[tuple[str, str]] = [
    ("call_id", "INTEGER"), ("start_local", "TEXT"), ("local_zone", "TEXT"),
    ("start_utc", "TEXT"), ("facility", "TEXT"), ("number", "TEXT"), ("inmate_name", "TEXT"),
    ("inmate_account", "TEXT"), ("duration_s", "INTEGER"), ("completed", "INTEGER"),
    ("registered_then", "INTEGER"), ("recording_ref", "TEXT"), ("recorded_from", "TEXT"),
    ("sources", "TEXT"),
]  # fmt: skip


def letter_csvs_sql(calls: Path, parts: str) -> str:
    """Every recipient's :func:`letter_csv_sql` rows in one query, each with ``pg_part``,
    its recipient's number in ``parts`` (recipient, part), in part then letter order:
    one ``COPY ... PARTITION_BY (pg_part)`` writes all the files."""
    names = ", ".join(f"c.{quote_ident(n)}" for n, _ in LETTER_CSV_COLUMNS)
    query = (
        f"SELECT p.part AS pg_part, {names} FROM {parquet_source(calls)} c "
        f"JOIN {parts} p ON p.recipient = c.recipient"
    )
    columns = [("pg_part", "INTEGER"), *LETTER_CSV_COLUMNS]
    return csv_safe_sql(query, columns, order_by="pg_part, start_utc NULLS FIRST, call_id")


def letter_csv_sql(calls: Path, recipient: str) -> str:
    """One recipient's complete call list for its ``<stem>.csv``, spreadsheet-safe, in letter
    order (``sources`` as text: file:table:row; ...)."""
    names = ", ".join(quote_ident(n) for n, _ in LETTER_CSV_COLUMNS)
    query = (
        f"SELECT {names} FROM {parquet_source(calls)} WHERE recipient = {quote_literal(recipient)}"
    )
    return csv_safe_sql(query, LETTER_CSV_COLUMNS, order_by="start_utc NULLS FIRST, call_id")
