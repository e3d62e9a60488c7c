"""Read the small side files (directories, registries, review labels) as rows of text.

These files are small (a bar directory is tens of thousands of rows), so they are read
in Python. Each cell comes back as text (or a ``date``/``datetime`` from a spreadsheet),
each row with the row number a person sees in a spreadsheet (the header is row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privguard.errors import InputError

Cell = str | dt.date | None


@dataclass
class Sheet:
    """One table of a file: its header and rows, each row with its spreadsheet row number."""

    file: Path
    name: str | None  # sheet name for spreadsheets, None for CSV
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[Cell]]]

    def place(self, row: int | None = None) -> str:
        """Where a person finds a row: ``file.xlsx sheet Offices row 12``."""
        text = self.file.name + (f" sheet {self.name}" if self.name else "")
        return text + (f" row {row}" if row is not None else "")


def _cell(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, float) and value.is_integer():
        # Spreadsheets store 5125550101 as a float; never print it as 5125550101.0.
        return str(int(value))
    text = str(value).strip()
    return text or None


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _header_index(rows: list[list[Cell]]) -> int:
    """The first row that looks like a header: at least two filled text cells."""
    for i, row in enumerate(rows[:20]):
        filled = [c for c in row if isinstance(c, str)]
        if len(filled) >= 2 or (len(filled) == 1 and len(row) == 1):
            return i
    return 0


def _sheet(path: Path, name: str | None, raw: list[list[Cell]]) -> Sheet | None:
    raw = [r for r in raw]
    if not any(any(c is not None for c in r) for r in raw):
        return None
    h = _header_index(raw)
    header = [str(c).strip() if c is not None else f"column {j + 1}" for j, c in enumerate(raw[h])]
    rows = [
        (i + 1, list(r) + [None] * (len(header) - len(r)))
        for i, r in enumerate(raw)
        if i > h and any(c is not None for c in r)
    ]
    return Sheet(path, name, header, h + 1, rows)


def _read_csv(path: Path) -> list[Sheet]:
    text = _decode(path)
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    raw = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text), dialect)]
    sheet = _sheet(path, None, raw)
    return [sheet] if sheet else []


def _read_xlsx(path: Path) -> list[Sheet]:
    from python_calamine import CalamineError, load_workbook

    try:
        wb = load_workbook(str(path))
        sheets = []
        for name in wb.sheet_names:
            data = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheet = _sheet(path, name, [[_cell(c) for c in row] for row in data])
            if sheet:
                sheets.append(sheet)
        return sheets
    except CalamineError as exc:
        raise InputError(
            f"cannot read the spreadsheet: {exc}",
            where=str(path),
            fix="open it in a spreadsheet program and save it again as .xlsx or .csv",
        ) from None


def read_sheets(path: Path) -> list[Sheet]:
    """Every non-empty table in a CSV/TSV/TXT or XLSX/XLS/ODS file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("the file does not exist", where=str(path), fix="check the path")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        sheets = _read_xlsx(path)
    elif suffix in (".csv", ".tsv", ".txt", ""):
        sheets = _read_csv(path)
    else:
        raise InputError(
            f"files of type {suffix!r} are not read here",
            where=str(path),
            fix="give a .csv or .xlsx file (save the list from your spreadsheet program as CSV)",
        )
    if not sheets:
        raise InputError("the file is empty", where=str(path), fix="check that it is the list")
    return sheets


def column(sheet: Sheet, index: int) -> Iterator[Cell]:
    """The cells of one column."""
    for _, row in sheet.rows:
        yield row[index] if index < len(row) else None
