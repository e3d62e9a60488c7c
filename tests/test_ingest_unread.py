"""A file that cannot be read is counted, named with its size and reason, and makes the audit
incomplete: summary, report, end-of-run output and exit code say so (issue 12, item 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privguard.errors import EXIT_INCOMPLETE
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.paths import AuditPaths

ROWS = 200


def _dump(tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir()
    lines = ["facility,inmate,dialed_number,start,duration"] + [
        f"F1,A{i},+1 212 555 {1000 + i},2020-01-0{1 + i % 9} 10:00:00,60" for i in range(ROWS)
    ]
    (dump / "calls.csv").write_text("\n".join(lines) + "\n")
    # A damaged SQLite database, and a Parquet file whose footer length is wrong.
    (dump / "broken.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x13" * 5000)
    table = pa.table({"dialed_number": ["+12125550100"] * 300, "start": ["2020-01-01"] * 300})
    pq.write_table(table, dump / "more.parquet")
    data = bytearray((dump / "more.parquet").read_bytes())
    data[-8:-4] = b"\xff\xff\xff\x7f"
    (dump / "more.parquet").write_bytes(bytes(data))
    (dump / "notes.pdf").write_bytes(b"%PDF-1.4 not a table")
    return dump


def _sizes(dump: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in dump.iterdir()}


def test_unreadable_files_are_counted_with_size_and_reason(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    result = ingest(dump, tmp_path / "work")
    sizes = _sizes(dump)
    unread = {f["file"]: f for f in result.unread}
    assert set(unread) == {"broken.sqlite", "more.parquet"}
    for name, entry in unread.items():
        assert entry["bytes"] == sizes[name] and entry["reason"]
        assert str(dump) not in entry["reason"]  # no local path in a shareable text
    # A file that is no table at all is listed, but does not make the audit incomplete.
    (other,) = [f for f in result.skipped_files if not f["unread"]]
    assert other["file"] == "notes.pdf"
    assert result.totals["files_unread"] == 2
    assert result.totals["bytes_unread"] == sizes["broken.sqlite"] + sizes["more.parquet"]
    assert result.totals["rows_read"] == ROWS
    saved = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    assert saved["totals"]["files_unread"] == 2


def test_an_incomplete_audit_says_so_everywhere(tmp_path: Path) -> None:
    dump, out = _dump(tmp_path), tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    run = subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", "audit", str(dump)]
        + ["--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == EXIT_INCOMPLETE, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    sizes = _sizes(dump)
    for name in ("broken.sqlite", "more.parquet"):
        assert f"not read: {name} ({sizes[name]:,} bytes)" in run.stderr
    assert "INCOMPLETE: 2 file(s)" in run.stderr
    paths = AuditPaths(out)
    summary = json.loads(paths.summary.read_text())
    assert summary["rows_read"] == ROWS
    assert summary["files_unread"] == 2
    assert summary["bytes_unread"] == sizes["broken.sqlite"] + sizes["more.parquet"]
    assert [f["file"] for f in summary["unread_files"]] == ["broken.sqlite", "more.parquet"]
    html = paths.report_html.read_text()
    assert "The audit read every table given to it" not in html
    assert "INCOMPLETE" in html and "broken.sqlite" in html and "more.parquet" in html
    assert 'data-summary="files_unread">2<' in html


def test_a_table_failing_late_is_unread_and_the_audit_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault DuckDB meets only when it parses the whole file (past its first 32 MB read
    buffer; here a small buffer and the breaks check off) stopped the audit (exit 4): the
    table is now unread, named with its size and reason, and the other tables are read."""
    table_mod = "privguard.internals.audit.ingest.readers.delimited.table"
    monkeypatch.setattr(f"{table_mod}.CHECK_BREAKS", False)
    monkeypatch.setattr(f"{table_mod}.READ_BUFFER", 1 << 16)
    dump = tmp_path / "dump"
    dump.mkdir()
    rows = [f"3125550{i:03d},2024-01-01 10:00:00" for i in range(5000)]
    text = "dialed_number,start\n" + "\n".join(rows[:4000]) + "\n" + "\r\n".join(rows[4000:])
    (dump / "late.csv").write_text(text + "\r\n")
    (dump / "ok.csv").write_text("dialed_number,start\n3125550001,2024-01-01 10:00:00\n")
    result = ingest(dump, tmp_path / "work")
    status = {t["file"]: (t["status"], t["rows_read"], t.get("output")) for t in result.tables}
    assert status == {
        "late.csv": ("unread", 0, None),
        "ok.csv": ("ingested", 1, "ingested/1.parquet"),
    }
    (unread,) = result.unread
    assert unread["file"] == "late.csv" and unread["bytes"] == (dump / "late.csv").stat().st_size
    assert unread["reason"].startswith("table 'late' cannot be read:")
    assert str(dump) not in unread["reason"]
    assert result.totals["files_unread"] == 1 and result.totals["rows_read"] == 1
    assert sorted(p.name for p in (tmp_path / "work" / "ingested").iterdir()) == ["1.parquet"]
