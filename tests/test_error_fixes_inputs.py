"""Every fix an error message suggests works, part 2 (issue 13): the user's input files.

The same method as tests/test_error_fixes.py (whose helpers this module shares): provoke
one error with the smallest input, check the message names the file or place and says
the fix, apply that fix literally, run the same command again, and require success.
These cases cover the attorney lists (directory, registry, labels), the case file and
its sections, the dump (missing, unmappable, archives past a limit, a link leading out)
and verify. A last test checks that no message echoes a control byte from the input raw.

Not tested here, on purpose (see the report of branch errfix for the full table):
"report this as a bug" sites (engines/dialect.py, spark.py, write.py, parallel.py,
duckdb.py's last one), programming-contract errors (ledger/entry.py, store.py signer,
policy.py routes), tamper/restore-from-backup messages whose fix is not an input change
(blobs.py, ledger/check.py, vault keys), and the service's HTTP errors.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from privguard.errors import PrivguardError
from test_error_fixes import Case, _audit, _dump, _error, _run, _with, _write, provoke_and_fix

Fixer = Callable[[Path, PrivguardError, list[str]], list[str]]


def _case_file(root: Path, text: str) -> list[str]:
    _write(root / "case.toml", text)
    return _audit(root, "--config", str(root / "case.toml"))


def _rewrite_case(text: str) -> Fixer:
    def fix(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
        _write(root / "case.toml", text)
        return cmd

    return fix


# --- attorney lists -----------------------------------------------------------------------


def _dir_missing(root: Path) -> list[str]:
    return _with(_audit(root), str(root / "bar.csv"), str(root / "bar-list.csv"))


def _right_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root)  # "check the path": the list is bar.csv


def _dir_is_folder(root: Path) -> list[str]:
    (root / "lists").mkdir()
    (root / "bar.csv").rename(root / "lists" / "bar.csv")
    return _with(_audit(root), str(root / "bar.csv"), str(root / "lists"))


def _file_in_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "lists"), str(root / "lists" / "bar.csv"))  # "give the file"


def _dir_empty(root: Path) -> list[str]:
    _write(root / "bar.csv", "")
    return _audit(root)


def _dir_written(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "bar.csv", "name,bar_number,phones\nJane Roe,TX1,5125550100\n")
    return cmd  # "check that it is the list": the list was saved empty; save it again


# Most cells of the "Office" column are notes, so no column is recognized as phones.
_NO_PHONES = "name,bar_number,office\nJane Roe,TX1,5125550100\nAl Poe,TX2,see web\n"
_NO_PHONES += "Bo Lee,TX3,see web\nCy Dee,TX4,see web\n"


def _dir_no_phone_column(root: Path) -> list[str]:
    _write(root / "bar.csv", _NO_PHONES)
    return _audit(root)


def _name_phone_column(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "[identify] directory_columns = { phone = [...] }" with this file's column.
    _write(root / "case.toml", '[identify]\ndirectory_columns = { phone = ["office"] }\n')
    return [*cmd, "--config", str(root / "case.toml")]


def _dir_wrong_column(root: Path) -> list[str]:
    return _case_file(root, '[identify]\ndirectory_columns = { phone = ["Cell"] }\n')


def _reg_no_number_column(root: Path) -> list[str]:
    _write(root / "dnr.csv", "attorney_name,date_added,office\nJane Roe,2012-01-01,see web\n"
           "Al Poe,2012-01-01,see web\nBo Lee,2012-01-01,5125550100\n")  # fmt: skip
    return _audit(root)


def _name_number_column(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "[identify] registry_columns = { number = [...] }": the checker must accept it.
    _write(root / "case.toml", '[identify]\nregistry_columns = { number = ["office"] }\n')
    return [*cmd, "--config", str(root / "case.toml")]


def _reg_no_valid_number(root: Path) -> list[str]:
    _write(root / "dnr.csv", "number,attorney_name,date_added\n12,Jane Roe,2012-01-01\n")
    return _audit(root)


def _reg_numbers_written(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "dnr.csv", "number,attorney_name,date_added\n5125550100,Jane Roe,2012-01-01\n")
    return cmd  # "check that ... its number column holds numbers"


def _xlsx_damaged(root: Path) -> list[str]:
    _write(root / "bar.xlsx", "this was never a spreadsheet")
    return _with(_audit(root), str(root / "bar.csv"), str(root / "bar.xlsx"))


def _saved_again_as_csv(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root)  # "save it again as .xlsx or .csv": bar.csv is that copy


def _labels_no_decision(root: Path) -> list[str]:
    _write(root / "labels.csv", "number,verdict\n+15125550177,confirm\n")
    return _audit(root, "--labels", str(root / "labels.csv"))


def _labels_from_review(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "use the sheet written by 'privguard review' and fill its decision column"
    assert _run(_audit(root, out="first")).exit_code == 0
    sheet = root / "labels.csv"
    sheet.unlink()
    assert _run(["review", str(root / "first"), "--to", str(sheet)]).exit_code == 0
    lines = sheet.read_text(encoding="utf-8").splitlines()
    col = next(i for i, h in enumerate(lines[0].split(",")) if h.strip().lower() == "decision")
    filled = [lines[0]] + [",".join(
        "reject" if i == col else c for i, c in enumerate(line.split(","))
    ) for line in lines[1:2]] + lines[2:]  # fmt: skip
    _write(sheet, "\n".join(filled) + "\n")
    return cmd


def _labels_bad_number(root: Path) -> list[str]:
    _write(root / "labels.csv", "number,decision\n555-01,confirm\n")
    return _audit(root, "--labels", str(root / "labels.csv"))


def _labels_number_kept(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "labels.csv", "number,decision\n+15125550177,confirm\n")
    return cmd  # "keep the number column as privguard wrote it" (E.164)


# --- the case file ------------------------------------------------------------------------


def _case_missing(root: Path) -> list[str]:
    return _audit(root, "--config", str(root / "case.tom"))


def _case_right_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    _write(root / "case.toml", "")
    return _with(cmd, str(root / "case.tom"), str(root / "case.toml"))  # "check the path"


def _case_bad_spark(root: Path) -> list[str]:
    return _case_file(root, '[spark]\nconf = { "executor.memory" = "4g" }\n')


def _case_bad_case(root: Path) -> list[str]:
    return _case_file(root, "[case]\nname = 12\n")


def _case_bad_ingest(root: Path) -> list[str]:
    return _case_file(root, "[ingest]\nmax_archive_depth = 0\n")


# --- the dump -----------------------------------------------------------------------------


def _dump_missing(root: Path) -> list[str]:
    return _with(_audit(root), str(root / "dump"), str(root / "dmup"))


def _dump_given(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _audit(root)  # "give the folder that holds the leaked or produced tables"


def _unmappable(root: Path) -> list[str]:
    _write(root / "dump" / "roster.csv", "inmate_account,inmate_name\n1000,Person 0\n")
    return _audit(root)


def _mapping_skips(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "write these lines into a TOML file ... (or skip the table) ... --config FILE": the
    # roster is not a table of calls, so its snippet's own "skip = true" line is used.
    snippet = (err.fix or "").split("\n\n", 1)[1].splitlines()
    assert "# or, if this is not a table of calls:  skip = true" in snippet, snippet
    kept = [line for line in snippet if not line.startswith(("columns", "# a date"))]
    text = "\n".join(line.split(":  ")[-1] for line in kept)
    _write(root / "mapping.toml", text + "\n")
    return [*cmd, "--config", str(root / "mapping.toml")]


def _zip_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def _nested_zip(root: Path) -> list[str]:
    calls = (root / "dump" / "calls.csv").read_bytes()
    (root / "dump" / "calls.csv").unlink()
    inner = _zip_of("calls.csv", calls)
    (root / "dump" / "export.zip").write_bytes(_zip_of("inner.zip", inner))
    return _case_file(root, "[ingest]\nmax_archive_depth = 1\n")


def _big_zip(root: Path) -> list[str]:
    calls = (root / "dump" / "calls.csv").read_bytes()
    (root / "dump" / "calls.csv").unlink()
    (root / "dump" / "export.zip").write_bytes(_zip_of("calls.csv", calls))
    return _case_file(root, '[ingest]\nmax_extracted_bytes = "1KB"\n')


def _packed_zip(root: Path) -> list[str]:
    calls = (root / "dump" / "calls.csv").read_bytes()
    (root / "dump" / "calls.csv").unlink()  # blank lines pack tight, and are no rows
    (root / "dump" / "export.zip").write_bytes(_zip_of("calls.csv", calls + b"\n" * (2 << 20)))
    return _case_file(root, "[ingest]\nmax_compression_ratio = 10\n")


def _link_outside(root: Path) -> list[str]:
    _write(root / "secret.csv", "x\n")
    (root / "dump" / "notes.csv").symlink_to(root / "secret.csv")
    return _audit(root)


def _link_removed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "dump" / "notes.csv").unlink()  # "or remove it, and run again"
    return cmd


# --- verify -------------------------------------------------------------------------------


def _audited(root: Path) -> str:
    done = _run(_audit(root))
    assert done.exit_code == 0, done.output
    key = re.search(r"Public key: ([0-9a-f]{64})", done.output)
    assert key, done.output
    return key.group(1)


def _verify_bad_key(root: Path) -> list[str]:
    _write(root / "key.txt", _audited(root))
    return ["verify", str(root / "out"), "--key", "3b6a27bc..."]


def _printed_key(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "give the key printed at the end of the audit (or a file holding it)"
    return [*cmd[:-1], str(root / "key.txt")]


def _verify_sig_missing(root: Path) -> list[str]:
    _audited(root)
    (root / "original.sig").write_bytes((root / "out" / "manifest.sig").read_bytes())
    (root / "out" / "manifest.sig").unlink()
    return ["verify", str(root / "out")]


def _sig_restored(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "out" / "manifest.sig").write_bytes((root / "original.sig").read_bytes())
    return cmd  # "restore manifest.sig from the original copy of the audit"


def _verify_manifest_changed(root: Path) -> list[str]:
    _audited(root)
    manifest = root / "out" / "manifest.json"
    (root / "original.json").write_bytes(manifest.read_bytes())
    manifest.write_bytes(manifest.read_bytes().replace(b"{", b"{ ", 1))
    return ["verify", str(root / "out")]


def _manifest_restored(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "out" / "manifest.json").write_bytes((root / "original.json").read_bytes())
    return cmd  # "restore manifest.json from the original copy of the audit"


# fmt: off
CASES = [
    Case("directory: no such file", _dir_missing, r"check the path", _right_path),
    Case("directory: a folder", _dir_is_folder, r"give .*file", _file_in_folder),
    Case("directory: empty", _dir_empty, r"check that it is the list", _dir_written),
    Case("directory: no phone column", _dir_no_phone_column, r"directory_columns = \{ phone",
         _name_phone_column),
    Case("directory: named column absent", _dir_wrong_column, r"correct \[identify\] dir",
         _rewrite_case('[identify]\ndirectory_columns = { phone = ["phones"] }\n')),
    Case("directory: damaged xlsx", _xlsx_damaged, r"save it again as \.xlsx or \.csv",
         _saved_again_as_csv),
    Case("registry: no number column", _reg_no_number_column, r"registry_columns = \{ number",
         _name_number_column),
    Case("registry: no valid number", _reg_no_valid_number, r"number column holds numbers",
         _reg_numbers_written),
    Case("labels: no decision column", _labels_no_decision, r"written by 'privguard review'",
         _labels_from_review),
    Case("labels: number not valid", _labels_bad_number, r"keep the number column",
         _labels_number_kept),
    Case("case file: no such file", _case_missing, r"check the path", _case_right_path),
    Case("case file: [spark] conf", _case_bad_spark, r"not a Spark setting \(spark\.\*\)",
         _rewrite_case('[spark]\nconf = { "spark.executor.memory" = "4g" }\n')),
    Case("case file: [case] name", _case_bad_case, r"\[case\]",
         _rewrite_case('[case]\nname = "12"\n')),
    Case("case file: [ingest] depth", _case_bad_ingest, r"from 1 to 100",
         _rewrite_case("[ingest]\nmax_archive_depth = 1\n")),
    Case("dump: no such folder", _dump_missing, r"give the folder", _dump_given),
    Case("dump: table not mappable", _unmappable, r"--config FILE", _mapping_skips),
    Case("dump: archives too deep", _nested_zip, r"raise \[ingest\] max_archive_depth",
         _rewrite_case("[ingest]\nmax_archive_depth = 2\n")),
    Case("dump: archives too big", _big_zip, r"raise \[ingest\] max_extracted_bytes",
         _rewrite_case('[ingest]\nmax_extracted_bytes = "1MB"\n')),
    Case("dump: archive packed tight", _packed_zip, r"raise \[ingest\] max_compression_ratio",
         _rewrite_case("[ingest]\nmax_compression_ratio = 100000\n")),
    Case("dump: link leads outside", _link_outside, r"or remove it", _link_removed),
    Case("verify: key not hex", _verify_bad_key, r"key printed at the end", _printed_key),
    Case("verify: manifest.sig gone", _verify_sig_missing, r"restore manifest\.sig", _sig_restored),
    Case("verify: manifest changed", _verify_manifest_changed, r"restore manifest\.json",
         _manifest_restored),
]
# fmt: on


# Where a message's place is not a path under the case folder: an archive member, or the
# value given on the command line.
_PLACES = {
    "dump: archives too deep": "export.zip/inner.zip",
    "dump: archives too big": "export.zip/calls.csv",
    "dump: archive packed tight": "export.zip/calls.csv",
    "verify: key not hex": "3b6a27bc...",
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    text, again = provoke_and_fix(case, tmp_path)
    assert _PLACES.get(case.name, str(tmp_path)) in text, (
        f"the message names no file or place: {text}"
    )
    assert again.exit_code == 0, (again.output, again.exception and str(again.exception))


@pytest.mark.parametrize("where", ["name", "cell"])
def test_no_control_byte_from_the_input_is_echoed_raw(where: str, tmp_path: Path) -> None:
    _dump(tmp_path)
    if where == "name":
        cmd = _with(_audit(tmp_path), str(tmp_path / "bar.csv"), str(tmp_path / "bar\x1b[2J.csv"))
    else:
        _write(tmp_path / "labels.csv", "number,decision\n+15125550177,\x1b[31mmaybe\x07\n")
        cmd = _audit(tmp_path, "--labels", str(tmp_path / "labels.csv"))
    text = _error(_run(cmd)).render()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), repr(text)
    assert re.search(r"\\x1b|\\u001b|\\033", text), text  # shown, escaped
