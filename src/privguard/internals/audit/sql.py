"""Pure helpers for building SQL text. No engine is touched here.

Also the one rule that makes a CSV file safe to open in a spreadsheet (``DANGEROUS``,
:func:`neutralize` in Python, :func:`csv_safe_sql` in SQL): every CSV any stage writes
goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL, doubling embedded quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL, doubling embedded single quotes."""
    return "'" + value.replace("'", "''") + "'"


def parquet_source(
    paths: Path | str | Iterable[Path | str],
    *,
    row_numbers: bool = False,
    union_by_name: bool = False,
) -> str:
    """The one way SQL reads Parquet: a ``read_parquet`` table expression over one path, a
    glob, or a list of paths; ``row_numbers`` adds ``file_row_number`` (0-based position),
    ``union_by_name`` lines files up by column name. Its writing twin is
    :func:`copy_parquet_sql`."""
    options = ", file_row_number=true" if row_numbers else ""
    options += ", union_by_name = true" if union_by_name else ""
    if isinstance(paths, (str, Path)):
        return f"read_parquet({quote_literal(str(paths))}{options})"
    items = ", ".join(quote_literal(str(p)) for p in paths)
    return f"read_parquet([{items}]{options})"


def copy_parquet_sql(
    query: str, path: Path, *, codec: str = "zstd", row_group_rows: int | None = None
) -> str:
    """The one way SQL writes Parquet: ``COPY`` of ``query`` to one file, order kept.
    ``row_group_rows`` makes small row groups (a filter on a sorted column then reads few)."""
    options = f"FORMAT parquet, COMPRESSION {codec}"
    if row_group_rows:
        options += f", ROW_GROUP_SIZE {int(row_group_rows)}"
    return f"COPY ({query}) TO {quote_literal(str(path))} ({options})"


def view_sql(name: str, source: str) -> str:
    """A temporary view ``name`` over the table expression ``source`` (nothing is copied)."""
    return f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {source}"


def count_sql(source: str) -> str:
    """One row: how many rows the table expression ``source`` holds."""
    return f"SELECT count(*) FROM {source}"


# The order of the by-inmate rows, on its output columns: most recorded calls first.
BY_INMATE_ORDER = "recorded DESC, calls DESC, facility, inmate_account"


def by_inmate_sql(source: str, *, ordered: bool = False) -> str:
    """Calls to attorney numbers per facility and person in custody, from ``source`` (one
    row per privileged call with ``facility``, ``inmate_account``, ``inmate_name``,
    ``completed``, ``recorded`` and ``registry_violation``).

    One table, two audiences: findings writes it with people named
    (``restricted/findings/by_inmate.csv``), the report exports it pseudonymized
    (``exports/by_inmate``). ``ordered``: sorted by :data:`BY_INMATE_ORDER` (a CSV writer
    that wraps the query sorts it itself).
    """
    query = (
        "SELECT coalesce(facility, '(unknown)') AS facility, "
        "coalesce(inmate_account, '(unknown)') AS inmate_account, "
        "min(inmate_name) AS inmate_name, count(*) AS calls, "
        "count(*) FILTER (WHERE completed) AS completed, "
        "count(*) FILTER (WHERE recorded) AS recorded, "
        "count(*) FILTER (WHERE registry_violation) AS violations "
        f"FROM {source} GROUP BY 1, 2"
    )
    return f"SELECT * FROM ({query}) ORDER BY {BY_INMATE_ORDER}" if ordered else query


def drop_table_sql(name: str) -> str:
    """Drop the table ``name`` if it exists."""
    return f"DROP TABLE IF EXISTS {name}"


def is_plain_ident(name: str) -> bool:
    """True when ``name`` needs no quoting."""
    return bool(_PLAIN.match(name))


# Text starting with one of these can run as a formula when a CSV file is opened in a
# spreadsheet (CWE-1236); such text gets a leading apostrophe.
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    """Prefix text that a spreadsheet could run as a formula with an apostrophe."""
    return "'" + value if value.startswith(DANGEROUS) else value


def csv_safe_sql(query: str, columns: list[tuple[str, str]], *, order_by: str) -> str:
    """``query`` with its TEXT columns made spreadsheet-safe for a CSV file: text starting
    with ``= + - @``, tab or carriage return gets a leading ``'`` (as :func:`neutralize`
    does) and an empty text becomes NULL, so it is written as an empty field like
    Python's csv module writes it. ``columns``: (name, SQLite kind, or a DuckDB type:
    ``TEXT`` and ``VARCHAR`` are text); ``order_by`` repeats the query's order outside it
    (DuckDB does not keep a subquery's order)."""
    danger = "chr(61), chr(43), chr(45), chr(64), chr(9), chr(13)"
    cols = []
    for name, kind in columns:
        q = quote_ident(name)
        if kind in ("TEXT", "VARCHAR"):
            v = f"CAST({q} AS VARCHAR)"
            cols.append(
                f"nullif(CASE WHEN left({v}, 1) IN ({danger}) THEN chr(39) || {v} "
                f"ELSE {v} END, '') AS {q}"
            )
        else:
            cols.append(q)
    return f"SELECT {', '.join(cols)} FROM ({query}) ORDER BY {order_by}"


def copy_csv_sql(query: str, path: Path, *, partition_by: str | None = None) -> str:
    """``COPY`` of ``query`` to a CSV file with a header row, comma separated, LF endings.
    ``partition_by``: a column of ``query``; then ``path`` is a folder of one sub-folder
    ``<column>=<value>`` per value, and the column is not written."""
    part = (
        f", PARTITION_BY ({quote_ident(partition_by)}), OVERWRITE_OR_IGNORE" if partition_by else ""
    )
    return (
        f"COPY ({query}) TO {quote_literal(str(path))} "
        f"(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', NEW_LINE '\n', COMMENT ''{part})"
    )


def describe_sql(query: str) -> str:
    """The (column name, DuckDB type) rows of ``query``'s result, for :func:`csv_safe_sql`."""
    return f"SELECT column_name, column_type FROM (DESCRIBE {query})"
