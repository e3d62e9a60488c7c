"""The byte scan that decides which delimited files need a second look."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from privguard.internals.audit.ingest.readers import Deferred
from privguard.internals.audit.ingest.readers.delimited import checks as stray
from privguard.internals.audit.ingest.readers.delimited.checks import scan_lines
from privguard.internals.audit.ingest.sql import CsvDialect


def _deferred(path: Path, **dialect: object) -> Deferred:
    return Deferred(path, 3, CsvDialect(**dialect), "scan", path.with_suffix(".rej"))  # type: ignore[arg-type]


def _reference(data: bytes, delim: bytes) -> tuple[int, bool]:
    lines = data.split(b"\n")
    breaks = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    ends = any(line.rstrip(b"\r").endswith(delim) for line in lines)
    return breaks, ends


@pytest.mark.parametrize("seed", range(6))
def test_scan_agrees_with_a_line_by_line_reading_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(stray, "_CHUNK", 7)  # breaks land at every place of a chunk
    rng = random.Random(seed)
    delim = rng.choice([",", "\t", ";"])
    parts = [rng.choice(["ab", delim, "x" + delim, "\r\n", "\n", "\n\n", "q"]) for _ in range(60)]
    data = "".join(parts).encode()
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    got = scan_lines(_deferred(path, delim=delim))
    assert got is not None
    assert (got.breaks, got.ends_in_delimiter) == _reference(data, delim.encode())


@pytest.mark.parametrize(
    ("data", "breaks", "ends"),
    [
        (b"", 0, False),
        (b"a,b\n1,2", 2, False),
        (b"a,b\n1,2,", 2, True),
        (b"a,b\r\n1,2,\r\n", 2, True),
    ],
)
def test_scan_edges(tmp_path: Path, data: bytes, breaks: int, ends: bool) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    got = scan_lines(_deferred(path))
    assert got is not None and (got.breaks, got.ends_in_delimiter) == (breaks, ends)


def test_compressed_and_utf16_text_is_not_scanned(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n")
    assert scan_lines(_deferred(path, gzip=True)) is None
    assert scan_lines(_deferred(path, encoding="utf-16")) is None


@pytest.mark.parametrize("seed", range(6))
def test_the_scan_finds_one_line_records_as_the_bytes_check_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # The quote check rides on the line scan; the whole-file check stays for gzip text.
    from privguard.internals.audit.ingest.readers.delimited.checks import (
        one_line_records as _one_line_records,
    )

    monkeypatch.setattr(stray, "_CHUNK", 7)  # a quote or a BOM at every place of a chunk
    rng = random.Random(seed)
    for k in range(20):
        parts = [rng.choice(["ab", ",", "\n", "x", '"', "'"]) for _ in range(rng.randint(0, 40))]
        bom = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
        path = tmp_path / f"t{k}.csv"
        path.write_bytes(bom + "".join(parts).encode())
        for quote in ('"', "'", ""):
            d = _deferred(path, quote=quote)
            got = scan_lines(d)
            assert got is not None
            assert got.one_line_records == _one_line_records(d), (parts, bom, quote)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_the_scan_places_byte_positions_as_the_line_reading_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, encoding: str
) -> None:
    # Rejects are placed from the scan's break and blank-line offsets (in UTF-8 bytes, as
    # DuckDB counts them); the reading of the file up to each position stays for gzip text.
    from privguard.internals.audit.ingest.readers.delimited.checks import (
        lines_before as _lines_before,
    )

    monkeypatch.setattr(stray, "_CHUNK", 7)  # breaks and blank lines at every place of a chunk
    rng = random.Random(seed)
    parts = [
        rng.choice(["ab", ",", "\n", "\n\n", "\r\n", "\r\n\r\n", "\xe9", "x"]) for _ in range(80)
    ]
    data = "".join(parts).encode(encoding)
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    got = scan_lines(_deferred(path, encoding=encoding))
    assert got is not None
    width = len("".join(parts).encode("utf-8"))
    positions = list(range(width + 3))
    assert got.before(positions) == _lines_before(path, False, encoding, positions)


def _mixed_reference(data: bytes) -> bool:
    """Breaks of more than one kind, counted on the whole bytes at once."""
    crlf, lf, cr = data.count(b"\r\n"), data.count(b"\n"), data.count(b"\r")
    return (lf - crlf > 0 and crlf > 0) or (cr - crlf > 0 and lf > 0)


@pytest.mark.parametrize("seed", range(8))
def test_scan_finds_mixed_breaks_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(stray, "_CHUNK", 5)  # a CRLF cut by a chunk's end counts once
    rng = random.Random(seed)
    kinds = rng.sample(["\r\n", "\n", "\r"], rng.choice([1, 2]))
    parts = [rng.choice(["ab", ",", "q", *kinds]) for _ in range(40)]
    data = "".join(parts).encode()
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    got = scan_lines(_deferred(path))
    assert got is not None
    assert got.mixed_breaks == _mixed_reference(data)


@pytest.mark.parametrize(
    ("data", "mixed"),
    [
        (b"a,b\r\n1,2\r\n3,4\n", True),
        (b"a,b\r\n1,2\r\n", False),
        (b"a,b\r1,2\n", True),
        (b"a,b\r1,2\r", False),
        (b"a,b\n1,2", False),
    ],
)
def test_scan_mixed_breaks_edges(tmp_path: Path, data: bytes, mixed: bool) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    got = scan_lines(_deferred(path))
    assert got is not None and got.mixed_breaks is mixed
