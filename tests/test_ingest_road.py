"""The road through ingest: each file staged once, each table mapped once, the same bytes
every run (nothing chosen by which worker thread finished first)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from privguard.internals.audit.ingest import decide
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.readers.delimited import table


def _dump(root: Path, files: int = 8) -> Path:
    """Small CSVs of two layouts, most with a record of too many or too few fields."""
    dump = root / "dump"
    dump.mkdir()
    for k in range(files):
        lines = ["Phone,Start,Duration" if k % 2 else "Number,Started,Seconds"]
        for i in range(40):
            line = f"31255{k:02d}{i:03d},2013-01-{1 + i % 28:02d} 10:{i % 60:02d}:00,{60 + i}"
            if k % 4 and i in (3, 17 + k):
                line += ",extra" if i == 3 else ""
                line = line if i == 3 else line.rsplit(",", 1)[0]
            lines.append(line)
        (dump / f"calls_{k}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dump


def _digests(work: Path) -> dict[str, str]:
    paths = sorted(work.glob("ingested/*.parquet")) + [work / "rejects.csv"]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_the_same_dump_gives_the_same_bytes_every_run(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    first = ingest(dump, tmp_path / "a")
    assert first.totals["rows_rejected"] > 0  # the writer's rejects path is exercised
    runs = [_digests(tmp_path / "a")]
    for k in range(3):
        ingest(dump, tmp_path / f"b{k}")
        runs.append(_digests(tmp_path / f"b{k}"))
    assert all(r == runs[0] for r in runs[1:])


def test_each_csv_is_staged_once_and_each_table_mapped_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = _dump(tmp_path, files=5)
    staged: list[str] = []
    mapped: list[tuple[str, ...]] = []
    read = table._read_csv_file
    map_table = decide.map_table

    def counting_read(ex, src, scratch, scan):  # type: ignore[no-untyped-def]
        staged.append(src.name)
        return read(ex, src, scratch, scan)

    def counting_map(columns, sample, rule):  # type: ignore[no-untyped-def]
        mapped.append(tuple(map(tuple, sample)))
        return map_table(columns, sample, rule)

    monkeypatch.setattr(table, "_read_csv_file", counting_read)
    monkeypatch.setattr(decide, "map_table", counting_map)
    result = ingest(dump, tmp_path / "work")
    assert sorted(staged) == sorted(f"calls_{k}.csv" for k in range(5))
    # Tables of one layout share one decision: one mapping per layout, none made twice
    # (the probe's decisions are the final ones).
    assert len(result.tables) == 5
    assert len(mapped) == len(set(mapped)) == 2


def test_the_writer_reuses_the_line_scan_made_when_the_file_was_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: Python reads a CSV twice (its hash, and one scan for its breaks, lines
    and quotes); the scan that checked its breaks at staging is not made again when written."""
    from privguard.internals.audit.ingest import write
    from privguard.internals.audit.ingest.readers.delimited import checks

    dump = _dump(tmp_path, files=3)
    scanned: list[str] = []
    scan_text = checks.scan_text

    def counting_scan(path, *args):  # type: ignore[no-untyped-def]
        scanned.append(Path(path).name)
        return scan_text(path, *args)

    def no_scan(d):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{d.path} scanned again by the writer")

    monkeypatch.setattr(table, "scan_text", counting_scan)
    monkeypatch.setattr(write, "scan_lines", no_scan)
    result = ingest(dump, tmp_path / "work")
    assert result.totals["rows_rejected"] > 0
    assert sorted(scanned) == sorted(f"calls_{k}.csv" for k in range(3))


def test_line_scans_kept_on_disk_until_written_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file's line positions wait on disk between staging and writing (so that
    the scans of a whole dump are not held in memory at once): same outputs, files freed."""
    dump = _dump(tmp_path, files=3)
    ingest(dump, tmp_path / "memory")
    monkeypatch.setattr(table, "SPILL_LINES", 1)
    spilled: list[Path] = []
    kept = table._kept

    def watching(lines, scratch, scan):  # type: ignore[no-untyped-def]
        out, paths = kept(lines, scratch, scan)
        spilled.extend(paths)
        return out, paths

    monkeypatch.setattr(table, "_kept", watching)
    ingest(dump, tmp_path / "disk")
    assert len(spilled) == 6
    assert not any(p.exists() for p in spilled)
    assert _digests(tmp_path / "disk") == _digests(tmp_path / "memory")
