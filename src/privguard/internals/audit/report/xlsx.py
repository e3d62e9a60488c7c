"""findings.xlsx, written as SpreadsheetML parts that the engine builds row by row.

An XLSX file is a zip of XML parts. The sheet rows (``<row r="n">...</row>``, inline
strings, no shared-string table) are built in SQL (``xlsx_sql.xlsx_rows_sql``) and written by
the engine to a scratch file, one row a line; Python only streams those lines into the
zip between each sheet's head and tail, so the cost is the engine's (every core) and
zlib's, never one Python call per cell. A table longer than a sheet continues on sheets
``<table> (2)``, ``(3)`` ..., each with the header row.

The cells are those the former xlsxwriter writer gave (see ``xlsx_rows_sql``); the
workbook keeps its look: a bold, shaded header row, frozen, with filters, and column
widths. Zip entries carry the report's date, so two runs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import quote_ident

from . import xlsx_sql
from .tables import Column, ExportTable

COLUMNS_SHEET = "Columns"  # the last sheet: what each column means
XLSX_MAX_ROWS = 1_048_576  # Excel's rows per sheet, header included
COMPRESSLEVEL = 1  # 14.4M audit: level 1 5.5 s CPU, 54.6 MB; 3: 6.5 s, 49.1 MB; 6: 9.2 s, 42.4 MB
_CHUNK = 1 << 20
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}"><numFmts count="3"><numFmt numFmtId="164" '
    'formatCode="@"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd"/><numFmt numFmtId="166" '
    'formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/>'
    '</font></fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid">'
    '<fgColor rgb="FFE8EEF4"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" '
    'applyFill="1" applyAlignment="1"><alignment wrapText="1"/></xf><xf numFmtId="164" '
    'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" '
    'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" '
    'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)  # style 1: header (bold, shaded, wrapped); 2: text "@" for phone numbers; 3, 4: dates


def cell_kind(t: pa.DataType) -> str:
    """How a column of engine type ``t`` is written (see ``xlsx_sql.xlsx_rows_sql``)."""
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t) and t.tz is None:
        return "timestamp"
    return "other"


@dataclass
class _Sheet:
    name: str
    columns: tuple[str, ...]
    widths: tuple[float, ...]
    rows: int  # data rows


@dataclass
class XlsxBook:
    """A workbook being written to ``path``: call :meth:`add_table` per table, then
    :meth:`close`. ``as_of`` dates the document and every zip entry (same bytes each run).
    ``max_rows``: rows per sheet, header included (Excel's limit unless testing)."""

    path: Path
    as_of: dt.datetime
    max_rows: int = XLSX_MAX_ROWS
    compresslevel: int = COMPRESSLEVEL
    sheets: list[_Sheet] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path.unlink(missing_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix=".xlsx-", dir=self.path.parent))
        self._zip = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    def add_table(self, ex: Executor, table: ExportTable, order_by: str | None = None) -> int:
        """Write ``table`` as one sheet, or several past ``max_rows``; the sheets it took.

        ``order_by`` (over the query's columns) gives the rows' order; without it the
        query's own ORDER BY is kept by numbering its rows in a materialized copy."""
        schema = ex.fetch_arrow(f"SELECT * FROM ({table.query}) LIMIT 0").schema
        names = [c.name for c in table.columns]
        if schema.names != names:
            raise AssertionError(f"{table.name}: columns {schema.names} != {names}")
        query = table.query
        if order_by is None:  # a small table: its insertion order is the query's order
            ex.execute(f"CREATE OR REPLACE TEMP TABLE pg_xlsx_src AS {table.query}")
            query, order_by = "SELECT *, rowid AS pg_xlsx_row FROM pg_xlsx_src", "pg_xlsx_row"
        query = _as_dates(query, table)
        schema = ex.fetch_arrow(f"SELECT * FROM ({query}) LIMIT 0").schema
        cols = [(n, cell_kind(schema.field(n).type)) for n in names]
        per_sheet = self.max_rows - 1
        rows_file = self._scratch / "rows.xml"
        got = ex.fetchall(
            xlsx_sql.copy_lines_sql(
                xlsx_sql.xlsx_rows_sql(query, cols, order_by=order_by, per_sheet=per_sheet),
                rows_file,
            )
        )
        total = int(got[0][0]) if got else 0
        widths = tuple(14.7109375 if c.kind != "TEXT" else 22.7109375 for c in table.columns)
        parts = max(1, -(-total // per_sheet))
        with open(rows_file, "rb") as src:
            for part in range(1, parts + 1):
                name = table.name[:31] if part == 1 else f"{table.name[:24]} ({part})"
                n = min(per_sheet, total - (part - 1) * per_sheet)
                sheet = _Sheet(name, tuple(names), widths, n)
                self.sheets.append(sheet)
                with self._open(f"xl/worksheets/sheet{len(self.sheets)}.xml") as out:
                    out.write(_sheet_head(sheet).encode())
                    copy_lines(src, out, n)
                    out.write(_sheet_tail(sheet).encode())
        rows_file.unlink()
        ex.execute("DROP TABLE IF EXISTS pg_xlsx_src")
        return parts

    def add_column_sheet(self, ex: Executor, tables: list[ExportTable]) -> None:
        """A last sheet, ``Columns``, saying what every column of every table's sheet
        means (sheet, column, meaning), so the workbook explains itself when shared."""
        rows = [(t.name, c.name, c.description) for t in tables for c in t.columns]
        ex.register_arrow(
            "pg_xlsx_columns",
            pa.table({
                "n": list(range(len(rows))),
                "sheet": [r[0] for r in rows],
                "column": [r[1] for r in rows],
                "meaning": [r[2] for r in rows],
            }),
        )  # fmt: skip
        spec = ExportTable(
            COLUMNS_SHEET, "Columns", "What each column of each sheet means.",
            'SELECT sheet, "column", meaning FROM pg_xlsx_columns ORDER BY n',
            (Column("sheet", "TEXT", "sheet"), Column("column", "TEXT", "column"),
             Column("meaning", "TEXT", "meaning")),
            ("sheet", "column"),
        )  # fmt: skip
        self.add_table(ex, spec)
        self.sheets[-1].widths = (22.7109375, 22.7109375, 90.7109375)

    def close(self) -> None:
        """Write the workbook's other parts and finish the zip."""
        try:
            for name, text in self._parts().items():
                with self._open(name) as out:
                    out.write(text.encode())
        finally:
            self._zip.close()
            shutil.rmtree(self._scratch, ignore_errors=True)

    def abort(self) -> None:
        """Drop the unfinished workbook (after an error)."""
        self._zip.close()
        shutil.rmtree(self._scratch, ignore_errors=True)
        self.path.unlink(missing_ok=True)

    def _open(self, name: str) -> IO[bytes]:
        info = zipfile.ZipInfo(name, self.as_of.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        for attr in ("compress_level", "_compresslevel"):  # 3.13+, 3.11/3.12
            if hasattr(info, attr):
                setattr(info, attr, self.compresslevel)
                break
        return self._zip.open(info, "w", force_zip64=True)

    def _parts(self) -> dict[str, str]:
        n = len(self.sheets)
        over = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1)
        )
        types = (
            f'{_HEAD}<Types xmlns="{_PKG}/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"'
            '/><Override PartName="/docProps/core.xml" ContentType="application/vnd.'
            f'openxmlformats-package.core-properties+xml"/>{over}</Types>'
        )
        rels = (
            f'{_HEAD}<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" '
            f'Type="{_PKG}/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            "</Relationships>"
        )
        book_rels = (
            "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        )
        sheets = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
            for i, s in enumerate(self.sheets, start=1)
        )
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_quote_sheet(s.name))}!$A$1:${_last(s)}</definedName>"
            for i, s in enumerate(self.sheets)
        )
        when = self.as_of.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "[Content_Types].xml": types,
            "_rels/.rels": rels,
            "docProps/core.xml": (
                f'{_HEAD}<cp:coreProperties xmlns:cp="{_PKG}/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/'
                'terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>'
                "privguard findings</dc:title><dc:creator>privguard</dc:creator>"
                f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
                "</cp:coreProperties>"
            ),
            "xl/workbook.xml": (
                f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/>'
                f"</bookViews><sheets>{sheets}</sheets><definedNames>{filters}</definedNames>"
                "</workbook>"
            ),
            "xl/_rels/workbook.xml.rels": (
                f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">{book_rels}</Relationships>'
            ),
            "xl/styles.xml": _STYLES,
        }


