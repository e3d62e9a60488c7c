"""Every fix an error message suggests works, part 4 (issue 13): the dump readers' errors
(XLSX, SQLite), the engine name in the pre-run check, and the vault and registry commands
the earlier parts left out.

The method of tests/test_error_fixes.py, whose helpers this module shares: provoke the
error with the smallest input, check the message names the file or place and says the
fix, apply that fix literally, run again and require that the command succeeds. A file
the dump readers cannot open is not an error that stops the audit: the audit runs to the
end, names the file at the end and exits 6 (incomplete). Those cases read that last block
instead of an exception, and require exit 0 once the fix is applied.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from privguard.errors import EXIT_INCOMPLETE, PrivguardError
from test_error_fixes import CALLS, NUMBERS, _audit, _dump, _run

# --- the dump readers: a file that cannot be read -----------------------------------------


def _xlsx(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Calls"
    sheet.append(CALLS.strip().split(","))
    for i in range(6):
        sheet.append([900 + i, "TX25", 2000 + i, f"Other {i}", NUMBERS[i % 4],
                      f"2013-05-1{i} 10:00:00", 90, "Y"])  # fmt: skip
    book.save(path)


@dataclass
class Unread:
    """``damage`` puts one unreadable file in the dump; ``fix`` applies the fix the audit's
    closing block gives for it. ``place`` must be named, ``says`` is the fix's text."""

    name: str
    damage: Callable[[Path], None]
    place: str
    says: str
    fix: Callable[[Path], None]


def _text_as_xlsx(root: Path) -> None:
    (root / "dump" / "more.xlsx").write_text(CALLS + "901,TX25,2001,A,+15125550100,"
                                             "2013-05-11 10:00:00,90,Y\n", encoding="utf-8")  # fmt: skip


def _renamed_csv(root: Path) -> None:
    (root / "dump" / "more.xlsx").rename(root / "dump" / "more.csv")  # "rename it to more.csv"


def _encrypted(root: Path) -> None:
    # An encrypted OOXML workbook is an OLE compound file, not a zip archive.
    (root / "dump" / "more.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def _copy_without_password(root: Path) -> None:
    _xlsx(root / "dump" / "more.xlsx")  # "save a copy without one ... in place of more.xlsx"


def _web_page(root: Path) -> None:
    (root / "dump" / "more.xlsx").write_text("<html><body>Sign in</body></html>\n")


def _truncated(root: Path) -> None:
    _xlsx(root / "whole.xlsx")
    data = (root / "whole.xlsx").read_bytes()
    (root / "dump" / "more.xlsx").write_bytes(data[: len(data) // 2])


def _copied_again(root: Path) -> None:
    _xlsx(root / "dump" / "more.xlsx")  # "copy it again from its source"


def _not_sqlite(root: Path) -> None:
    (root / "dump" / "phones.db").write_text("a phone book, not a database\n")


def _no_tables(root: Path) -> None:
    con = sqlite3.connect(root / "dump" / "phones.db")
    con.execute("PRAGMA user_version = 1")  # a valid database file, with no table
    con.commit()
    con.close()


def _moved_out(root: Path) -> None:
    (root / "dump" / "phones.db").rename(root / "phones.db")  # "move it out of the dump folder"


UNREAD = [
    Unread("xlsx: text under .xlsx", _text_as_xlsx, "more.xlsx", r"rename it to more\.csv",
           _renamed_csv),
    Unread("xlsx: encrypted", _encrypted, "more.xlsx",
           r"protected with a password.*save a copy without one.*in place of more\.xlsx",
           _copy_without_password),
    Unread("xlsx: not a workbook", _web_page, "more.xlsx",
           r"not an Excel workbook.*copy it again from its source", _copied_again),
    Unread("xlsx: damaged zip", _truncated, "more.xlsx", r"damaged.*copy it again from its source",
           _copied_again),
    Unread("sqlite: not a database", _not_sqlite, "phones.db",
           r"not a SQLite database.*move it out of the dump folder", _moved_out),
    Unread("sqlite: no tables", _no_tables, "phones.db",
           r"holds no tables.*move it out of the dump folder", _moved_out),
]  # fmt: skip


@pytest.mark.parametrize("case", UNREAD, ids=[c.name for c in UNREAD])
def test_an_unreadable_dump_file_is_named_with_a_fix_that_works(
    case: Unread, tmp_path: Path
) -> None:
    _dump(tmp_path)
    case.damage(tmp_path)
    done = _run(_audit(tmp_path))
    assert done.exit_code == EXIT_INCOMPLETE, done.output
    closing = done.output[done.output.index("INCOMPLETE:") :]
    line = next(x for x in closing.splitlines() if x.strip().startswith("not read:"))
    assert f"not read: {case.place} " in line, line
    assert "Traceback" not in done.output
    assert ". Fix: " in line and re.search(case.says, line), line
    case.fix(tmp_path)
    again = _run(_audit(tmp_path, out="out2"))
    assert again.exit_code == 0, again.output


# --- the engine name, among the pre-run check's problems ----------------------------------


def test_an_unknown_engine_is_reported_with_every_other_problem_at_once(tmp_path: Path) -> None:
    from privguard.internals.audit.pipeline import audit

    _dump(tmp_path)
    (tmp_path / "case.toml").write_text("[case]\nname = State v. Doe\n", encoding="utf-8")
    kw = {"directories": [tmp_path / "bar.csv"], "registries": [tmp_path / "dnr.csv"]}
    with pytest.raises(PrivguardError) as caught:
        audit(tmp_path / "dump", tmp_path / "out", config=tmp_path / "case.toml",
              engine="spakr", **kw)  # fmt: skip
    err = caught.value
    assert len(err.problems) == 2, err.problems  # the engine and the case file, together
    assert any("unknown engine 'spakr': use one of duckdb, spark" in p for p in err.problems)
    assert any(str(tmp_path / "case.toml") in p for p in err.problems), err.problems
    assert not (tmp_path / "out").exists(), "nothing is written before the check passes"
    (tmp_path / "case.toml").write_text('[case]\nname = "State v. Doe"\n', encoding="utf-8")
    result = audit(tmp_path / "dump", tmp_path / "out", config=tmp_path / "case.toml",
                   engine="duckdb", **kw)  # fmt: skip
    assert result.report_html.is_file()
