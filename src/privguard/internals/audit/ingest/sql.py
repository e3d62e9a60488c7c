"""SQL text for the ingest stage, built by pure functions (no engine is touched here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from privguard.internals.audit.schema import CANONICAL_FIELDS
from privguard.internals.audit.sql import parquet_source, quote_ident, quote_literal

STAGE_CODEC = "snappy"  # scratch files: fast to write, read once
REC = "__rec"  # optional staging column: the record index, when the reader knows it


def staged_name(i: int) -> str:
    """Safe column name of the i-th source column in a staging file."""
    return f"c{i}"


@dataclass(frozen=True)
class CsvDialect:
    """How to parse one delimited text file."""

    delim: str = ","
    quote: str = '"'
    escape: str = '"'
    header: bool = True
    encoding: str = "utf-8"
    nullstr: str = ""
    allow_quoted_nulls: bool = True
    gzip: bool = False
    null_padding: bool = False  # pad short records with NULL instead of rejecting them
    parallel: bool = True
    buffer_size: int | None = None  # bytes per read buffer; None = DuckDB's (32,000,000)


def read_csv(path: Path, n_columns: int, d: CsvDialect, rejects: str | None) -> str:
    """A strict ``read_csv`` of every column as VARCHAR.

    With ``rejects`` the malformed records are stored in ``<rejects>_errors``; without, they
    are skipped (the same ones: the scan that stored them came first).
    """
    cols = ", ".join(f"{quote_literal(staged_name(i))}: 'VARCHAR'" for i in range(n_columns))
    opts = [
        f"delim={quote_literal(d.delim)}",
        f"quote={quote_literal(d.quote)}",
        f"escape={quote_literal(d.escape)}",
        f"header={'true' if d.header else 'false'}",
        f"nullstr={quote_literal(d.nullstr)}",
        f"allow_quoted_nulls={'true' if d.allow_quoted_nulls else 'false'}",
        f"encoding={quote_literal(d.encoding)}",
        f"compression={quote_literal('gzip' if d.gzip else 'none')}",
        "auto_detect=false",
        "strict_mode=true",
        f"null_padding={'true' if d.null_padding else 'false'}",
        f"columns={{{cols}}}",
    ]
    if not d.parallel:
        opts.append("parallel=false")
    if d.buffer_size:
        opts.append(f"buffer_size={int(d.buffer_size)}")
    if rejects is None:
        opts.append("ignore_errors=true")
    else:
        opts += [
            "store_rejects=true",
            f"rejects_table={quote_literal(rejects + '_errors')}",
            f"rejects_scan={quote_literal(rejects + '_scans')}",
        ]
    return f"read_csv({quote_literal(str(path))}, {', '.join(opts)})"


def count_records(path: Path, n_columns: int, d: CsvDialect, rejects: str | None = None) -> str:
    """The records a strict ``read_csv`` accepts (its rejects stored as in :func:`read_csv`).

    Every column is referenced: DuckDB checks the encoding only of the columns it reads.
    """
    touch = ", ".join(f"count({quote_ident(staged_name(i))})" for i in range(n_columns))
    return f"SELECT count(*), {touch} FROM {read_csv(path, n_columns, d, rejects)}"


def csv_rejects(rejects: str) -> str:
    """One row per rejected record (DuckDB may list several errors for one record).

    ``pos`` is the record's 1-based first byte. DuckDB's ``line_byte_position`` is that byte
    already, except when its raw line starts with the line break before it (after a CRLF or a
    blank line), where it is one less. Adding 1 to every record put a one-character record
    past its own line break, so it took the next record's number.
    """
    return (
        "SELECT line, min(line_byte_position) "
        "+ max(CASE WHEN starts_with(csv_line, chr(10)) THEN 1 ELSE 0 END) AS pos, "
        "first(error_type || ': ' || error_message ORDER BY length(error_message), error_message) AS reason, "
        "any_value(csv_line) AS raw "
        f"FROM {quote_ident(rejects + '_errors')} GROUP BY line ORDER BY line"
    )


def drop_rejects(rejects: str) -> list[str]:
    """Statements that drop the reject tables of one scan."""
    return [
        f"DROP TABLE IF EXISTS {quote_ident(rejects + '_errors')}",
        f"DROP TABLE IF EXISTS {quote_ident(rejects + '_scans')}",
    ]


def _chain(expr: str, pairs: Sequence[tuple[str, str]]) -> str:
    for old, new in pairs:
        expr = f"replace({expr}, {old}, {new})"
    return expr


def unescape_mysql(col: str) -> str:
    """Undo mysqldump backslash escapes; ``\\\\`` was rewritten to ``\\B`` while parsing."""
    pairs = [
        (r"'\n'", "chr(10)"),
        (r"'\r'", "chr(13)"),
        (r"'\t'", "chr(9)"),
        (r"'\0'", "chr(0)"),
        (r"'\Z'", "chr(26)"),
        (r"'\b'", "chr(8)"),
        ("'\\\"'", "'\"'"),
        (r"'\B'", r"'\'"),
    ]
    return f"CASE WHEN contains({col}, '\\') THEN {_chain(col, pairs)} ELSE {col} END"


def unescape_pg(col: str) -> str:
    """Undo PostgreSQL COPY text escapes (each backslash starts exactly one escape)."""
    pairs = [
        (r"'\\'", r"'\B'"),
        (r"'\n'", "chr(10)"),
        (r"'\r'", "chr(13)"),
        (r"'\t'", "chr(9)"),
        (r"'\b'", "chr(8)"),
        (r"'\f'", "chr(12)"),
        (r"'\v'", "chr(11)"),
        (r"'\B'", r"'\'"),
    ]
    return f"CASE WHEN contains({col}, '\\') THEN {_chain(col, pairs)} ELSE {col} END"


def staged_rows(source: str, n_columns: int, unescape: str | None = None) -> str:
    """Staged columns of a ``read_csv`` with their position, undoing a dump's escapes.

    ``row_number() OVER ()`` streams in the reader's order (insertion order is preserved), so
    the position is the index of the accepted record, as ``file_row_number`` is for Parquet.
    """
    return f"({stage_select(source, n_columns, unescape, position=True)})"


def stage_select(
    source: str, n_columns: int, unescape: str | None = None, position: bool = False
) -> str:
    """Select the staged columns from a table expression, undoing a dump's escapes."""
    names = [quote_ident(staged_name(i)) for i in range(n_columns)]
    if unescape == "mysql":
        exprs = [f"{unescape_mysql(n)} AS {n}" for n in names]
    elif unescape == "pg":
        exprs = [f"{unescape_pg(n)} AS {n}" for n in names]
    else:
        exprs = names
    if position:
        exprs = [*exprs, "row_number() OVER () - 1 AS file_row_number"]
    return f"SELECT {', '.join(exprs)} FROM {source}"


