"""Column names shared between stages: the contract each stage reads and writes.

Data flows one way: ingest -> normalize -> dedupe -> identify -> findings -> report.
A stage may read the outputs named here of the stages before it, never after.
"""

from __future__ import annotations

from privguard.internals.common.classes import ATTORNEY_CLASSES as ATTORNEY_CLASSES
from privguard.internals.common.classes import NUMBER_CLASSES as NUMBER_CLASSES

# --- ingest: WORKSPACE/ingested/<table_id>.parquet, one file per source table --------------
# Canonical fields as raw text (VARCHAR), exactly as read; NULL when the table lacks them.
# ``start`` is one raw date-time; when a table splits date and time into two columns,
# ingest joins them as "<date> <time>".
CANONICAL_FIELDS: tuple[str, ...] = (
    "facility",
    "inmate_account",
    "inmate_name",
    "dialed_number",
    "start",
    "start_zone",  # a per-row zone/offset column, when the table has one
    "duration",
    "status",
    "recorded",
    "recording_ref",
    "source_call_id",
)
# Per-table hints, constant within a table (VARCHAR, NULL = unknown / infer):
#   tz_hint        IANA zone or "UTC", from the mapping file or a header such as "start_utc"
#   duration_unit  "seconds" | "minutes" | "hms", from the mapping file, header or content
HINT_FIELDS: tuple[str, ...] = ("tz_hint", "duration_unit")
# Unmapped source columns, kept as a JSON object text {"column": "value", ...}.
EXTRAS = "extras"
# Provenance of every row.
PROVENANCE_FIELDS: tuple[str, ...] = (
    "table_id",  # INTEGER, index into ingest_report.json "tables"
    "src_file",  # path relative to the dump root (archive members: "a.zip/inner/b.csv")
    "src_table",  # file stem, XLSX sheet, or SQL/SQLite table name
    "src_row",  # BIGINT, 1-based index of the record within its table, in order of appearance
    "src_sha256",  # SHA-256 of the file (of the archive member for archived files)
    "src_format",  # csv | tsv | jsonl | parquet | xlsx | sqlite | mysql_dump | pg_dump
)
INGESTED_COLUMNS: tuple[str, ...] = CANONICAL_FIELDS + HINT_FIELDS + (EXTRAS,) + PROVENANCE_FIELDS

# --- normalize: WORKSPACE/normalized.parquet, one row per accepted source row ---------------
NORMALIZED_COLUMNS: tuple[str, ...] = (
    "row_key",  # BIGINT unique per source row
    "table_id",
    "src_file",
    "src_table",
    "src_row",
    "facility",  # normalized facility code
    "inmate_account",  # normalized per facility (prefixes, zero padding)
    "inmate_name",
    "dialed_number",  # E.164 when valid, else NULL
    "number_raw",
    "number_status",  # "valid" or "invalid: <reason>", reasons in common.phones.REASONS
    "number_key",  # the number as dialed, one text however written; dedupe matches on it
    "extension",
    "start_utc",  # TIMESTAMP (UTC, naive)
    "duration_s",  # INTEGER seconds
    "duration_rounded",  # BOOLEAN: the source gave billed (rounded-up) minutes
    "completed",  # BOOLEAN, NULL when unknown
    "completed_from",  # "status", or what it was inferred from (COMPLETION_SOURCES); NULL unknown
    "recorded",  # BOOLEAN, NULL when unknown
    "recording_ref",
    "source_call_id",
)

# --- dedupe: OUT/calls.parquet, one row per real call ----------------------------------------
CALL_COLUMNS: tuple[str, ...] = (
    "call_id",  # BIGINT, deterministic
    "facility",
    "inmate_account",
    "inmate_name",
    "dialed_number",  # E.164, NULL when the number failed validation
    "number_status",  # "valid" when dialed_number is set, else the copies' "invalid: <reason>"
    "start_utc",
    "duration_s",
    "duration_rounded",
    "completed",
    "completed_from",  # "status" when any copy states it, else what it was inferred from
    "recorded",  # true if any copy says so
    "recording_ref",
    "merge_rule",  # which rule merged the cluster ("single" for one copy)
    "n_sources",
    "sources",  # LIST<STRUCT<file VARCHAR, "table" VARCHAR, "row" BIGINT>>
)

# --- identify: OUT/numbers.parquet, one row per called number --------------------------------
# The classes are shared with the prevention wing (common/classes.py).

# --- findings: OUT/summary.json integer keys -------------------------------------------------
SUMMARY_INT_KEYS: tuple[str, ...] = (
    "rows_read",
    "rows_rejected",
    # files that may hold calls but could not be read (the audit is incomplete); the summary
    # also gives bytes_unread and unread_files (file, bytes, reason)
    "files_unread",
    "rows_set_aside",  # read, but neither a usable number nor a start time: not calls
    "calls",
    "calls_to_invalid_numbers",  # calls whose number failed validation (no dialed_number)
    "unique_numbers",
    "inmates",
    "attorney_numbers",
    "privileged_calls",
    "privileged_calls_recorded",  # shown + inferred (findings.settings); each also apart:
    "privileged_calls_recorded_shown",  # a recording reference or a recorded flag shows it
    "privileged_calls_recorded_inferred",  # from the facility's demonstrated practice
    "privileged_calls_recording_unknown",
    "registry_violations",
    "registry_violations_shown",
    "registry_violations_inferred",
    "candidate_numbers",
)
