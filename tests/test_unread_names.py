"""A file that cannot be read is named the same way wherever it is shown: in the run's
warnings, the "not read" lines (and their fix) and the report, with control characters
escaped, so a fix never names a file that does not exist under that name."""

from __future__ import annotations

import re
from pathlib import Path

from privguard.errors import EXIT_INCOMPLETE
from privguard.internals.audit.paths import AuditPaths
from test_error_fixes import _audit, _dump, _run

NAME = "more\x1b[2J.xlsx"  # an escape sequence a terminal would act on, or click would strip
SHOWN = "more\\x1b[2J.xlsx"
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _unreadable(root: Path) -> None:
    _dump(root)
    (root / "dump" / NAME).write_text("a,b\n1,2\n", encoding="utf-8")  # text, not a workbook


def _lines(output: str, word: str) -> list[str]:
    return [line for line in output.splitlines() if word in line]


def test_the_not_read_line_names_the_file_as_the_warning_does(tmp_path: Path) -> None:
    _unreadable(tmp_path)
    done = _run(_audit(tmp_path))
    assert done.exit_code == EXIT_INCOMPLETE, done.output
    assert not _RAW_CONTROL.search(done.output), repr(done.output)
    (warning,) = _lines(done.output, "- more")
    (unread,) = _lines(done.output, "not read:")
    assert SHOWN in warning
    assert f"not read: {SHOWN} (8 bytes)" in unread, unread
    assert "rename it to more\\x1b[2J.csv" in unread, unread  # the file's own stem
    page = AuditPaths(tmp_path / "out").report_html.read_text(encoding="utf-8")
    assert SHOWN in page and "\x1b" not in page


def test_privguard_ingest_names_it_the_same_way(tmp_path: Path) -> None:
    _unreadable(tmp_path)
    done = _run(["ingest", str(tmp_path / "dump"), "--out", str(tmp_path / "work")])
    assert done.exit_code == EXIT_INCOMPLETE, done.output
    assert not _RAW_CONTROL.search(done.output), repr(done.output)
    (unread,) = _lines(done.output, "not read:")
    assert f"not read: {SHOWN} (8 bytes)" in unread, unread