def _offset_tree(pos: str, steps: Sequence[tuple[int, int]]) -> str:
    """Nested CASE: how many rejected records precede the accepted row at ``pos``."""
    if not steps:
        return "0"
    mid = len(steps) // 2
    at, count = steps[mid]
    left = _offset_tree(pos, steps[:mid])
    right = _offset_tree(pos, steps[mid + 1 :])
    # Rows at or after ``at`` have at least ``count`` rejects before them.
    right_expr = str(count) if right == "0" else f"greatest({count}, {right})"
    return f"(CASE WHEN {pos} >= {at} THEN {right_expr} ELSE {left} END)"


def src_row_expr(pos: str, steps: Sequence[tuple[int, int]]) -> str:
    """1-based record index of the accepted row at 0-based position ``pos``.

    ``steps`` are ``(accepted rows before the reject, rejects so far)`` in order; rows at
    a position at or after the first value come after that many rejected records.
    """
    if not steps:
        return f"({pos} + 1)"
    return f"({pos} + 1 + {_offset_tree(pos, steps)})"


def constant_text(value: str) -> str:
    """A text constant repeated on every row of a table, typed so Parquet writes it cheaply.

    DuckDB's Parquet writer hashes every string value into the column's dictionary; a
    one-value ENUM arrives already dictionary-encoded. Six such columns cost 0.4 s of a
    2 M-row table's 1.4 s write as VARCHAR and nothing as ENUM. The file stores a plain
    string column either way, so readers see VARCHAR.
    """
    lit = quote_literal(value)
    return f"CAST({lit} AS ENUM({lit}))"


