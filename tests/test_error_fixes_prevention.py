"""Every fix an error message suggests works, part 3 (issue 13): the prevention commands
that take files (registry import-feed, diff, import-audit, replay, compliance).

The method of tests/test_error_fixes.py: provoke the error with the smallest input,
check the message names the file or place and says the fix, apply the fix literally,
run again and require that the command gets past that error. The registry lives in a
SQLite database in the test's folder (--data-dir).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from privguard.errors import PrivguardError
from test_error_fixes import Case, _audit, _run, _with, _write, provoke_and_fix

Fixer = Callable[[Path, PrivguardError, list[str]], list[str]]
_NO_PHONES = "name,bar_number,office\nJane Roe,TX1,5125550100\nAl Poe,TX2,see web\n"
_NO_PHONES += "Bo Lee,TX3,see web\nCy Dee,TX4,see web\n"


def _reg(root: Path, *args: str) -> list[str]:
    return ["registry", *args, "--data-dir", str(root / "reg")]


def _feed(root: Path, name: str) -> list[str]:
    return _reg(root, "import-feed", str(root / name), "--source", "bar_feed")


def _feed_missing(root: Path) -> list[str]:
    return _feed(root, "bar-feed.csv")


def _feed_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "bar-feed.csv"), str(root / "bar.csv"))  # "check the path"


def _feed_numbers_file(root: Path) -> list[str]:
    (root / "bar.csv").rename(root / "bar.numbers")
    return _feed(root, "bar.numbers")


def _feed_saved_as_csv(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "bar.numbers").rename(root / "bar.csv")  # "save the list ... as CSV"
    return _feed(root, "bar.csv")


def _feed_no_phone_column(root: Path) -> list[str]:
    _write(root / "bar.csv", _NO_PHONES)
    return _feed(root, "bar.csv")


def _feed_header_renamed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # import-feed takes no case file: "title the phone column 'phone' in the file"
    _write(root / "bar.csv", _NO_PHONES.replace(",office\n", ",phone\n", 1))
    return cmd


def _diff_no_facility(root: Path) -> list[str]:
    assert _run(_feed(root, "bar.csv")).exit_code == 0
    return _reg(root, "diff", "registry", str(root / "dnr.csv"))


def _diff_with_facility(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--facility", "MAIN-JAIL"]  # "... --facility MAIN-JAIL"


def _diff_missing(root: Path) -> list[str]:
    return _reg(root, "diff", str(root / "dnr.csv"), str(root / "jail.csv"))


def _diff_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "jail.csv"), str(root / "dnr.csv"))  # "check the path"


def _import_not_audit(root: Path) -> list[str]:
    (root / "case").mkdir()
    assert _run(_audit(root)).exit_code == 0
    return _reg(root, "import-audit", str(root / "case"))


def _import_the_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "case"), str(root / "out"))  # "give the OUT folder"


def _replay_missing(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    return ["replay", str(root / "case-out"), "--registry", str(root / "dnr.csv")]


def _replay_audit_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "check the path; AUDIT_OUT is the --out folder of an audit"
    return _with(cmd, str(root / "case-out"), str(root / "out"))


def _replay_registry_missing(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    return ["replay", str(root / "out"), "--registry", str(root / "registry.parquet")]


def _replay_registry_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "check the path; --registry is ... the audit's restricted/registry.parquet"
    found = sorted((root / "out").rglob("registry.parquet"))
    assert found, "the audit wrote no registry.parquet"
    return [*cmd[:-1], str(found[0])]


def _compliance(root: Path, *args: str) -> list[str]:
    return ["compliance", *args, "--data-dir", str(root / "reg")]


def _compliance_bad_date(root: Path) -> list[str]:
    return _compliance(root, "--from", "1/1/25", "--to", "2025-06-30", "--out", str(root / "r"))


def _compliance_date(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "1/1/25", "2025-01-01")  # "write it as --from 2025-01-01"


def _compliance_backwards(root: Path) -> list[str]:
    return _compliance(root, "--from", "2025-06-30", "--to", "2025-01-01", "--out", str(root / "r"))


def _compliance_in_order(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "give the period's first day, then its last"
    return _compliance(root, "--from", "2025-01-01", "--to", "2025-06-30", "--out", str(root / "r"))


def _compliance_again(root: Path) -> list[str]:
    cmd = _compliance(root, "--from", "2025-01-01", "--to", "2025-06-30", "--out", str(root / "r"))
    assert _run(cmd).exit_code == 0
    return cmd


def _compliance_other_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "r"), str(root / "r2"))  # "choose another --out folder"


def _verify_no_key(root: Path) -> list[str]:
    _compliance_again(root)
    return _compliance(root, "--verify", str(root / "r"))


def _verify_with_key(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--key", str(root / "r" / "compliance.vkey")]  # "--key compliance.vkey"


def _snapshot(root: Path, facility: str) -> list[str]:
    return _reg(root, "snapshot", "--facility", facility, "--out", str(root / "main.snapshot"))


def _snapshot_bad_code(root: Path) -> list[str]:
    assert _run(_feed(root, "bar.csv")).exit_code == 0
    return _snapshot(root, "MAIN JAIL")


def _snapshot_code(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "MAIN JAIL", "MAIN-JAIL")  # "--facility MAIN-JAIL"


def _import_not_snapshot(root: Path) -> list[str]:
    assert _run(_feed(root, "bar.csv")).exit_code == 0
    return _reg(root, "import-snapshot", str(root / "dnr.csv"))


def _import_binary(root: Path) -> list[str]:
    assert _run(_feed(root, "bar.csv")).exit_code == 0
    (root / "main.snapshot.gz").write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")  # zipped by mail
    return _reg(root, "import-snapshot", str(root / "main.snapshot.gz"))


def _import_written_unchanged(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "give the .snapshot file privguard wrote, unchanged"
    assert _run(_snapshot(root, "MAIN-JAIL")).exit_code == 0
    return _with(cmd, str(root / "main.snapshot.gz"), str(root / "main.snapshot"))


def _import_written_snapshot(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "give the .snapshot file privguard wrote"
    assert _run(_snapshot(root, "MAIN-JAIL")).exit_code == 0
    return _with(cmd, str(root / "dnr.csv"), str(root / "main.snapshot"))


def _damaged(root: Path, name: str) -> Path:
    """A finished audit in OUT whose restricted ``name`` is then damaged; returns its path."""
    assert _run(_audit(root)).exit_code == 0
    path = root / "out" / "restricted" / name
    assert path.is_file(), path
    return path


def _rerun(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "re-run the audit to write it again": the same command, into the same OUT folder
    again = _run(_audit(root))
    assert again.exit_code == 0, again.output
    return cmd


def _invite_parquet_damaged(root: Path) -> list[str]:
    _damaged(root, "numbers.parquet").write_bytes(b"PAR1 cut short")
    return _reg(root, "import-audit", str(root / "out"))


def _invite_parquet_old(root: Path) -> list[str]:
    import pyarrow.parquet as pq

    path = _damaged(root, "numbers.parquet")
    pq.write_table(pq.read_table(path).drop_columns(["classification"]), path)  # an old audit
    return _reg(root, "import-audit", str(root / "out"))


def _vault_import(root: Path) -> list[str]:
    return ["vault", "import-audit", str(root / "out"), "--role", "registrar", "--data-dir",
            str(root / "vd")]  # fmt: skip


def _vault_parquet_damaged(root: Path) -> list[str]:
    _damaged(root, "numbers.parquet").write_bytes(b"PAR1 cut short")
    return _vault_import(root)


def _vault_csv_edited(root: Path) -> list[str]:
    path = _damaged(root, "privileged_calls.csv")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0].replace("classification", "class") + "".join(lines[1:]))
    return _vault_import(root)


def _admin_name_taken(root: Path) -> list[str]:
    from privguard.internals.prevention.db import make_engine, sessions, transaction, upgrade
    from privguard.internals.prevention.service.auth import create_user
    from privguard.internals.prevention.settings import load_service_settings

    engine = make_engine(load_service_settings(data_dir=root / "svc").url)
    upgrade(engine)
    with transaction(sessions(engine)) as s:
        create_user(s, "alice", "registrar", password="correct horse battery staple")
    engine.dispose()
    return ["serve", "--create-admin", "alice", "--data-dir", str(root / "svc")]


def _admin_other_name(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "alice", "alice-admin")  # "choose another name for the administrator"


def _service_settings_bad(root: Path) -> list[str]:
    _write(root / "service.toml", '[service]\nport = "8750"\ndata_dir = "svc"\n')
    return ["serve", "--create-admin", "alice", "--config", str(root / "service.toml")]


def _service_settings_corrected(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "correct each setting listed": port must be a whole number
    _write(
        root / "service.toml", f'[service]\nport = 8750\ndata_dir = "{(root / "svc").as_posix()}"\n'
    )
    return cmd


def _snapshot_again(root: Path) -> list[str]:
    assert _run(_feed(root, "bar.csv")).exit_code == 0
    assert _run(_snapshot(root, "MAIN-JAIL")).exit_code == 0
    return _snapshot(root, "MAIN-JAIL")


def _snapshot_force(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--force"]  # "choose another --out, or pass --force"


def _verify_other_issuer(root: Path) -> list[str]:
    _compliance_again(root)
    other = ["compliance", "--from", "2025-01-01", "--to", "2025-06-30", "--out",
             str(root / "r-other"), "--data-dir", str(root / "reg-other")]  # fmt: skip
    assert _run(other).exit_code == 0
    return _compliance(root, "--verify", str(root / "r"), "--key",
                       str(root / "r-other" / "compliance.vkey"))  # fmt: skip


def _verify_issuers_key(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "the compliance.vkey the issuer wrote with this report"
    return _with(
        cmd, str(root / "r-other" / "compliance.vkey"), str(root / "r" / "compliance.vkey")
    )


def _compliance_no_out(root: Path) -> list[str]:
    return _compliance(root, "--from", "2025-01-01", "--to", "2025-06-30")


def _compliance_out_given(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--out", str(root / "report-2025h1")]  # "--out report-2025h1"


# fmt: off
CASES = [
    Case("import-feed: no such file", _feed_missing, r"check the path", _feed_path),
    Case("import-feed: not CSV or XLSX", _feed_numbers_file, r"save the list .* as CSV",
         _feed_saved_as_csv),
    Case("import-feed: no phone column", _feed_no_phone_column, r"title the phone column",
         _feed_header_renamed),
    Case("diff: registry needs --facility", _diff_no_facility, r"--facility MAIN-JAIL",
         _diff_with_facility),
    Case("diff: no such file", _diff_missing, r"check the path", _diff_path),
    Case("import-audit: not an OUT", _import_not_audit, r"give the OUT folder", _import_the_out),
    Case("replay: no such audit", _replay_missing, r"AUDIT_OUT is the --out folder",
         _replay_audit_out),
    Case("replay: no such registry", _replay_registry_missing, r"--registry is .*registry\.parquet",
         _replay_registry_path),
    Case("compliance: not a date", _compliance_bad_date, r"write it as --from 2025-01-01",
         _compliance_date),
    Case("compliance: --to before --from", _compliance_backwards, r"first day, then its last",
         _compliance_in_order),
    Case("compliance: report exists", _compliance_again, r"choose another --out",
         _compliance_other_out),
    Case("snapshot: facility code", _snapshot_bad_code, r"--facility MAIN-JAIL", _snapshot_code),
    Case("import-snapshot: not one", _import_not_snapshot, r"\.snapshot file privguard wrote",
         _import_written_snapshot),
    Case("import-snapshot: not text", _import_binary, r"\.snapshot file privguard wrote, unchanged",
         _import_written_unchanged),
    Case("compliance: --verify, no key", _verify_no_key, r"--key compliance\.vkey",
         _verify_with_key),
    Case("import-audit: numbers.parquet damaged", _invite_parquet_damaged,
         r"re-run the audit to write it again", _rerun),
    Case("import-audit: numbers.parquet old", _invite_parquet_old,
         r"re-run the audit with this privguard version", _rerun),
    Case("vault import-audit: numbers.parquet damaged", _vault_parquet_damaged,
         r"re-run the audit to write it again", _rerun),
    Case("vault import-audit: csv edited", _vault_csv_edited,
         r"re-run the audit to write it again", _rerun),
    Case("serve --create-admin: name taken", _admin_name_taken,
         r"choose another name for the administrator", _admin_other_name),
    Case("serve --config: setting wrong", _service_settings_bad,
         r"port: must be a whole number.*correct each setting listed",
         _service_settings_corrected),
    Case("snapshot: --out exists", _snapshot_again, r"or pass --force", _snapshot_force),
    Case("compliance: no --out", _compliance_no_out, r"--out report-2025h1",
         _compliance_out_given),
    Case("compliance: --verify, other key", _verify_other_issuer,
         r"the compliance\.vkey the issuer wrote", _verify_issuers_key),
]
# fmt: on
# 'diff' exits 1 when the two sides differ: past the error, not a failure.
_DIFFERS = {"diff: registry needs --facility", "diff: no such file"}
# Where the place is an option, not a path under the test's folder.
_PLACES = {
    "diff: registry needs --facility": "--facility",
    "compliance: not a date": "--from",
    "compliance: --to before --from": "--to",
    "compliance: --verify, no key": "--key",
    "import-feed: no phone column": "bar.csv row 1",
    "snapshot: facility code": "MAIN JAIL",
    "serve --create-admin: name taken": "--create-admin",
    "compliance: no --out": "--out",
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    text, again = provoke_and_fix(case, tmp_path)
    assert _PLACES.get(case.name, str(tmp_path)) in text, f"no file or place named: {text}"
    past = again.exit_code == 1 and not isinstance(again.exception, PrivguardError)
    assert again.exit_code == 0 or (case.name in _DIFFERS and past), (
        again.output,
        again.exception and str(again.exception),
    )
