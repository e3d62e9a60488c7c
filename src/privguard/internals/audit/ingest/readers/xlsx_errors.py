"""Error cells of an XLSX workbook (``#DIV/0!``, ``#N/A``...), which python-calamine reads as empty.

An error cell is not data, but reading it as an empty cell is a silent change of the
evidence: a row of error cells even vanished as a blank row (calamine's ``errors.xlsx``).
:func:`error_cells` finds them in each sheet's XML (``<c ... t="e">``), streamed in pieces,
so the table's report can say how many there are and where the first is.

ODS is worse: calamine reads an error cell as its cached value (``#DIV/0!`` as the number
0). :func:`ods_error_cells` finds them in ``content.xml`` (``calcext:value-type="error"``)
so the reader blanks them and says so, as for XLSX. XLS (BIFF) error cells are not looked
for yet (no XLS file with one was at hand to see what python-calamine gives for it).
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"', re.S)
_REL = re.compile(rb"<Relationship\b[^>]*>", re.S)
_ATTR = re.compile(rb'\b(Id|Target)="([^"]*)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>", re.S)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_ERROR = re.compile(rb'\bt="e"')
_PIECE = 1 << 20
_OVERLAP = 512  # longer than any cell tag: a tag cut at a piece's end is seen whole next time


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package (xl/worksheets/sheet1.xml)."""
    workbook = book.read("xl/workbook.xml")
    rels = book.read("xl/_rels/workbook.xml.rels")
    targets: dict[bytes, bytes] = {}
    for tag in _REL.findall(rels):
        attrs = dict(_ATTR.findall(tag))
        if b"Id" in attrs and b"Target" in attrs:
            targets[attrs[b"Id"]] = attrs[b"Target"]
    parts: dict[str, str] = {}
    for name, rid in _SHEET.findall(workbook):
        target = targets.get(rid, b"").decode("utf-8", "replace")
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            parts[name.decode("utf-8", "replace")] = posixpath.normpath(path)
    return parts


def _scan(fh: IO[bytes]) -> tuple[int, str | None]:
    """(error cells, the first one's reference) in one sheet part."""
    count, first, carry = 0, None, b""
    while True:
        piece = fh.read(_PIECE)
        data = carry + piece
        # A tag is counted in the round where it starts before the last _OVERLAP bytes (or
        # anywhere, at the end): it is whole there, and never counted twice.
        bound = len(data) - _OVERLAP if piece else len(data)
        for m in _CELL.finditer(data):
            if m.start() >= bound:
                break
            if _ERROR.search(m.group(1)):
                count += 1
                if first is None:
                    ref = _REF.search(m.group(1))
                    first = ref.group(1).decode() if ref else "?"
        if not piece:
            return count, first
        carry = data[max(bound, 0) :]


def error_cells(path: Path) -> dict[str, tuple[int, str | None]]:
    """Per sheet name: how many error cells it holds and the first one's reference.

    Only for the XLSX family (a zip package); {} for anything this cannot read (XLS, ODS, a
    damaged package), whose cells are read as calamine gives them.
    """
    try:
        with zipfile.ZipFile(path) as book:
            out: dict[str, tuple[int, str | None]] = {}
            for name, part in _sheet_parts(book).items():
                with book.open(part) as fh:
                    found = _scan(fh)
                if found[0]:
                    out[name] = found
            return out
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        log.debug("%s: error cells not looked for (%s)", path, exc)
        return {}


def warning(count: int, first: str | None) -> str:
    """The report's words for a sheet's error cells."""
    return (
        f"{count} cell(s) hold a spreadsheet error (#DIV/0!, #N/A, #REF!...), first at "
        f"{first}: read as empty, never as data (a row of errors only is skipped as blank)"
    )


# ODS (content.xml): a sheet, a row, a cell (repeats count several), and an error cell.
_ODS_TAG = re.compile(
    rb"<table:table(\s[^>]*|)>|<table:table-row\b([^>]*?)(/?)>|"
    rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>",
    re.S,
)
_ODS_NAME = re.compile(rb'\btable:name="([^"]*)"')
_ODS_ROWS = re.compile(rb'\btable:number-rows-repeated="(\d+)"')
_ODS_COLS = re.compile(rb'\btable:number-columns-repeated="(\d+)"')
_ODS_ERROR = re.compile(rb'\bcalcext:value-type="error"')
_ODS_MAX = 1 << 16  # error cells kept per sheet (a repeated error row could claim millions)


