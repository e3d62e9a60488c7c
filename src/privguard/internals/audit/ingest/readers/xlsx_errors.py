"""Error cells of an XLSX workbook (``#DIV/0!``, ``#N/A``...), which python-calamine reads as empty.

An error cell is not data, but reading it as an empty cell is a silent change of the
evidence: a row of error cells even vanished as a blank row (calamine's ``errors.xlsx``).
:func:`error_cells` finds them in each sheet's XML (``<c ... t="e">``), streamed in pieces,
so the table's report can say how many there are and where the first is.
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
