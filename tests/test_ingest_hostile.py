"""Hostile input (issue 12 item 4): wide tables, mixed COPY/INSERT dumps, links, archive bombs.

Every case was reproduced before its fix: 335 columns exceeded DuckDB's expression depth, a
pg_dump that fills one table with COPY and INSERT rejected the INSERT rows, a symbolic link
led the reader to ``/etc/passwd``, and a 1 MB zip wrote 1 GiB.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from privguard.errors import InputError, SettingsError
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.discover import discover
from privguard.internals.audit.ingest.limits import Limits
from privguard.internals.audit.settings import parse_settings


def _report(work: Path) -> dict:
    return json.loads((work / "ingest_report.json").read_text())


def _rows(work: Path, select: str) -> list[tuple]:
    con = duckdb.connect()
    return con.execute(
        f"SELECT {select} FROM read_parquet('{work}/ingested/*.parquet') ORDER BY src_row"
    ).fetchall()


@pytest.mark.parametrize("width", [335, 2000])
def test_wide_tables_keep_every_column_in_extras(tmp_path: Path, width: int) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    extra = [f"x{i}" for i in range(width - 2)]
    lines = [",".join(["dialed_number", "start", *extra])]
    for r in range(3):
        lines.append(
            ",".join(
                [
                    f"312555{r:04d}",
                    f"2024-01-0{r + 1} 10:00:00",
                    *(f"v{r}_{i}" for i in range(width - 2)),
                ]
            )
        )
    (dump / "wide.csv").write_text("\n".join(lines) + "\n")
    ingest(dump, tmp_path / "work")
    t = _report(tmp_path / "work")["tables"][0]
    assert (t["rows_read"], t["rows_accepted"], t["rows_rejected"]) == (3, 3, 0)
    extras = [json.loads(e) for (e,) in _rows(tmp_path / "work", "extras")]
    assert [len(e) for e in extras] == [width - 2] * 3
    assert extras[2][f"x{width - 3}"] == f"v2_{width - 3}"
    assert list(extras[0]) == extra  # in the source's column order


PG_MIXED = b"""--
-- PostgreSQL database dump
--
CREATE TABLE public.calls (dialed_number text, start text, note text);
INSERT INTO public.calls VALUES ('3125550001', '2024-01-01 10:00:00', 'it''s, first');
INSERT INTO public.calls VALUES ('3125550002', '2024-01-02'::date, 'a cast');
COPY public.calls (dialed_number, start, note) FROM stdin;
3125550003\t2024-01-03 10:00:00\ttab\\there
3125550004\t2024-01-04 10:00:00\t\\N
\\.
INSERT INTO public.calls VALUES ('3125550005', '2024-01-05 10:00:00', 'back\\slash'),
 ('3125550006', '2024-01-06 10:00:00', NULL), ('3125550007', '2024-01-07 10:00:00', 'two
lines');
INSERT INTO public.calls VALUES ('3125550008', '2024-01-08 10:00:00', 'NULL');
INSERT INTO public.calls VALUES ('3125550009', '2024-01-09'::date, 'a cast');
"""


def test_copy_and_insert_rows_mix_in_one_table(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "mixed.sql").write_bytes(PG_MIXED)
    ingest(dump, tmp_path / "work")
    t = _report(tmp_path / "work")["tables"][0]
    assert (t["rows_read"], t["rows_accepted"], t["rows_rejected"]) == (9, 7, 2)
    got = _rows(tmp_path / "work", "src_row, dialed_number, json_extract_string(extras, '$.note')")
    assert got == [
        (1, "3125550001", "it's, first"),
        (3, "3125550003", "tab\there"),
        (4, "3125550004", None),
        (5, "3125550005", "back\\slash"),
        (6, "3125550006", None),
        (7, "3125550007", "two\nlines"),
        (8, "3125550008", "NULL"),
    ]
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        rejected = [(int(r["row"]), r["raw"]) for r in csv.DictReader(fh)]
    # The casts are rejected with their raw text, in their place among the rows.
    assert [row for row, _ in rejected] == [2, 9]
    assert all("::date" in raw for _, raw in rejected)


def test_links_out_of_the_dump_are_refused_and_named(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("dialed_number,start\n3125550001,2024-01-01 10:00:00\nSECRET-LINE\n")
    dump = tmp_path / "dump"
    (dump / "site").mkdir(parents=True)
    (dump / "calls.csv").write_text("dialed_number,start\n3125550002,2024-01-02 10:00:00\n")
    (dump / "site" / "stolen.csv").symlink_to(secret)
    (dump / "folder").symlink_to(secret.parent, target_is_directory=True)
    (dump / "inside.csv").symlink_to(dump / "calls.csv")  # a link within the dump is fine
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work")
    text = caught.value.render()
    assert "site/stolen.csv" in text and "folder" in text
    assert "SECRET" not in text and str(secret.parent) not in text
    assert not (tmp_path / "work" / "ingested").exists() or not any(
        (tmp_path / "work" / "ingested").iterdir()
    )


def test_links_within_the_dump_are_read_and_broken_ones_listed(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.csv").write_text("dialed_number,start\n3125550002,2024-01-02 10:00:00\n")
    (dump / "again.csv").symlink_to(dump / "calls.csv")
    (dump / "gone.csv").symlink_to(dump / "missing.csv")
    result = ingest(dump, tmp_path / "work")
    assert [t["file"] for t in result.tables] == ["again.csv", "calls.csv"]
    assert [s["file"] for s in result.skipped_files] == ["gone.csv"]


CALL = b"3125550001,2024-01-01 10:00:00\n"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_1mb_zip_that_would_write_1gib_is_refused_before_writing(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    zeros = bytes(1 << 24)
    with (
        zipfile.ZipFile(dump / "calls.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("calls.csv", "w", force_zip64=True) as fh,
    ):
        for _ in range(64):
            fh.write(zeros)
    assert (dump / "calls.zip").stat().st_size < 2 << 20
    scratch = tmp_path / "scratch"
    with pytest.raises(InputError) as caught:
        discover(dump, scratch)
    assert caught.value.where == "calls.zip/calls.csv"
    assert "max_compression_ratio" in caught.value.render()
    assert _size(scratch) == 0  # refused on the sizes the archive declares
    with pytest.raises(InputError):
        ingest(dump, tmp_path / "work")


def test_a_member_past_the_ratio_is_refused_and_a_raised_limit_reads_it(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    data = b"dialed_number,start\n" + CALL * 100_000  # 3 MB that compress about 300 times
    (dump / "calls.zip").write_bytes(_zip({"a/calls.csv": data}))
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work")
    text = caught.value.render()
    assert caught.value.where == "calls.zip/a/calls.csv"
    assert "max_compression_ratio (100)" in text and "[ingest] max_compression_ratio" in text
    result = ingest(dump, tmp_path / "work", limits=Limits(max_compression_ratio=10_000))
    assert result.totals["rows_accepted"] == 100_000


def test_a_gzip_bomb_is_stopped_while_it_is_read(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    # A .gz file declares no size: it is counted piece by piece as it is decompressed.
    (dump / "calls.jsonl.gz").write_bytes(gzip.compress(bytes(64 << 20), compresslevel=9))
    scratch = tmp_path / "scratch"
    with pytest.raises(InputError) as caught:
        discover(dump, scratch)
    assert caught.value.where == "calls.jsonl.gz"
    assert "max_compression_ratio" in caught.value.render()
    # Stopped once the ratio passes the limit: about 100 times the file, far from 64 MiB.
    packed = (dump / "calls.jsonl.gz").stat().st_size
    assert _size(scratch) <= 100 * packed + (1 << 20) < 16 << 20


def test_the_extracted_total_is_bounded(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    rows = b"".join(b"31255%05d,2024-01-01 10:00:00\n" % i for i in range(400))
    members = {
        "one.csv": b"dialed_number,start\n" + rows,
        "two.csv": b"dialed_number,start\n" + rows,
    }
    (dump / "calls.zip").write_bytes(_zip(members, zipfile.ZIP_STORED))
    limits = Limits(max_extracted_bytes=len(members["one.csv"]) + 100)
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work", limits=limits)
    assert caught.value.where == "calls.zip/two.csv"
    assert "[ingest] max_extracted_bytes" in caught.value.render()
    result = ingest(dump, tmp_path / "work", limits=Limits(max_extracted_bytes=1 << 20))
    assert result.totals["rows_accepted"] == 800


def test_500_nested_zips_are_refused_by_depth_not_a_recursion_error(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    inner = _zip({"calls.csv": b"dialed_number,start\n" + CALL})
    for k in range(499):
        inner = _zip({f"level{k}.zip": inner}, zipfile.ZIP_STORED)
    (dump / "nested.zip").write_bytes(inner)
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work")
    assert "max_archive_depth (6)" in caught.value.render()
    assert caught.value.where is not None and caught.value.where.count(".zip") == 7


def test_nesting_within_the_depth_is_read(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    inner = _zip({"calls.csv": b"dialed_number,start\n" + CALL})
    (dump / "outer.zip").write_bytes(_zip({"mid.zip": _zip({"in.zip": inner})}))
    result = ingest(dump, tmp_path / "work")
    assert [t["file"] for t in result.tables] == ["outer.zip/mid.zip/in.zip/calls.csv"]
    with pytest.raises(InputError):
        ingest(dump, tmp_path / "work", limits=Limits(max_archive_depth=2))


def test_the_ingest_section_is_validated_with_every_problem_at_once() -> None:
    bad = {"max_extracted_bytes": "lots", "max_compression_ratio": 0, "max_archive_depth": 1.5}
    with pytest.raises(SettingsError) as caught:
        parse_settings({"ingest": {**bad, "max_zip": 1}})
    assert len(caught.value.problems) == 4
    for key in (*bad, "max_zip"):
        assert any(key in p for p in caught.value.problems), key
    ok = parse_settings({"ingest": {"max_extracted_bytes": "2GiB", "max_archive_depth": 3}})
    assert ok.ingest == Limits(max_extracted_bytes=2 << 30, max_archive_depth=3)
    assert parse_settings({}).ingest == Limits()


def test_the_ingest_command_takes_the_limits_from_a_case_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from privguard.cli import main

    dump = tmp_path / "dump"
    dump.mkdir()
    inner = _zip({"calls.csv": b"dialed_number,start\n" + CALL})
    (dump / "outer.zip").write_bytes(_zip({"mid.zip": inner}))
    case = tmp_path / "case.toml"
    case.write_text("[ingest]\nmax_archive_depth = 1\n")
    args = ["ingest", str(dump), "--out", str(tmp_path / "work"), "--config", str(case)]
    with pytest.raises(SystemExit) as refused:
        main(args)
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "max_archive_depth (1)" in err
    assert "Traceback" not in err
    case.write_text("[ingest]\nmax_archive_depth = 2\n")
    main(args)
    assert "1 rows from 1 call tables" in capsys.readouterr().out