def ods_error_cells(path: Path) -> dict[str, set[tuple[int, int]]]:
    """Per sheet name: the (row, column) of each error cell, 0-based, of an ODS workbook.

    calamine reads an ODS error cell as its cached value (``#DIV/0!`` became ``0.0``) or as
    an empty string, never as an error: LibreOffice marks it ``calcext:value-type="error"``.
    {} for anything this cannot read. ``content.xml`` is scanned in pieces, never parsed.
    """
    out: dict[str, set[tuple[int, int]]] = {}
    try:
        with zipfile.ZipFile(path) as book, book.open("content.xml") as fh:
            sheet: set[tuple[int, int]] | None = None
            row, next_row, col, carry = 0, 0, 0, b""
            while True:
                piece = fh.read(_PIECE)
                data = carry + piece
                # As in _scan: a tag starting before the last _OVERLAP bytes is whole.
                bound = len(data) - _OVERLAP if piece else len(data)
                for m in _ODS_TAG.finditer(data):
                    if m.start() >= bound:
                        break
                    if m.group(1) is not None:  # a sheet
                        name = _ODS_NAME.search(m.group(1))
                        key = name.group(1).decode("utf-8", "replace") if name else ""
                        sheet = out.setdefault(key, set())
                        row, next_row, col = 0, 0, 0
                    elif m.group(2) is not None:  # a row (repeated: its cells noted once)
                        repeat = _ODS_ROWS.search(m.group(2))
                        row, col = next_row, 0
                        next_row = row + (int(repeat.group(1)) if repeat else 1)
                    else:  # a cell
                        repeat = _ODS_COLS.search(m.group(4))
                        n = int(repeat.group(1)) if repeat else 1
                        if sheet is not None and _ODS_ERROR.search(m.group(4)):
                            for c in range(col, col + min(n, _ODS_MAX - len(sheet))):
                                sheet.add((row, c))
                        col += n
                if not piece:
                    break
                carry = data[max(bound, 0) :]
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        log.debug("%s: ODS error cells not looked for (%s)", path, exc)
        return {}
    return {name: cells for name, cells in out.items() if cells}


def a1(row: int, col: int) -> str:
    """A 0-based cell position as a reference (``A1``)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE file: XLS, or an encrypted XLSX
_RESAVE = "open it in Excel or LibreOffice and save it again as .xlsx (or .csv)"


def unopenable(name: str, path: Path, exc: Exception) -> tuple[str, str]:
    """Why a workbook cannot be opened, and the fix, from its first bytes: ``name`` is the
    file as the dump names it. Used when python-calamine refuses the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as err:
        return f"the spreadsheet cannot be read ({err.strerror})", "check that you may read it"
    stem = posixpath.splitext(posixpath.basename(name))[0]
    xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    if xlsx and head.startswith(_CFB):
        return (
            "the workbook is protected with a password (encrypted), or is an old .xls "
            "workbook renamed to .xlsx",
            "open it in Excel with its password and save a copy without one (File > Info > "
            "Protect Workbook > Encrypt with Password: clear it) as .xlsx or .csv; put that "
            f"copy in the dump in place of {name}",
        )
    if xlsx and not head.startswith(b"PK"):
        if head and b"\x00" not in head and (b"," in head or b"\t" in head or b";" in head):
            return (
                "this file holds text (comma- or tab-separated values), not an Excel "
                "workbook: it was saved or renamed with the wrong extension",
                f"rename it to {stem}.csv",
            )
        return (
            "this is not an Excel workbook: an .xlsx file is a zip archive and this one is "
            "not (a web page or a partial download saved under this name?)",
            f"{_RESAVE}; if it does not open, copy it again from its source",
        )
    return (
        f"the workbook is damaged and cannot be opened ({exc})",
        f"copy it again from its source (a download may have been cut short), or {_RESAVE}",
    )
