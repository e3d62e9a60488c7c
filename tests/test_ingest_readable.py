"""Nothing readable is skipped: Windows-1252, UTF-16 with or without a byte-order mark, line
breaks of more than one kind, bare CR, CR inside quoted values (issue 12, item 1).

Each file is generated here; every case checks the values read, not only the counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from fuzz_helpers import accounting
from privguard.internals.audit.ingest.api import ingest

SHARED = Path(__file__).parents[2] / "shared"
if not (SHARED / "corpus").is_dir():
    SHARED = Path(__file__).parents[3] / "shared"
SPECTRUM = SHARED / "corpus" / "csv-spectrum" / "csvs"

HEADER = "facility,inmate,dialed_number,start,duration"
NAMES = ["ADAMS", "O\u2019BRIEN", "CHO", "DIAZ", "EVANS", "FOX"]


def _row(i: int, name: str | None = None) -> str:
    return f"F1,{name or NAMES[i]},+1 212 555 {1000 + i},2020-01-0{1 + i} 10:00:00,60"


def _read(tmp_path: Path, name: str, data: bytes) -> tuple[dict, list[tuple[int, str]]]:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / name).write_bytes(data)
    result = ingest(dump, tmp_path / "work")
    assert result.skipped_files == []
    (table,) = result.tables
    assert table["rows_read"] == table["rows_accepted"] + table["rows_rejected"]
    rows = duckdb.sql(
        f"SELECT src_row, coalesce(inmate_name, inmate_account) FROM read_parquet('{tmp_path}/work/ingested/*.parquet') "
        "ORDER BY src_row"
    ).fetchall()
    return table, rows


def _text(n: int, sep: str = "\n") -> str:
    return sep.join([HEADER, *(_row(i) for i in range(n))]) + sep


def test_cp1252_curly_apostrophe_is_read(tmp_path: Path) -> None:
    table, rows = _read(tmp_path, "calls.csv", _text(4).encode("cp1252"))
    assert rows == [(i + 1, NAMES[i]) for i in range(4)]
    assert "read as windows-1252" in table["warnings"]


def test_latin1_without_c1_bytes_reads_as_latin1(tmp_path: Path) -> None:
    data = _text(3).replace("\u2019", "\u00e9").encode("latin-1")
    table, rows = _read(tmp_path, "calls.csv", data)
    assert rows[1] == (2, "O\u00e9BRIEN")
    assert "read as latin-1" in table["warnings"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
def test_utf16_with_or_without_a_bom(tmp_path: Path, codec: str) -> None:
    table, rows = _read(tmp_path, "calls.csv", _text(5, "\r\n").encode(codec))
    assert rows == [(i + 1, NAMES[i]) for i in range(5)]
    assert table["rows_rejected"] == 0


@pytest.fixture(params=["checked first", "when DuckDB refuses"])
def large(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways mixed breaks are found: by a count of the breaks before DuckDB reads the
    file, and (the count turned off) when DuckDB refuses it."""
    if request.param == "when DuckDB refuses":
        monkeypatch.setattr(
            "privguard.internals.audit.ingest.readers.delimited.table.CHECK_BREAKS", False
        )
    return str(request.param)


@pytest.mark.usefixtures("large")
def test_mixed_crlf_and_lf(tmp_path: Path) -> None:
    crlf = "\r\n".join([HEADER, *(_row(i) for i in range(3))]) + "\r\n"
    lf = "\n".join(_row(i) for i in range(3, 6)) + "\n"
    table, rows = _read(tmp_path, "calls.csv", (crlf + lf).encode())
    assert rows == [(i + 1, NAMES[i]) for i in range(6)]
    assert any("line breaks of more than one kind" in w for w in table["warnings"])


@pytest.mark.usefixtures("large")
def test_mixed_breaks_keep_a_break_inside_a_quoted_value(tmp_path: Path) -> None:
    lines = [HEADER, _row(0), _row(1, '"TWO\r\nLINES"'), _row(2)]
    data = "\r\n".join(lines) + "\r\n" + _row(3) + "\n"
    _, rows = _read(tmp_path, "calls.csv", data.encode())
    assert rows == [(1, NAMES[0]), (2, "TWO\r\nLINES"), (3, NAMES[2]), (4, NAMES[3])]


def test_bare_cr_line_endings(tmp_path: Path) -> None:
    _, rows = _read(tmp_path, "calls.csv", _text(5, "\r").encode())
    assert rows == [(i + 1, NAMES[i]) for i in range(5)]


def test_cr_inside_a_quoted_value(tmp_path: Path) -> None:
    data = "\n".join([HEADER, _row(0), _row(1, '"A\rB"'), _row(2)]) + "\n"
    _, rows = _read(tmp_path, "calls.csv", data.encode())
    assert rows == [(1, NAMES[0]), (2, "A\rB"), (3, NAMES[2])]


def _count_only(tmp_path: Path, path: Path) -> dict:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / path.name).write_bytes(path.read_bytes())
    rules = tmp_path / "mapping.toml"
    rules.write_text('[[mapping]]\nfiles = "*"\nskip = true\n')
    result = ingest(dump, tmp_path / "work", mapping_file=rules)
    assert result.skipped_files == []
    (table,) = result.tables
    return table


@pytest.mark.skipif(not SPECTRUM.is_dir(), reason="the shared corpus is not here")
@pytest.mark.parametrize("name", ["newlines_cr", "newlines", "newlines_crlf"])
def test_csv_spectrum_newlines(tmp_path: Path, name: str) -> None:
    expected = json.loads((SPECTRUM.parent / "json" / f"{name}.json").read_text())
    table = _count_only(tmp_path, SPECTRUM / f"{name}.csv")
    assert (table["rows_read"], table["rows_rejected"]) == (len(expected), 0)


@pytest.mark.usefixtures("large")
def test_mixed_breaks_with_a_stray_quote_are_still_read(tmp_path: Path) -> None:
    """A quote inside an unquoted value fools the quote-aware rewrite: every break is made
    LF then, and the table says so, rather than the whole file being skipped."""
    lines = [HEADER, _row(0, 'A"B'), _row(1), _row(2), _row(3)]
    breaks = ["\n", "\r\n", "\n", "\r\n", "\n"]
    data = "".join(line + brk for line, brk in zip(lines, breaks, strict=True))
    table, rows = _read(tmp_path, "calls.csv", data.encode())
    assert rows == [(1, 'A"B'), (2, NAMES[1]), (3, NAMES[2]), (4, NAMES[3])]
    assert any("quoting is broken" in w for w in table["warnings"])


@pytest.mark.parametrize(
    ("bom", "breaks"),
    [("", ["\r"] * 5), ("\ufeff", ["\n", "\n", "\r\n", "\n", "\n"])],
    ids=["bare CR", "a CRLF among LF lines, with a BOM"],
)
def test_rejects_keep_their_place(tmp_path: Path, bom: str, breaks: list[str]) -> None:
    """Found by the fuzz: the line scan counts LF only, and DuckDB counts a CRLF among LF
    lines as two lines; both misplaced the rejected records."""
    lines = [HEADER, _row(0), "A12;A12", _row(2), "x" * 40, _row(4)]
    data = bom + lines[0] + "".join(b + line for b, line in zip(breaks, lines[1:], strict=True))
    table, rows = _read(tmp_path, "calls.csv", (data + breaks[-1]).encode())
    assert (table["rows_read"], table["rows_rejected"]) == (5, 2)
    assert [r[0] for r in rows] == [1, 3, 5]
    assert accounting(tmp_path / "work") == ("", "", "")