@dataclass(frozen=True)
class FinalPlan:
    """Everything needed to write one ingested table."""

    staging: str  # a table expression over the staging data
    columns: tuple[str, ...]  # source column names, in order (staged as c0, c1, ...)
    mapping: dict[str, tuple[int, ...]]  # canonical -> source column indexes (1 or 2)
    tz_hint: str | None
    duration_unit: str | None
    table_id: int
    file: str
    table: str
    sha256: str
    fmt: str
    row_expr: str  # SQL giving src_row


def final_select(p: FinalPlan) -> str:
    """The ingested table: canonical VARCHAR fields, hints, extras JSON and provenance."""
    out: list[str] = []
    used: set[int] = set()
    for field in CANONICAL_FIELDS:
        idx = p.mapping.get(field, ())
        used.update(idx)
        if not idx:
            expr = "CAST(NULL AS VARCHAR)"
        elif len(idx) == 1:
            expr = quote_ident(staged_name(idx[0]))
        else:
            expr = "concat_ws(' ', " + ", ".join(quote_ident(staged_name(i)) for i in idx) + ")"
            expr = f"NULLIF({expr}, '')"
        out.append(f"{expr} AS {quote_ident(field)}")
    for name, value in (("tz_hint", p.tz_hint), ("duration_unit", p.duration_unit)):
        lit = constant_text(value) if value is not None else "CAST(NULL AS VARCHAR)"
        out.append(f"{lit} AS {name}")
    extras = [i for i in range(len(p.columns)) if i not in used]
    if extras:
        # Concatenated by hand: a third of the cost of json_object() on wide tables. One
        # variadic concat(), not a chain of ||, whose nesting grew with the width until
        # DuckDB's expression depth (1000) refused tables of 335 columns or more.
        parts: list[str] = []
        for k, i in enumerate(extras):
            key = json.dumps(p.columns[i], ensure_ascii=False) + ":"
            parts.append(quote_literal(("," if k else "{") + key))
            parts.append(
                f"coalesce(CAST(to_json({quote_ident(staged_name(i))}) AS VARCHAR), 'null')"
            )
        out.append("concat(" + ", ".join(parts) + ", '}') AS extras")
    else:
        out.append(f"{constant_text('{}')} AS extras")
    out += [
        f"CAST({p.table_id} AS INTEGER) AS table_id",
        f"{constant_text(p.file)} AS src_file",
        f"{constant_text(p.table)} AS src_table",
        f"CAST({p.row_expr} AS BIGINT) AS src_row",
        f"{constant_text(p.sha256)} AS src_sha256",
        f"{constant_text(p.fmt)} AS src_format",
    ]
    return f"SELECT {', '.join(out)} FROM {p.staging}"


def create_temp(name: str, select: str) -> str:
    """Stage a query as a temporary table; its ``rowid`` follows the query's row order."""
    return f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS {select}"


def rows_at(path: Path, positions: Sequence[int]) -> str:
    """``src_row`` of a written table's rows at these 0-based positions, in order."""
    at = ", ".join(str(int(p)) for p in positions)
    return (
        f"SELECT src_row FROM {parquet_source(path, row_numbers=True)} "
        f"WHERE file_row_number IN ({at}) ORDER BY file_row_number"
    )


def rows_except(path: Path, positions: Sequence[int], columns: Sequence[str]) -> str:
    """A written table without its rows at these 0-based positions, in order."""
    at = ", ".join(str(int(p)) for p in positions)
    cols = ", ".join(quote_ident(c) for c in columns)
    return (
        f"SELECT {cols} FROM {parquet_source(path, row_numbers=True)} "
        f"WHERE file_row_number NOT IN ({at}) ORDER BY file_row_number"
    )


def drop_table(name: str) -> str:
    """Drop a staged temporary table."""
    return f"DROP TABLE IF EXISTS {quote_ident(name)}"


def sample(source: str, n_columns: int, limit: int) -> str:
    """The first rows of a staged table, for content sniffing."""
    cols = ", ".join(quote_ident(staged_name(i)) for i in range(n_columns)) or "1"
    return f"SELECT {cols} FROM {source} LIMIT {int(limit)}"


