"""Write the shareable exports: CSV, XLSX, Parquet, and a SQLite database for Datasette.

Spreadsheet safety: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return can run as a formula when a CSV or XLSX file is opened in a spreadsheet. Such
cells are prefixed with an apostrophe ``'``. Phone numbers in E.164 form
(``+15125550134``) start with ``+``: in CSV they are prefixed like everything else
(a CSV has no types, and a spreadsheet would otherwise turn them into numbers or
formulas); in XLSX they are written as text cells, unchanged, since a text cell never
runs. Parquet and SQLite keep every value exactly as computed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import copy_csv_sql, csv_safe_sql, neutralize, quote_ident

from .tables import ExportTable, export_tables
from .xlsx import XlsxBook

log = logging.getLogger(__name__)

SLICE_ROWS = 50_000  # rows turned into Python values at a time

README = """privguard exports
=================

The same tables in four formats:
  *.csv          one file per table, UTF-8, comma separated
  findings.xlsx  one sheet per table, and a last sheet "Columns" saying what each
                 column means (dates are Excel dates)
  *.parquet      one file per table, exact values and types (for analysts)
  findings.db    SQLite database; browse it with Datasette:
                 datasette findings.db --metadata metadata.json
                 (full-text search: a search box on privileged_calls,
                 attorney_numbers, facilities and by_inmate)

