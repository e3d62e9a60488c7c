"""Every fix an error message suggests works (issue 13).

Each case provokes a user-facing error through the CLI (click's CliRunner), checks the
message's fix says what the case then does, applies that fix literally, and runs the same
command again: it now succeeds, or at least gets past that error. The dump is a tiny CSV,
so a successful audit takes seconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from privguard.cli import cli
from privguard.errors import PrivguardError

CALLS = "call_id,facility,inmate_account,inmate_name,dialed_number,call_start,duration_s,recorded\n"
NUMBERS = ["+15125550100", "+15125550101", "+15125550177", "+17135550123"]


def _dump(root: Path) -> None:
    (root / "dump").mkdir()
    rows = [
        f"{i + 1},TX25,{1000 + i % 7},Person {i % 7},{NUMBERS[i % 4]},"
        f"2013-0{1 + i % 9}-1{i % 9} 1{i % 9}:0{i % 6}:00,{60 + i * 7},{'Y' if i % 3 else 'N'}"
        for i in range(40)
    ]
    (root / "dump" / "calls.csv").write_text(CALLS + "\n".join(rows) + "\n", encoding="utf-8")
    (root / "bar.csv").write_text(
        "name,bar_number,phones\nJane Roe,TX1,5125550100\n", encoding="utf-8"
    )
    (root / "dnr.csv").write_text(
        "number,attorney_name,date_added\n+15125550100,Jane Roe,2012-01-01\n", encoding="utf-8"
    )


def _audit(root: Path, *extra: str, out: str = "out") -> list[str]:
    return ["audit", str(root / "dump"), "--directory", str(root / "bar.csv"), "--registry",
            str(root / "dnr.csv"), "--out", str(root / out), *extra]  # fmt: skip


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def _error(done: Result) -> PrivguardError:
    assert isinstance(done.exception, PrivguardError), (done.exit_code, done.output)
    return done.exception


@dataclass
class Case:
    """``provoke`` breaks the inputs and returns the command; ``fix`` applies the message's
    fix (given the error) and returns the command to run again."""

    name: str
    provoke: Callable[[Path], list[str]]
    says: str  # what the fix text must say (a regular expression)
    fix: Callable[[Path, PrivguardError, list[str]], list[str]]


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _with(cmd: list[str], old: str, new: str) -> list[str]:
    return [new if a == old else a for a in cmd]


def provoke_and_fix(case: Case, root: Path) -> tuple[str, Result]:
    """Break the inputs, check the message says the fix, apply it literally and run again:
    the message's text and the second run, for each module's own checks."""
    _dump(root)
    cmd = case.provoke(root)
    err = _error(_run(cmd))
    # The preflight lists every problem with its own fix in the message: read it whole.
    text = err.render()
    assert re.search(case.says, text, re.S), text
    return text, _run(case.fix(root, err, cmd))


def _labels_bad(root: Path) -> list[str]:
    _write(root / "labels.csv", "number,decision\n+15125550177,maybe\n")
    return _audit(root, "--labels", str(root / "labels.csv"))


def _labels_fixed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "labels.csv", "number,decision\n+15125550177,confirm\n")  # "write confirm"
    return cmd


def _txt_list(root: Path) -> list[str]:
    (root / "bar.csv").rename(root / "bar.numbers")  # e.g. an Apple Numbers file
    return [str(root / "bar.numbers") if a == str(root / "bar.csv") else a for a in _audit(root)]


def _saved_as_csv(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "bar.numbers").rename(root / "bar.csv")  # "save the list ... as CSV"
    return _audit(root)


def _out_is_file(root: Path) -> list[str]:
    _write(root / "out", "a file")
    return _audit(root)


def _new_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root, out="case1")  # "give --out a folder name (new or empty)"


def _out_not_empty(root: Path) -> list[str]:
    (root / "out").mkdir()
    _write(root / "out" / "notes.txt", "mine")
    return _audit(root)


def _overwrite(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--overwrite"]  # "or pass --overwrite"


def _key_inside(root: Path) -> list[str]:
    _write(root / "case.toml", f'[privacy]\nkey_file = "{(root / "out" / "k.key").as_posix()}"\n')
    return _audit(root, "--config", str(root / "case.toml"))


def _key_outside(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "case.toml", f'[privacy]\nkey_file = "{(root / "keys" / "k.key").as_posix()}"\n')
    (root / "keys").mkdir()
    assert not (root / "out").exists(), "the refused run left an output folder behind"
    return cmd  # "set [privacy] key_file to a path outside the output folder"


def _key_damaged(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    (root / "backup.key").write_bytes((root / "case.key").read_bytes())
    _write(root / "case.key", "not hex\n")
    return _audit(root)


def _key_restored(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "case.key").write_bytes((root / "backup.key").read_bytes())  # "restore ... backup"
    return cmd


def _bad_toml(root: Path) -> list[str]:
    _write(root / "case.toml", "[case]\nname = State v. Doe\n")
    return _audit(root, "--config", str(root / "case.toml"))


def _toml_fixed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "case.toml", '[case]\nname = "State v. Doe"\n')  # "fix the syntax at the line"
    return cmd


def _bad_date(root: Path) -> list[str]:
    _write(root / "dnr.csv", "number,attorney_name,date_added\n+15125550100,Jane Roe,soon\n")
    return _audit(root)


def _date_fixed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "dnr.csv", "number,attorney_name,date_added\n+15125550100,Jane Roe,2013-02-04\n")
    return cmd  # "write dates as 2013-02-04"


def _review_first(root: Path) -> list[str]:
    return ["review", str(root / "out")]


def _audit_then_review(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    assert _run(_audit(root)).exit_code == 0  # "run 'privguard audit'"
    return cmd


def _review_to_folder(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    (root / "sheet").mkdir()
    return ["review", str(root / "out"), "--to", str(root / "sheet")]


def _review_to_file(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd[:-1], str(root / "review.csv")]  # "give a file name such as review.csv"


def _dump_is_file(root: Path) -> list[str]:
    return _with(_audit(root), str(root / "dump"), str(root / "dump" / "calls.csv"))


def _dump_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root)  # "give the folder that holds it"


def _dump_empty(root: Path) -> list[str]:
    (root / "dump" / "calls.csv").rename(root / "calls.csv")
    return _audit(root)


def _records_copied(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "dump" / "calls.csv").write_bytes((root / "calls.csv").read_bytes())
    return cmd  # "copy the call records into it"


def _out_under_file(root: Path) -> list[str]:
    _write(root / "cases", "a file")
    return _audit(root, out="cases/out")


def _out_parent_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root, out="case-out/out")  # "give --out a folder ... whose parents are folders"


def _unknown_section(root: Path) -> list[str]:
    _write(root / "case.toml", '[cases]\nname = "State v. Doe"\n')
    return _audit(root, "--config", str(root / "case.toml"))


def _section_named(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "case.toml", '[case]\nname = "State v. Doe"\n')  # one of the known sections
    return cmd


def _verify_not_audit(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    return ["verify", str(root / "out" / "shareable")]


def _verify_the_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return ["verify", str(root / "out")]  # "give the output folder of a finished audit"


def _signing_key_damaged(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    (root / "backup.key").write_bytes((root / "case-signing.key").read_bytes())
    _write(root / "case-signing.key", "not hex\n")
    return _audit(root, out="out2")


def _signing_key_restored(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "case-signing.key").write_bytes((root / "backup.key").read_bytes())
    return cmd  # "restore the signing key from the case backup"


def _mapping_bad(root: Path) -> list[str]:
    _write(root / "map.toml", '[mapping]\nfiles = "calls.csv"\n[case]\nname = "x"\n')
    return ["ingest", str(root / "dump"), "--out", str(root / "work"), "--mapping",
            str(root / "map.toml")]  # fmt: skip


def _mapping_corrected(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "map.toml", '[[mapping]]\nfiles = "calls.csv"\n')  # "correct each entry"
    return cmd


def _ingest(root: Path, *extra: str, out: str = "work") -> list[str]:
    return ["ingest", str(root / "dump"), "--out", str(root / out), *extra]


def _mapping_exists(root: Path) -> list[str]:
    _write(root / "mapping.toml", "# mine\n")
    return _ingest(root, "--show-mapping", "--write-mapping", str(root / "mapping.toml"))


def _mapping_new_name(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd[:-1], str(root / "mapping-2.toml")]  # "give a new file name"


def _manifest_damaged(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    _write(root / "out" / "manifest.json", '{"outputs": ')
    return _audit(root)


def _mapping_under_file(root: Path) -> list[str]:
    _write(root / "cases", "a file")
    return _ingest(root, "--show-mapping", "--write-mapping", str(root / "cases" / "m.toml"))


def _mapping_writable(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd[:-1], str(root / "m.toml")]  # "give a file in a folder you may write"


def _work_under_file(root: Path) -> list[str]:
    _write(root / "cases", "a file")
    return _ingest(root, out="cases/work")


def _work_writable(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _ingest(root, out="case-work")  # "give an output folder ... whose parents are folders"


# fmt: off
CASES = [
    Case("labels: unknown decision", _labels_bad, r"write confirm or reject", _labels_fixed),
    Case("list: not CSV or XLSX", _txt_list, r"save the list .* as CSV", _saved_as_csv),
    Case("--out is a file", _out_is_file, r"give --out a folder name", _new_folder),
    Case("--out holds other files", _out_not_empty, r"pass --overwrite", _overwrite),
    Case("key inside OUT", _key_inside, r"key_file to a path outside", _key_outside),
    Case("case key damaged", _key_damaged, r"restore the key file", _key_restored),
    Case("case file not TOML", _bad_toml, r"fix the syntax", _toml_fixed),
    Case("registry date", _bad_date, r"write dates as 2013-02-04", _date_fixed),
    Case("review before audit", _review_first, r"run 'privguard audit'", _audit_then_review),
    Case("review --to a folder", _review_to_folder, r"give a file name", _review_to_file),
    Case("dump is a file", _dump_is_file, r"give the folder that holds it", _dump_folder),
    Case("dump folder empty", _dump_empty, r"copy the call records into it", _records_copied),
    Case("--out under a file", _out_under_file, r"whose parents are folders", _out_parent_folder),
    Case("case file: unknown section", _unknown_section, r"known sections: .*case", _section_named),
    Case("verify: not an audit", _verify_not_audit, r"output folder of a finished",
         _verify_the_out),
    Case("signing key damaged", _signing_key_damaged, r"restore the signing key",
         _signing_key_restored),
    Case("ingest --write-mapping exists", _mapping_exists, r"give a new file name",
         _mapping_new_name),
    Case("ingest --out under a file", _work_under_file, r"whose parents are folders",
         _work_writable),
    Case("ingest --mapping: bad entries", _mapping_bad, r"correct each entry", _mapping_corrected),
    Case("--out: damaged manifest", _manifest_damaged, r"or pass --overwrite", _overwrite),
    Case("ingest --write-mapping under a file", _mapping_under_file,
         r"give a file in a folder you may write", _mapping_writable),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    _, again = provoke_and_fix(case, tmp_path)
    assert again.exit_code == 0, (again.output, again.exception and str(again.exception))