# JSON records: text ``c0`` with its 0-based ``file_row_number``, one per record.
JSON_OBJECT = "(CASE WHEN json_valid(c0) THEN json_type(c0) = 'OBJECT' ELSE false END)"


def json_array_rows(path: Path, gzip: bool) -> str:
    """Each element of a JSON array file as text ``c0``, with its 0-based index."""
    opts = ", compression='gzip'" if gzip else ""
    # row_number() OVER () streams in file order (insertion order is preserved).
    return (
        "SELECT coalesce(CAST(j AS VARCHAR), 'null') AS c0, "
        "row_number() OVER () - 1 AS file_row_number FROM "
        f"read_json({quote_literal(str(path))}, format='array', records=false, "
        f"columns={{'j': 'JSON'}}, maximum_object_size=268435456{opts})"
    )


def json_items(items: str) -> str:
    """Records Python split from a broken array (registered as ``c0``, ``n``)."""
    return f"SELECT c0, n AS file_row_number FROM {quote_ident(items)}"


def json_keys(source: str) -> str:
    """Each distinct key list of the objects, by the first record that has it."""
    return (
        f"SELECT json_keys(c0) AS k, min(file_row_number) AS r FROM {source} "
        f"WHERE {JSON_OBJECT} GROUP BY k ORDER BY r"
    )


def json_fields(source: str, keys: Sequence[str], rec: str) -> str:
    """The objects' values of ``keys`` as staged columns, with the record index."""
    paths = ", ".join(quote_literal('$."' + k.replace('"', '\\"') + '"') for k in keys)
    cols = ", ".join(f"v[{i + 1}] AS {quote_ident(staged_name(i))}" for i in range(len(keys)))
    inner = (
        f"SELECT json_extract_string(c0, [{paths}]) AS v, {rec} AS {REC} "
        f"FROM {source} WHERE {JSON_OBJECT}"
    )
    return f"SELECT {cols}, {REC} FROM ({inner})"


def json_rejects(source: str, rec: str) -> str:
    """Records that are not JSON objects: rec, reason, raw, in record order."""
    return (
        f"SELECT CAST({rec} AS BIGINT) AS rec, "
        "CASE WHEN json_valid(c0) THEN 'not a JSON object' ELSE 'not valid JSON' END AS reason, "
        f"c0 AS raw FROM {source} WHERE NOT {JSON_OBJECT} ORDER BY rec"
    )


def json_objects(source: str) -> str:
    """How many records are JSON objects."""
    return f"SELECT count(*) FROM {source} WHERE {JSON_OBJECT}"


def table_rows(name: str) -> str:
    """Every row of a temporary table, as a table expression."""
    return f"(SELECT * FROM {quote_ident(name)})"


def select_all(source: str) -> str:
    """Every row of a table expression."""
    return f"SELECT * FROM {source}"


def column_names(source: str) -> str:
    """The column names of a table expression, in order (first field of each row)."""
    return f"DESCRIBE SELECT * FROM {source}"


def parquet_staging(path: Path, columns: Sequence[str]) -> str:
    """A Parquet source file as a staging table expression: each of its ``columns`` cast to
    VARCHAR under its staged name, and ``file_row_number`` (no copy: the file is read once,
    when the ingested table is written)."""
    cols = ", ".join(
        f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(staged_name(i))}"
        for i, c in enumerate(columns)
    )
    return f"(SELECT {cols}, file_row_number FROM {parquet_source(path, row_numbers=True)})"


def rejects_csv(parts: Sequence[tuple[str, str, Path]], out: Path) -> str:
    """``COPY`` of every rejected record (``file``, ``table``, ``row``, ``reason``, ``raw``)
    of ``parts`` (file, table, its rejects Parquet) to the CSV ``out``, by part then row."""
    selects = [
        f'SELECT {quote_literal(file)} AS file, {quote_literal(table)} AS "table", '
        f'rec AS "row", reason, raw, {k} AS k FROM {parquet_source(p)}'
        for k, (file, table, p) in enumerate(parts)
    ]
    union = " UNION ALL ".join(selects)
    return (
        f'COPY (SELECT file, "table", "row", reason, raw FROM ({union}) ORDER BY k, "row") '
        f"TO {quote_literal(str(out))} (FORMAT csv, HEADER true)"
    )