def _as_dates(query: str, table: ExportTable) -> str:
    """``query`` with the columns kept as text elsewhere but meant as dates in a
    spreadsheet (``Column.xlsx_as``) cast, so that they become date cells."""
    cast = [
        f"TRY_CAST({quote_ident(c.name)} AS {c.xlsx_as.upper()}) AS {quote_ident(c.name)}"
        for c in table.columns
        if c.xlsx_as in ("date", "timestamp")
    ]
    return f"SELECT * REPLACE ({', '.join(cast)}) FROM ({query})" if cast else query


def _quote_sheet(name: str) -> str:
    """A sheet name as a formula reference needs it (quoted unless plain)."""
    plain = name.replace("_", "").isalnum() and not name[0].isdigit()
    return name if plain else "'" + name.replace("'", "''") + "'"


def _last(s: _Sheet) -> str:
    """The bottom-right cell of the sheet's filter range (header only: row 2, as before)."""
    return f"{xlsx_sql.xlsx_column_ref(len(s.columns) - 1)}${max(s.rows, 1) + 1}"


def _sheet_head(s: _Sheet) -> str:
    """A worksheet's XML up to its first data row: frozen header, widths, header row."""
    last = xlsx_sql.xlsx_column_ref(len(s.columns) - 1)
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(s.widths, start=1)
    )
    head = "".join(
        f'<c r="{xlsx_sql.xlsx_column_ref(i)}1" s="1" t="inlineStr"><is><t>{escape(c)}</t></is></c>'
        for i, c in enumerate(s.columns)
    )
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last}'
        f'{s.rows + 1}"/><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" '
        'topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane='
        '"bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f'<cols>{cols}</cols><sheetData><row r="1">{head}</row>'
    )


def _sheet_tail(s: _Sheet) -> str:
    """A worksheet's XML after its last row: the header's filters, page margins."""
    return (
        f'</sheetData><autoFilter ref="A1:{_last(s).replace("$", "")}"/><pageMargins '
        'left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )


def copy_lines(src: IO[bytes], out: IO[bytes], n: int, chunk: int = _CHUNK) -> None:
    """Copy the next ``n`` lines of ``src`` to ``out`` in large blocks (a row is a line),
    leaving ``src`` at the start of the line after them."""
    while n > 0:
        start = src.tell()
        block = src.read(chunk)
        if not block:
            raise AssertionError(f"xlsx rows file ended {n} rows early")
        lines = block.count(b"\n")
        if lines < n:  # the block's last line may run on: it belongs to this sheet too
            out.write(block)
            n -= lines
            continue
        end = -1
        for _ in range(n):
            end = block.index(b"\n", end + 1)
        out.write(block[: end + 1])
        src.seek(start + end + 1)
        n = 0
