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

import csv
import datetime as dt
import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import xlsxwriter

from privguard.internals.engines.base import Executor
from privguard.internals.sql import quote_ident

from .tables import ExportTable, export_tables

log = logging.getLogger(__name__)

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

README = """privguard exports
=================

The same tables in four formats:
  *.csv          one file per table, UTF-8, comma separated
  findings.xlsx  one sheet per table
  *.parquet      one file per table, exact values and types (for analysts)
  findings.db    SQLite database; browse it with Datasette:
                 datasette findings.db --metadata metadata.json

Spreadsheet safety: text that begins with = + - @ (or a tab or carriage return) could
run as a formula in a spreadsheet, so in the CSV and XLSX files such text is prefixed
with an apostrophe ('). In the CSV files this includes phone numbers, written
'+15125550134: remove the apostrophe to get the number. In findings.xlsx phone numbers
are stored as text cells without an apostrophe. The Parquet files and findings.db hold
the values unchanged.
{privacy}
"""


def neutralize(value: str) -> str:
    """Prefix text that a spreadsheet could run as a formula with an apostrophe."""
    return "'" + value if value.startswith(DANGEROUS) else value


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


def write_csv(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows([csv_cell(v) for v in r] for r in rows)


def write_xlsx(
    path: Path, data: list[tuple[ExportTable, list[tuple[Any, ...]]]], as_of: dt.datetime
) -> None:
    """One sheet per table; no cell is ever a formula (strings are written as strings)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})  # fmt: skip
    # Fixed metadata so reruns are byte-identical (also fixes the zip entry dates).
    wb.set_properties({"title": "privguard findings", "author": "privguard",
                       "created": as_of.replace(tzinfo=None)})  # fmt: skip
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF4", "text_wrap": True})
    text = wb.add_format({"num_format": "@"})
    for table, rows in data:
        ws = wb.add_worksheet(table.name[:31])
        for c, col in enumerate(table.columns):
            ws.write_string(0, c, col.name, head)
            ws.set_column(c, c, 14 if col.kind != "TEXT" else 22)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                value = _plain(value)
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value)
                elif E164.match(str(value)):
                    ws.write_string(r, c, str(value), text)
                else:
                    ws.write_string(r, c, neutralize(str(value)))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(table.columns) - 1)
    wb.close()


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


def write_sqlite(path: Path, data: list[tuple[ExportTable, list[tuple[Any, ...]]]]) -> None:
    """A SQLite database written in one deterministic sequence of statements."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA foreign_keys = ON")
        for t, rows in data:
            for stmt in _ddl(t):
                con.execute(stmt)
            marks = ", ".join("?" for _ in t.columns)
            con.executemany(
                f"INSERT INTO {quote_ident(t.name)} VALUES ({marks})",
                ([_plain(v) for v in r] for r in rows),
            )
        con.commit()
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            log.warning("findings.db: %d rows with a dangling reference", len(problems))
    finally:
        con.close()


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
                    }
                    for t in tables
                }
            }
        },
    }


def write_exports(
    ex: Executor, folder: Path, *, pseudonymize: bool, as_of: dt.datetime
) -> list[Path]:
    """Write every export into ``folder`` (after the report tables are prepared)."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = export_tables(pseudonymize)
    data: list[tuple[ExportTable, list[tuple[Any, ...]]]] = []
    for t in tables:
        result = ex.fetch_arrow(t.query)  # aggregates and privileged calls only: small
        names = [c.name for c in t.columns]
        if result.column_names != names:
            raise AssertionError(f"{t.name}: columns {result.column_names} != {names}")
        rows = list(zip(*(result.column(n).to_pylist() for n in names), strict=True))
        data.append((t, rows))
        write_csv(folder / f"{t.name}.csv", names, rows)
        ex.copy_to_parquet(t.query, folder / f"{t.name}.parquet")
    write_xlsx(folder / "findings.xlsx", data, as_of)
    write_sqlite(folder / "findings.db", data)
    meta = datasette_metadata(tables, pseudonymize)
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    privacy = (
        "\nPrivacy: inmate names, accounts and non-attorney numbers are pseudonyms.\n"
        if pseudonymize
        else "\nPrivacy protection was OFF: do not share these files outside the case team.\n"
    )
    (folder / "README.txt").write_text(README.format(privacy=privacy))
    return sorted(p for p in folder.iterdir() if p.is_file())
