"""ODS error cells are set aside with a reason, never read as values (issue 12, item 3).

calamine reads an ODS error cell as its cached value: ``#DIV/0!`` of ``=1/0`` became the
number 0 in a call's duration, and ``#N/A`` an empty text, without a word.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb

from privguard.internals.audit.ingest.api import ingest

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)
_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
    '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type='
    '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
)


def _text(v: str) -> str:
    return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'


# As LibreOffice writes them: a number error keeps a cached 0, #N/A an empty string.
DIV0 = (
    '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
    'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>'
)
NA = (
    '<table:table-cell table:formula="of:=NA()" office:value-type="string" '
    'office:string-value="" calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>'
)


def _ods(path: Path, rows: list[list[str]]) -> None:
    body = "".join("<table:table-row>" + "".join(r) + "</table:table-row>" for r in rows)
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_NS} '
        'office:version="1.2"><office:body><office:spreadsheet><table:table '
        f'table:name="calls">{body}</table:table></office:spreadsheet></office:body>'
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", _MANIFEST)
        z.writestr("content.xml", content)


def test_ods_error_cells_are_flagged_and_never_read_as_values(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    blank = '<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>'
    rows = [
        [_text("dialed_number"), _text("start"), _text("duration")],
        [_text("3125550001"), _text("2024-01-01 10:00:00"), DIV0],
        [_text("3125550002"), _text("2024-01-02 10:00:00"), _text("61")],
        [_text("3125550003"), NA, _text("62")],
    ]
    _ods(dump / "calls.ods", rows)
    # Two empty rows first (one repeated row): the sheet's table starts at row 3.
    content = zipfile.ZipFile(dump / "calls.ods").read("content.xml").decode()
    content = content.replace('table:name="calls">', f'table:name="calls">{blank}')
    with zipfile.ZipFile(dump / "calls2.ods", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", _MANIFEST)
        z.writestr("content.xml", content)
    result = ingest(dump, tmp_path / "work")
    tables = {t["file"]: t for t in result.tables}
    for name, first in (("calls.ods", "C2"), ("calls2.ods", "C4")):
        table = tables[name]
        assert table["rows_read"] == 3
        flagged = [w for w in table["warnings"] if "spreadsheet error" in w]
        assert flagged == [
            f"2 cell(s) hold a spreadsheet error (#DIV/0!, #N/A, #REF!...), first at {first}: "
            "read as empty, never as data (a row of errors only is skipped as blank)"
        ]
        out = tmp_path / "work" / table["output"]
        durations = duckdb.sql(
            f"SELECT src_row, duration FROM read_parquet('{out}') ORDER BY src_row"
        ).fetchall()
        assert [d[0] for d in durations] == [1, 2, 3]
        assert durations[0][1] is None  # not 0 seconds
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    assert report["totals"]["rows_read"] == 6
