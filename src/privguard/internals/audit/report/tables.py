"""The exported tables: their SQL, keys and plain-language descriptions (one spec for all
formats: CSV, XLSX, Parquet, SQLite and the Datasette metadata)."""

from __future__ import annotations

from dataclasses import dataclass

from . import sql


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # SQLite type: TEXT, INTEGER, REAL
    description: str
    references: str | None = None  # "table(column)" for a foreign key
    # "timestamp": text "YYYY-MM-DD HH:MM:SS" (CSV, SQLite) written as a date cell in XLSX
    xlsx_as: str | None = None


@dataclass(frozen=True)
class ExportTable:
    name: str
    title: str
    description: str
    query: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[str, ...] = ()
    sort_desc: str | None = None
    # For the big tables: the ORDER BY that keeps ``query``'s row order when DuckDB writes
    # the CSV itself (an ORDER BY inside a subquery is not kept). None: Python writes it.
    engine_csv_order: str | None = None
    # Text columns indexed for full-text search in findings.db (an FTS5 table
    # "<name>_fts" that Datasette finds and offers as a search box).
    searchable: tuple[str, ...] = ()


_COUNTS = (
    Column("calls", "INTEGER", "calls to attorney numbers, attempts included"),
    Column("completed", "INTEGER", "of which completed (connected)"),
    Column(
        "recorded", "INTEGER", "of which recorded (shown, or inferred from the facility's practice)"
    ),
    Column("violations", "INTEGER", "recorded while the number was registered do-not-record"),
)
# Beside the counts of attorney numbers, facilities and months (report.sql.counts_cols).
_COMPLETION = (
    Column("completion_unknown", "INTEGER", "calls no record says were completed or not"),
    Column(
        "completion_inferred",
        "INTEGER",
        "calls whose completion was inferred (duration, billed minutes, recording), not stated",
    ),
)


def export_tables(pseudonymize: bool) -> list[ExportTable]:
    """Every exported table, in dependency order (referenced tables first)."""
    hidden = " (pseudonym)" if pseudonymize else ""
    return [
        ExportTable(
            "attorney_numbers", "Attorney numbers",
            "Every number classified as an attorney's, with its evidence and call counts.",
            sql.attorney_numbers_sql(),
            (
                Column("number", "TEXT", "the attorney number, E.164 (+country code)"),
                Column("attorney_name", "TEXT", "attorney or office"),
                Column("classification", "TEXT", "registered, directory_attorney or confirmed"),
                Column("evidence", "TEXT", "why the number is an attorney's"),
                Column("evidence_file", "TEXT", "file the evidence comes from"),
                Column("registered_from", "TEXT", "date added to the do-not-record registry"),
                Column("registered_until", "TEXT", "date removed from the registry, if ever"),
                *_COUNTS,
                *_COMPLETION,
                Column("inmates", "INTEGER", "distinct inmates who called it"),
            ),
            ("number",), sort_desc="recorded",
            searchable=("number", "attorney_name", "evidence", "evidence_file"),
        ),
        ExportTable(
            "facilities", "Facilities",
            "Calls to attorney numbers per facility, with the facility's local clock when known.",
            sql.by_facility_sql(),
            (Column("facility", "TEXT", "facility code"),
             Column("zone", "TEXT", "the facility's local time zone, if known"), *_COUNTS,
             *_COMPLETION),
            ("facility",), sort_desc="recorded", searchable=("facility", "zone"),
        ),
        ExportTable(
            "privileged_calls", "Calls to attorney numbers",
            "One row per distinct call to an attorney number, with its provenance.",
            sql.privileged_calls_export_sql(),
            (
                Column("call_id", "INTEGER", "call identifier (calls.parquet)"),
                Column("number", "TEXT", "attorney number called", "attorney_numbers(number)"),
                Column("attorney_name", "TEXT", "attorney or office"),
                Column("classification", "TEXT", "evidence class of the number"),
                Column("facility", "TEXT", "facility the call was made from", "facilities(facility)"),
                Column("inmate_name", "TEXT", "inmate name" + hidden),
                Column("inmate_account", "TEXT", "inmate account" + hidden),
                Column("start_utc", "TEXT", "start of the call, UTC", xlsx_as="timestamp"),
                Column("start_local", "TEXT", "start of the call, facility local time", xlsx_as="timestamp"),
                Column("local_zone", "TEXT", "the facility's time zone"),
                Column("duration_s", "INTEGER", "duration in seconds"),
                Column("completed", "INTEGER", "1 if the call was connected"),
                Column("recorded", "INTEGER", "1 if recorded: shown in the records or inferred (next column)"),
                Column("recorded_from", "TEXT", "how recording is known: recording reference, recorded flag, or facility practice (inferred); empty if unknown"),
                Column("registered_then", "INTEGER", "1 if the number was registered that day"),
                Column("registry_violation", "INTEGER", "1 if recorded although registered that day"),
                Column("recording_ref", "TEXT", "the recording's reference in the records"),
                Column("sources", "TEXT", "source rows as file:table:row, separated by ;"),
            ),
            ("call_id",), indexes=("number", "facility", "start_utc", "inmate_account"),
            engine_csv_order="call_id",
            searchable=("number", "attorney_name", "facility", "inmate_name", "inmate_account"),
        ),
        ExportTable(
            "by_month", "Per month",
            "Calls to attorney numbers per calendar month (UTC).",
            sql.by_month_sql(),
            (Column("month", "TEXT", "YYYY-MM"), *_COUNTS, *_COMPLETION),
            ("month",),
        ),
        ExportTable(
            "by_inmate", "Per inmate",
            "Calls to attorney numbers per inmate" + hidden + ".",
            sql.by_inmate_export_sql(),
            (
                Column("facility", "TEXT", "facility code", "facilities(facility)"),
                Column("inmate_account", "TEXT", "inmate account" + hidden),
                Column("inmate_name", "TEXT", "inmate name" + hidden),
                *_COUNTS,
            ),
            ("facility", "inmate_account"), sort_desc="recorded",
            searchable=("facility", "inmate_account", "inmate_name"),
        ),
        ExportTable(
            "candidates", "Numbers awaiting review",
            "Numbers whose calling pattern resembles an attorney's; not counted as privileged "
            "until confirmed." + (" Shown as pseudonyms." if pseudonymize else ""),
            sql.candidates_sql(pseudonymize),
            (
                Column("number", "TEXT", "the number" + hidden),
                Column("score", "REAL", "pattern score, 0 to 1"),
                Column("evidence", "TEXT", "the features behind the score"),
                Column("calls", "INTEGER", "calls to the number"),
                Column("recorded", "INTEGER", "of which recorded"),
                Column("inmates", "INTEGER", "distinct inmates who called it"),
            ),
            ("number",), sort_desc="score",
        ),
    ]  # fmt: skip
