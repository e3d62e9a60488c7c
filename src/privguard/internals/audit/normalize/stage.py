"""Pure SQL for the normalize staging pass and the queries that read it back.

The staging file holds every normalized field except the final ``start_utc`` of
tables whose zone is still to be inferred: it keeps the wall-clock ``local_ts``,
a row's fixed UTC time when one is known (``utc_fixed``: epoch, an offset), and
the row's IANA zone when the row or table names one (``row_zone``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from privguard.internals.audit.normalize import sql as nsql
from privguard.internals.audit.sql import parquet_source, quote_literal

ROW_KEY_SHIFT = 1 << 40  # row_key = table_id * 2**40 + src_row: unique and ordered


def _hints_values(tables: dict[int, dict[str, Any]]) -> str:
    rows = []
    for t, e in sorted(tables.items()):
        zone = quote_literal(e["hint_zone"]) if e["hint_zone"] else "NULL"
        off = str(int(e["hint_offset"])) if e["hint_offset"] is not None else "NULL"
        method = quote_literal(e["hint_method"])
        rows.append(f"({int(t)}, {zone}, {off}, {method}, {quote_literal(e['duration_unit'])})")
    return (
        f"(SELECT * FROM (VALUES {', '.join(rows)}) "
        "v(table_id, hint_zone, hint_offset, hint_method, unit))"
    )


def _local_ts_case(formats: dict[int, list[str]]) -> str:
    groups: dict[tuple[str, ...], list[int]] = {}
    for t, f in formats.items():
        groups.setdefault(tuple(f), []).append(int(t))
    whens = [
        f"WHEN i.table_id IN ({', '.join(map(str, sorted(ids)))}) "
        f"THEN {nsql.local_ts(list(f), 'i.pg_clean', cleaned=True)}"
        for f, ids in sorted(groups.items(), key=lambda kv: min(kv[1]))
    ]
    return f"CASE {' '.join(whens)} ELSE {nsql.local_ts([], 'i.pg_clean', cleaned=True)} END"


def stage_sql(source: str, tables: dict[int, dict[str, Any]], formats: dict[int, list[str]]) -> str:
    """Every ingested row normalized, except the zone of tables still to be inferred."""
    local = _local_ts_case(formats)
    # Computed once per row in layers (the upper-cased start, then its cleaned text and
    # offset, then the parsed time); the outer select reads them several times.
    str_off = "i.str_off"
    offset = f"coalesce({str_off}, z.zone_offset, h.hint_offset)"
    epoch = "i.epoch_utc"
    prefix = nsql.facility(
        r"regexp_extract(upper(trim(inmate_account)), '^([A-Z0-9]*[A-Z][A-Z0-9]*)[-_:/]', 1)"
    )
    # Facility and account depend only on the (facility, account) text pair: the regexes run
    # once per distinct pair (thousands), not per row (millions), and rows join the result.
    accounts = f"""(SELECT facility AS f_raw, inmate_account AS a_raw,
                  coalesce({nsql.facility("facility")}, {prefix}) AS facility,
                  {prefix} AS account_prefix,
                  {nsql.inmate_account("inmate_account", "facility")} AS inmate_account
           FROM (SELECT DISTINCT facility, inmate_account FROM {source}))"""
    method = (
        f"CASE WHEN {epoch} IS NOT NULL THEN 'epoch' WHEN {str_off} IS NOT NULL THEN 'offset' "
        "WHEN z.zone_offset IS NOT NULL OR z.zone_iana IS NOT NULL THEN 'column' "
        "WHEN h.hint_offset IS NOT NULL OR h.hint_zone IS NOT NULL THEN h.hint_method END"
    )
    return f"""
    SELECT CAST(i.table_id AS BIGINT) * {ROW_KEY_SHIFT} + i.src_row AS row_key,
           CAST(i.table_id AS INTEGER) AS table_id, i.src_file, i.src_table,
           CAST(i.src_row AS BIGINT) AS src_row,
           a.facility, a.account_prefix, a.inmate_account,
           nullif(trim(i.inmate_name), '') AS inmate_name,
           n.e164 AS dialed_number, i.dialed_number AS number_raw,
           n.status AS number_status, n.extension, n.number_key,
           local_ts,
           coalesce({epoch}, local_ts - to_minutes(CAST({offset} AS BIGINT))) AS utc_fixed,
           CASE WHEN z.zone_offset IS NULL THEN coalesce(z.zone_iana, h.hint_zone) END AS row_zone,
           {method} AS row_zone_method,
           {nsql.duration_seconds("h.unit", "i.duration")} AS duration_s,
           coalesce({nsql.duration_rounded("h.unit", "i.duration")}, false) AS duration_rounded,
           st.completed,
           {nsql.recorded("i.recorded", "i.recording_ref")} AS recorded,
           nullif(trim(i.recording_ref), '') AS recording_ref,
           nullif(trim(i.source_call_id), '') AS source_call_id,
           i.start AS start_raw, i.duration AS duration_raw
    FROM (SELECT *, {nsql.offset_minutes("i.off_txt")} AS str_off, {local} AS local_ts
          FROM (SELECT *, {nsql.epoch_utc("i.start")} AS epoch_utc,
                       {nsql.clean_upper_start("i.pg_upper")} AS pg_clean,
                       {nsql.offset_text("i.pg_upper", upper=True)} AS off_txt
                FROM (SELECT *, upper(trim(i.start)) AS pg_upper FROM {source} i) i) i) i
    LEFT JOIN {accounts} a
      ON a.f_raw IS NOT DISTINCT FROM i.facility AND a.a_raw IS NOT DISTINCT FROM i.inmate_account
    LEFT JOIN (SELECT status AS st_raw, {nsql.completed("status")} AS completed
               FROM (SELECT DISTINCT status FROM {source})) st
      ON st.st_raw IS NOT DISTINCT FROM i.status
    LEFT JOIN _pg_numbers n ON n.raw IS NOT DISTINCT FROM i.dialed_number
    LEFT JOIN _pg_zones z ON z.zone_raw = i.start_zone
    LEFT JOIN {_hints_values(tables)} h ON h.table_id = i.table_id"""


# Neither a number to match on nor a time to place it: such a row cannot be a call (issue 11).
JUNK = "(number_key IS NULL AND local_ts IS NULL AND utc_fixed IS NULL)"
SET_ASIDE_REASON = "no usable dialed number and no readable start time: not a call"
SET_ASIDE_ORDER = 'file, "table", row'


def final_sql(stage: str) -> str:
    """Every staged row with its UTC start (the table zones of ``_pg_table_zones`` applied)
    and its completion, stated or inferred (:func:`nsql.completion`)."""
    value, how = nsql.completion("s.completed")
    return (
        f"SELECT s.* REPLACE ({value} AS completed), {how} AS completed_from, "
        f"{utc_expr()} AS start_utc "
        f"FROM {stage} s LEFT JOIN _pg_table_zones z USING (table_id)"
    )


def kept_sql(final: str, columns: str, low: int | None = None, high: int | None = None) -> str:
    """The rows that may be calls, in row order: what ``normalized.parquet`` holds; with
    ``low``/``high``, only those with ``low <= row_key < high`` (one part of it)."""
    where = f"NOT {JUNK}"
    if low is not None:
        where += f" AND row_key >= {int(low)}"
    if high is not None:
        where += f" AND row_key < {int(high)}"
    return f"SELECT {columns} FROM {final} WHERE {where} ORDER BY row_key"


def kept_blocks_sql(final: str, block: int) -> str:
    """Kept rows per block of ``block`` consecutive row keys, in key order (a rank histogram)."""
    return (
        f"SELECT row_key // {int(block)} AS b, count(*) FROM {final} "
        f"WHERE NOT {JUNK} GROUP BY b ORDER BY b"
    )


def cut_keys_sql(final: str, block: int, wanted: list[tuple[int, int]]) -> str:
    """(block, rank, row_key) of the kept row at each 0-based (block, rank) of ``wanted``."""
    values = ", ".join(f"({int(b)}, {int(r)})" for b, r in wanted)
    ranges = " OR ".join(
        f"(row_key >= {int(b) * int(block)} AND row_key < {(int(b) + 1) * int(block)})"
        for b, _ in wanted
    )
    return f"""
    SELECT k.b, k.r, k.row_key FROM (
        SELECT row_key // {int(block)} AS b, row_key,
               row_number() OVER (PARTITION BY row_key // {int(block)} ORDER BY row_key) - 1 AS r
        FROM {final} WHERE NOT {JUNK} AND ({ranges})) k
    JOIN (VALUES {values}) w(b, r) ON w.b = k.b AND w.r = k.r"""


def parts_union_sql(parts: Sequence[Path], columns: Sequence[tuple[str, str, bool]]) -> str:
    """Every row of ``parts`` in file order: one single-file scan per part (order kept).

    ``columns`` is (name, type, nullable) in order. The engine writes a column REQUIRED
    when it knows it holds no NULL, and parts often hold none where the one sort could
    not know it: a last branch of no rows gives each nullable column a NULL constant
    (and each other column a non-NULL one) so the written schema is the sort's."""
    scans = [f"SELECT * FROM {parquet_source(p)}" for p in parts]
    typed = ", ".join(
        f'CAST(NULL AS {t}) AS "{n}"' if nullable else f'{_non_null(t)} AS "{n}"'
        for n, t, nullable in columns
    )
    return " UNION ALL ".join([*scans, f"SELECT {typed} FROM range(0)"])


def constant_types_ok(types: Sequence[str]) -> bool:
    """Whether :func:`parts_union_sql` can write a non-NULL constant of every type."""
    return all(_non_null(t) is not None for t in types)


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _non_null(t: str) -> str | None:
    u = t.upper()
    if u == "VARCHAR":
        return "''"
    if u == "BOOLEAN":
        return "false"
    if u.startswith(("TIMESTAMP", "DATE")):
        return f"CAST(TIMESTAMP '2000-01-01' AS {t})"
    if u.lstrip("U").startswith(_NUMERIC):
        return f"CAST(0 AS {t})"
    return None


def parquet_nullable_sql(path: Path) -> str:
    """(name, repetition type) of every column of the Parquet file ``path``, the root first."""
    return f"SELECT name, repetition_type FROM parquet_schema({quote_literal(str(path))})"


def set_aside_sql(final: str) -> str:
    """The rows that cannot be calls, with provenance, the reason and their raw values."""
    return f"""
    SELECT src_file AS file, src_table AS "table", src_row AS row,
           {quote_literal(SET_ASIDE_REASON)} AS reason,
           number_raw AS dialed_number, start_raw AS start, duration_raw AS duration
    FROM {final} WHERE {JUNK}"""


def utc_expr(alias: str = "s", table_zone: str = "z.zone") -> str:
    """The UTC start of a staged row given the table zones known so far."""
    return (
        f"coalesce({alias}.utc_fixed, "
        f"{nsql.to_utc(f'{alias}.local_ts', f'coalesce({alias}.row_zone, {table_zone})')})"
    )


def known_utc_sql(stage: str) -> str:
    """Rows whose UTC start is known (given or already inferred): the evidence for inference."""
    return f"""
    SELECT facility, inmate_account, number_key, utc FROM (
        SELECT s.facility, s.inmate_account, s.number_key, {utc_expr()} AS utc
        FROM {stage} s LEFT JOIN _pg_table_zones z USING (table_id))
    WHERE utc IS NOT NULL AND number_key IS NOT NULL"""


def unresolved_tables_sql(stage: str) -> str:
    """Tables holding rows with a wall-clock time and no zone: their zone must be inferred."""
    return f"""
    SELECT DISTINCT table_id FROM {stage}
    WHERE local_ts IS NOT NULL AND utc_fixed IS NULL AND row_zone IS NULL ORDER BY table_id"""


def table_report_sql(stage: str) -> str:
    """Per table: rows per zone method, unreadable starts, invalid numbers, missing durations,
    rows set aside."""
    return f"""
    SELECT table_id, list(struct_pack(m := m, n := n) ORDER BY m), sum(unparsed),
           sum(invalid), sum(dmissing), sum(junk)
    FROM (SELECT table_id, coalesce(row_zone_method, 'inferred') AS m, count(*) AS n,
                 count(*) FILTER (local_ts IS NULL AND utc_fixed IS NULL AND NOT {JUNK}) AS unparsed,
                 count(*) FILTER (number_status <> 'valid') AS invalid,
                 count(*) FILTER (duration_s IS NULL) AS dmissing,
                 count(*) FILTER ({JUNK}) AS junk
          FROM {stage} GROUP BY table_id, m)
    GROUP BY table_id ORDER BY table_id"""
