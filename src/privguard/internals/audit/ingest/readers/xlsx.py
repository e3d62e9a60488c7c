"""Spreadsheets (XLSX, XLS, ODS) with python-calamine: every sheet is a table.

The first non-blank row of a sheet is its header when every cell of it is text; a first row
holding a number, a date or a duration is a record (a sheet without a header, such as
calamine's ``date.xlsx``), and the columns are named ``column1``, ``column2``... as for a CSV
file without one. A blank row (every cell empty) is not a
record, as a blank line in a CSV file is not: it is skipped, ``row`` counts records only (so
it is not the spreadsheet's row number once a blank row precedes the record), and the table's
report warns how many blank rows were skipped and the first one's spreadsheet row. Cell values
become text as a person reads them: whole numbers without ``.0``, dates in ISO form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from python_calamine import CalamineWorkbook

from privguard.errors import InputError
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.ingest.readers.xlsx_errors import (
    a1,
    error_cells,
    ods_error_cells,
    unopenable,
    warning,
)
from privguard.internals.audit.sql import parquet_source
from privguard.internals.common.parquet import parquet_writer

_BATCH = 50_000


def cell_text(v: Any) -> str | None:
    """A cell value as text; ``None`` for an empty cell."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        secs = int(v.total_seconds())
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    return str(v)


def is_header(values: Sequence[Any]) -> bool:
    """Whether a sheet's first non-blank row (raw cell values) is a header: text cells only."""
    return all(v is None or isinstance(v, str) for v in values)


def columns_of(values: Sequence[Any]) -> tuple[list[str], bool]:
    """The column names a first row gives, and whether it is a header (else a record)."""
    if is_header(values):
        return unique_names([cell_text(v) or "" for v in values]), True
    return [f"column{i + 1}" for i in range(len(values))], False


def _write(writer: pq.ParquetWriter, schema: pa.Schema, cols: list[list[Any]]) -> None:
    writer.write_table(
        pa.table(
            [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
        )
    )


def read_xlsx(src: SourceFile, scratch: Path, scan: str) -> list[Staged]:
    """Stage every sheet of a workbook."""
    try:
        book = CalamineWorkbook.from_path(str(src.path))
    except Exception as exc:  # calamine raises its own error types for damaged files
        message, fix = unopenable(src.name, src.path, exc)
        raise InputError(message, where=src.name, fix=fix) from None
    out: list[Staged] = []
    suffix = src.path.suffix.lower()
    errors = error_cells(src.path) if suffix in (".xlsx", ".xlsm") else {}
    # ODS error cells are read as their cached value (#DIV/0! as 0.0): blanked here.
    ods = ods_error_cells(src.path) if suffix == ".ods" else {}
    for k, sheet_name in enumerate(book.sheet_names):
        sheet = book.get_sheet_by_name(sheet_name)
        rows = sheet.iter_rows()
        wrong = ods.get(sheet_name, set())
        if wrong:
            first = min(wrong)
            errors[sheet_name] = (len(wrong), a1(*first))
            # iter_rows gives rows from the sheet's first and columns from its range's first.
            left = (sheet.start or (0, 0))[1]
        header: list[str] | None = None
        writer: pq.ParquetWriter | None = None
        schema: pa.Schema | None = None
        batch: list[list[Any]] = []
        rec = 0
        blank: list[int] = []  # spreadsheet rows (1-based) of blank rows after the header
        staging = scratch / f"{scan}_s{k}.parquet"
        for line, row in enumerate(rows, 1):
            if wrong:
                at = line - 1
                row = ["" if (at, left + i) in wrong else v for i, v in enumerate(row)]
            cells = [cell_text(v) for v in row]
            if not any(c is not None for c in cells):
                if header is not None:
                    blank.append(line)
                continue
            if header is None:
                header, named = columns_of(row)
                fields = [pa.field(sql.staged_name(i), pa.string()) for i in range(len(header))]
                schema = pa.schema([*fields, pa.field(sql.REC, pa.int64())])
                batch = [[] for _ in schema]
                if named:
                    continue
            rec += 1
            n = len(header)
            cells = (cells + [None] * n)[:n]
            for i, c in enumerate(cells):
                batch[i].append(c)
            batch[n].append(rec)
            if len(batch[n]) >= _BATCH:
                assert schema is not None
                writer = writer or parquet_writer(staging, schema, compression=sql.STAGE_CODEC)
                _write(writer, schema, batch)
                batch = [[] for _ in schema]
        flagged = [warning(*errors[sheet_name])] if sheet_name in errors else []
        if header is None or schema is None:
            out.append(
                Staged(src.name, sheet_name, "xlsx", src.sha256, [], None, 0, warnings=flagged)
            )
            continue
        writer = writer or parquet_writer(staging, schema, compression=sql.STAGE_CODEC)
        _write(writer, schema, batch)
        writer.close()
        notes = flagged
        if blank:
            notes.append(
                f"{len(blank)} blank row(s) skipped (first at spreadsheet row {blank[0]}): a "
                "blank row is not a record, so row numbers count records only"
            )
        out.append(
            Staged(
                src.name,
                sheet_name,
                "xlsx",
                src.sha256,
                header,
                parquet_source(staging),
                rec,
                has_rec=True,
                warnings=notes,
            )
        )
    return out