Spreadsheet safety: text that begins with = + - @ (or a tab or carriage return) could
run as a formula in a spreadsheet, so in the CSV and XLSX files such text is prefixed
with an apostrophe ('). In the CSV files this includes phone numbers, written
'+15125550134: remove the apostrophe to get the number. In findings.xlsx phone numbers
are stored as text cells without an apostrophe. The Parquet files and findings.db hold
the values unchanged.
{privacy}
"""


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def csv_cell(value: Any) -> str:
    """A value as safe CSV text."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return neutralize(value) if isinstance(value, str) else str(value)


def _ddl(t: ExportTable) -> list[str]:
    cols = [f"{quote_ident(c.name)} {c.kind}" for c in t.columns]
    if t.primary_key:
        cols.append(f"PRIMARY KEY ({', '.join(quote_ident(k) for k in t.primary_key)})")
    for c in t.columns:
        if c.references:
            ref_table, ref_col = c.references.rstrip(")").split("(")
            cols.append(
                f"FOREIGN KEY ({quote_ident(c.name)}) REFERENCES "
                f"{quote_ident(ref_table)}({quote_ident(ref_col)})"
            )
    stmts = [f"CREATE TABLE {quote_ident(t.name)} (\n  " + ",\n  ".join(cols) + "\n)"]
    for col in t.indexes:
        stmts.append(
            f"CREATE INDEX {quote_ident(f'idx_{t.name}_{col}')} "
            f"ON {quote_ident(t.name)}({quote_ident(col)})"
        )
    return stmts


def fts_sql(t: ExportTable) -> list[str]:
    """An external-content FTS5 table ``<table>_fts`` over ``t.searchable``, filled from
    the table: Datasette finds it and offers a search box; in SQL,
    ``SELECT * FROM privileged_calls WHERE rowid IN (SELECT rowid FROM
    privileged_calls_fts WHERE privileged_calls_fts MATCH 'smith')``."""
    if not t.searchable:
        return []
    fts, cols = f"{t.name}_fts", ", ".join(quote_ident(c) for c in t.searchable)
    return [
        f"CREATE VIRTUAL TABLE {quote_ident(fts)} USING fts5({cols}, "
        f"content={quote_ident(t.name)}, content_rowid='rowid')",
        f"INSERT INTO {quote_ident(fts)} (rowid, {cols}) "
        f"SELECT rowid, {cols} FROM {quote_ident(t.name)} ORDER BY rowid",
    ]


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A fresh SQLite database; tables go in one deterministic sequence of statements."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def finish_sqlite(con: sqlite3.Connection) -> None:
    """Commit the one transaction and warn about dangling references."""
    con.commit()
    problems = con.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        log.warning("findings.db: %d rows with a dangling reference", len(problems))


def datasette_metadata(tables: list[ExportTable], pseudonymized: bool) -> dict[str, Any]:
    """Titles and descriptions for Datasette (``datasette findings.db -m metadata.json``)."""
    return {
        "title": "privguard findings: recorded attorney-client calls",
        "description": "Calls from jails and prisons to attorney numbers, found in phone call "
        "records by privguard. "
        + ("People other than attorneys are pseudonymized." if pseudonymized else ""),
        "databases": {
            "findings": {
                "tables": {
                    t.name: {
                        "title": t.title,
                        "description": t.description,
                        "columns": {c.name: c.description for c in t.columns},
                        **({"sort_desc": t.sort_desc} if t.sort_desc else {}),
                        **(
                            {"fts_table": f"{t.name}_fts", "fts_pk": "rowid"}
                            if t.searchable
                            else {}
                        ),
                    }
                    for t in tables
                }
            }
        },
    }


def write_exports(
    ex: Executor, folder: Path, *, pseudonymize: bool, as_of: dt.datetime
) -> list[Path]:
    """Write every export into ``folder`` (after the report tables are prepared).

    The engine writes findings.xlsx's sheet rows (``xlsx.XlsxBook``) and the big tables'
    CSV files. Otherwise each table is fetched once as Arrow and turned into Python values
    a slice at a time, each slice going to the CSV file (small tables) and the SQLite
    table."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = export_tables(pseudonymize)
    book = XlsxBook(folder / "findings.xlsx", as_of)
    db = open_sqlite(folder / "findings.db")
    continued: list[str] = []
    try:
        for t in tables:
            names = [c.name for c in t.columns]
            by_engine = t.engine_csv_order is not None
            if t.engine_csv_order is not None:  # DuckDB writes it on every core
                cols = [(c.name, c.kind) for c in t.columns]
                safe = csv_safe_sql(t.query, cols, order_by=t.engine_csv_order)
                ex.execute(copy_csv_sql(safe, folder / f"{t.name}.csv"))
            result = ex.fetch_arrow(t.query)  # aggregates and privileged calls only
            if result.column_names != names:
                raise AssertionError(f"{t.name}: columns {result.column_names} != {names}")
            sheets = book.add_table(ex, t, order_by=t.engine_csv_order)
            for stmt in _ddl(t):
                db.execute(stmt)
            insert = f"INSERT INTO {quote_ident(t.name)} VALUES ({', '.join('?' for _ in names)})"
            with contextlib.ExitStack() as stack:
                out = None
                if not by_engine:
                    fh = stack.enter_context(
                        open(folder / f"{t.name}.csv", "w", encoding="utf-8", newline="")
                    )
                    out = csv.writer(fh, lineterminator="\n")
                    out.writerow(names)
                for batch in result.to_batches(max_chunksize=SLICE_ROWS):
                    rows = list(zip(*(col.to_pylist() for col in batch.columns), strict=True))
                    if out is not None:
                        out.writerows([csv_cell(v) for v in r] for r in rows)
                    db.executemany(insert, ([_plain(v) for v in r] for r in rows))
            for stmt in fts_sql(t):
                db.execute(stmt)
            if sheets > 1:
                continued.append(f"{t.name} ({sheets} sheets)")
            ex.copy_to_parquet(t.query, folder / f"{t.name}.parquet")
        book.add_column_sheet(ex, tables)
        finish_sqlite(db)
        book.close()
    except BaseException:
        book.abort()
        raise
    finally:
        db.close()
    meta = datasette_metadata(tables, pseudonymize)
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    privacy = (
        "\nPrivacy: inmate names, accounts and non-attorney numbers are pseudonyms.\n"
        if pseudonymize
        else "\nPrivacy protection was OFF: do not share these files outside the case team.\n"
    )
    if continued:
        privacy += (
            "\nfindings.xlsx: a sheet holds at most 1,048,575 rows, so these tables continue "
            "on further sheets named '<table> (2)', '<table> (3)', ... each with the header "
            "row: " + ", ".join(continued) + ". The CSV, Parquet and SQLite copies hold "
            "every row in one table.\n"
        )
    (folder / "README.txt").write_text(README.format(privacy=privacy))
    return sorted(p for p in folder.iterdir() if p.is_file())
