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
from test_error_fixes import (
    CALLS,
    NUMBERS,
    Case,
    _audit,
    _dump,
    _error,
    _run,
    _with,
    provoke_and_fix,
)

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


def _one_long_line(root: Path) -> None:
    (root / "dump" / "notes.txt").write_text("a" * 200_000 + "\n")  # a minified log, say


def _notes_moved_out(root: Path) -> None:
    (root / "dump" / "notes.txt").rename(root / "notes.txt")  # "move it out of the dump folder"


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
    Unread("text: a value too long", _one_long_line, "notes.txt",
           r"cannot be read as a table.*move it out of the dump folder", _notes_moved_out),
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


# --- the vault commands -------------------------------------------------------------------

WHY = ["--case", "CR-2024-1", "--reason", "bail hearing prep"]


def _vault(root: Path, *args: str, role: str = "records_officer") -> list[str]:
    return ["vault", *args, "--role", role, "--data-dir", str(root / "vd")]


def _stored(root: Path) -> str:
    """One recording in the vault (stored as the gate's record=true would let it be)."""
    from privguard.internals.prevention.settings import load_service_settings
    from privguard.internals.prevention.vault import Vault
    from vault_helpers import store

    vault = Vault.open(load_service_settings(data_dir=root / "vd"))
    return store(vault, "+15125550100", inmate="A100")


def _query_no_why(root: Path) -> list[str]:
    return _vault(root, "query", "--inmate", "A100", role="investigator")


def _with_why(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, *WHY]  # "give a case number and a written reason of at least 10 characters"


def _query_no_filter(root: Path) -> list[str]:
    return _vault(root, "query", *WHY)


def _with_inmate(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd, "--inmate", "A100"]  # "give an inmate account, a dialed number or dates"


def _query_bad_number(root: Path) -> list[str]:
    return _vault(root, "query", "--number", "call me", *WHY)


def _number_written(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "call me", "+1 512 555 0100")  # "write the number as +1 512 555 0100"


def _export_exists(root: Path) -> list[str]:
    (root / "calls-a100.csv").write_text("mine\n")
    return _vault(root, "query", "--inmate", "A100", "--out", str(root / "calls-a100.csv"), *WHY)


def _new_file(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    old = next(a for a in cmd if a.endswith((".csv", ".wav", ".txt", ".key")))
    return _with(cmd, old, old[:-4] + "-2" + old[-4:])  # "give a new name" (a new file)


def _produce(root: Path, start: str, end: str, role: str = "records_officer") -> list[str]:
    return _vault(root, "produce", "--inmate", "A100", "--from", start, "--to", end, "--out",
                  str(root / "prod"), *WHY, role=role)  # fmt: skip


def _produce_wrong_role(root: Path) -> list[str]:
    return _produce(root, "2024-01-01", "2024-04-01", role="investigator")


def _role_that_may(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "investigator", "records_officer")  # "... whose role may produce (...)"


def _unknown_role(root: Path) -> list[str]:
    return _produce(root, "2024-01-01", "2024-04-01", role="records officer")


def _role_spelled(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "records officer", "records_officer")  # "give one of the roles: ..."


def _produce_backwards(root: Path) -> list[str]:
    return _produce(root, "2024-04-01", "2024-01-01")


def _in_order(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _produce(root, "2024-01-01", "2024-04-01")  # "the first day, then a later day"


def _produce_exists(root: Path) -> list[str]:
    (root / "prod").mkdir()
    return _produce(root, "2024-01-01", "2024-04-01")


def _new_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "prod"), str(root / "prod-2"))  # "give a new folder name"


def _vault_import_not_audit(root: Path) -> list[str]:
    assert _run(_audit(root)).exit_code == 0
    return _vault(root, "import-audit", str(root / "dump"), *WHY, role="registrar")


def _vault_import_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "dump"), str(root / "out"))  # "give the OUT folder"


def _not_a_spool(root: Path) -> list[str]:
    return _vault(root, "ingest-spool", str(root / "dump"), role="facility_system")


def _the_spool(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    for sub in ("metadata", "pcaps"):  # "the folder that holds 'metadata' and 'pcaps'"
        (root / "spool" / sub).mkdir(parents=True)
    return _with(cmd, str(root / "dump"), str(root / "spool"))


def _escrow_target_exists(root: Path) -> list[str]:
    (root / "escrow.key").write_text("mine\n")
    return _vault(root, "escrow-move", "--to", str(root / "escrow.key"))


def _get_out_exists(root: Path) -> list[str]:
    rid = _stored(root)
    (root / "call.wav").write_text("mine\n")
    return _vault(root, "get", rid, "--out", str(root / "call.wav"), *WHY, role="investigator")


def _purge_unknown(root: Path) -> list[str]:
    _stored(root)
    return _vault(root, "purge", "rec_0a1b", "--authority", "Order 2024-1", "--out",
                  str(root / "purge.txt"), *WHY, role="admin")  # fmt: skip


def _purge_listed_id(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "check the recording ids: 'privguard vault query' lists them, first"
    listed = _run(_vault(root, "query", "--inmate", "A100", *WHY))
    assert listed.exit_code == 0, listed.output
    return _with(cmd, "rec_0a1b", listed.output.split()[0])


def _purge_out_exists(root: Path) -> list[str]:
    rid = _stored(root)
    (root / "purge.txt").write_text("mine\n")
    return _vault(root, "purge", rid, "--authority", "Order 2024-1", "--out",
                  str(root / "purge.txt"), *WHY, role="admin")  # fmt: skip


def _zip_exists(root: Path) -> list[str]:
    _stored(root)
    (root / "prod.zip").write_text("mine\n")
    return [*_produce(root, "2024-01-01", "2099-01-01"), "--zip"]


def _zip_moved_away(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    (root / "prod.zip").rename(root / "prod-mine.zip")  # "move it away"
    return cmd


def _certificate(root: Path) -> tuple[Path, str]:
    """A purge certificate in the test's folder, and the vault's vkey."""
    rid = _stored(root)
    done = _run(_vault(root, "purge", rid, "--authority", "Order 2024-1", "--out",
                       str(root / "purge.txt"), *WHY, role="admin"))  # fmt: skip
    assert done.exit_code == 0, done.output
    return root / "purge.txt", _run(_vault(root, "key")).output.strip()


def _certificate_missing(root: Path) -> list[str]:
    _, key = _certificate(root)
    return ["vault", "verify-certificate", str(root / "purge-1.txt"), "--key", key]


def _certificate_issued(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "purge-1.txt"), str(root / "purge.txt"))  # "... (purge-*.txt)"


def _certificate_other_key(root: Path) -> list[str]:
    path, _ = _certificate(root)
    (root / "other").mkdir()
    other = _run(["vault", "key", "--role", "admin", "--data-dir", str(root / "other")])
    return ["vault", "verify-certificate", str(path), "--key", other.output.strip()]


def _certificate_issuers_key(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "check --key: give the vkey of the vault that issued it (privguard vault key)"
    return [*cmd[:-1], _run(_vault(root, "key")).output.strip()]


def _quarantined(root: Path, data: str = "vd") -> str:
    """A recording quarantined by mistake, with the escrow key moved off to escrow-DATA.key."""
    rid = _stored(root) if data == "vd" else ""
    for args, role in (
        (["quarantine", "--number", "+15125550100", "--reason", "number registered"], "registrar"),
        (["escrow-move", "--to", str(root / f"escrow-{data}.key")], "admin"),
    ):
        done = _run([*_vault(root, *args, role=role)[:-1], str(root / data)])
        assert done.exit_code == 0, done.output
    return rid


def _release(root: Path, rid: str, key: str) -> list[str]:
    return _vault(root, "release", rid, "--escrow-key", str(root / key), "--case", "ORD-2",
                  "--reason", "number registered in error", role="admin")  # fmt: skip


def _release_wrong_file(root: Path) -> list[str]:
    (root / "notes.txt").write_text("the escrow key is on the blue stick\n")
    return _release(root, _quarantined(root), "notes.txt")


def _release_other_vault(root: Path) -> list[str]:
    rid = _quarantined(root)
    _quarantined(root, "other")
    return _release(root, rid, "escrow-other.key")


def _escrow_moved(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "give --escrow-key the file that 'privguard vault escrow-move --to FILE' wrote"
    return _with(cmd, cmd[cmd.index("--escrow-key") + 1], str(root / "escrow-vd.key"))


def _certificate_key(root: Path, key: str) -> list[str]:
    path, _ = _certificate(root)
    return ["vault", "verify-certificate", str(path), "--key", key]


def _certificate_junk_key(root: Path) -> list[str]:
    return _certificate_key(root, "vault+key")


def _vkey_copied(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return [*cmd[:-1], _run(_vault(root, "key")).output.strip()]  # "copy the vkey line ..."


def _certificate_key_file_missing(root: Path) -> list[str]:
    return _certificate_key(root, str(root / "vault.vkey"))


def _certificate_key_file_empty(root: Path) -> list[str]:
    (root / "vault.vkey").write_text("\n")
    return _certificate_key_file_missing(root)


def _vkey_written(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "write the vault's key into it: privguard vault key --data-dir DIR > FILE"
    (root / "vault.vkey").write_text(_run(_vault(root, "key")).output)
    return cmd


def _key_damaged(key: Path, cmd: list[str]) -> list[str]:
    """``key`` backed up beside the test's folder, then cut short; ``cmd`` then fails."""
    (key.parent.parent.parent / f"{key.name}.backup").write_bytes(key.read_bytes())
    key.write_bytes(key.read_bytes()[:7])
    return cmd


def _key_restored(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    key = Path(err.where or "")  # "restore the key file from its backup"
    key.write_bytes((root / f"{key.name}.backup").read_bytes())
    return cmd


def _kek_damaged(root: Path) -> list[str]:
    _stored(root)
    return _key_damaged(root / "vd" / "keys" / "vault.kek",
                        _vault(root, "query", "--inmate", "A100", *WHY))  # fmt: skip


def _escrow_public_damaged(root: Path) -> list[str]:
    _stored(root)
    return _key_damaged(root / "vd" / "keys" / "vault-escrow.pub",
                        _vault(root, "query", "--inmate", "A100", *WHY))  # fmt: skip


# fmt: off
VAULT = [
    Case("vault: no case or reason", _query_no_why, r"case number and a written reason of "
         r"at least 10", _with_why),
    Case("vault query: no filter", _query_no_filter, r"an inmate account, a dialed number",
         _with_inmate),
    Case("vault query: not a number", _query_bad_number, r"\+1 512 555 0100", _number_written),
    Case("vault query --out exists", _export_exists, r"give --out a file name", _new_file),
    Case("vault: role may not", _produce_wrong_role, r"role may produce \(records_officer\)",
         _role_that_may),
    Case("vault: unknown role", _unknown_role, r"one of the roles: .*records_officer",
         _role_spelled),
    Case("vault produce: --to first", _produce_backwards, r"first day .* then a later day",
         _in_order),
    Case("vault produce: folder exists", _produce_exists, r"give a new folder name", _new_folder),
    Case("vault import-audit: not OUT", _vault_import_not_audit, r"give the OUT folder",
         _vault_import_out),
    Case("vault ingest-spool: not one", _not_a_spool, r"holds 'metadata' and 'pcaps'", _the_spool),
    Case("vault escrow-move: target", _escrow_target_exists, r"give --to a file name", _new_file),
    Case("vault get --out exists", _get_out_exists, r"give --out a file name", _new_file),
    Case("vault purge: unknown id", _purge_unknown, r"'privguard vault query' lists them",
         _purge_listed_id),
    Case("vault purge --out exists", _purge_out_exists, r"give --out a file name", _new_file),
    Case("vault produce: zip exists", _zip_exists, r"move it away", _zip_moved_away),
    Case("vault verify-certificate: file", _certificate_missing, r"purge-\*\.txt",
         _certificate_issued),
    Case("vault verify-certificate: key", _certificate_other_key, r"privguard vault key",
         _certificate_issuers_key),
    Case("vault release: not a key", _release_wrong_file, r"escrow-move --to FILE",
         _escrow_moved),
    Case("vault release: other vault", _release_other_vault, r"escrow-move --to FILE",
         _escrow_moved),
    Case("vault verify-certificate: junk key", _certificate_junk_key,
         r"copy the vkey line exactly", _vkey_copied),
    Case("vault verify-certificate: no key file", _certificate_key_file_missing,
         r"privguard vault key --data-dir DIR > FILE", _vkey_written),
    Case("vault verify-certificate: empty key file", _certificate_key_file_empty,
         r"privguard vault key --data-dir DIR > FILE", _vkey_written),
    Case("vault: key file damaged", _kek_damaged, r"restore the key file from its backup",
         _key_restored),
    Case("vault: escrow key damaged", _escrow_public_damaged,
         r"restore keys/vault-escrow\.pub from the vault's backup", _key_restored),
]
# fmt: on
# Where the place is not a path under the test's folder: an option or what was asked for.
_VAULT_PLACES = {
    "vault: no case or reason": "case:",
    "vault query: no filter": "a call-record query",
    "vault query: not a number": "call me",
    "vault: role may not": "inmate:A100",
    "vault: unknown role": "'records officer'",
    "vault produce: --to first": "inmate:A100",
    "vault purge: unknown id": "rec_0a1b",
    "vault verify-certificate: junk key": "vault+key",
}


@pytest.mark.parametrize("case", VAULT, ids=[c.name for c in VAULT])
def test_the_vaults_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    text, again = provoke_and_fix(case, tmp_path)
    assert _VAULT_PLACES.get(case.name, str(tmp_path)) in text, f"no file or place named: {text}"
    assert again.exit_code == 0, (again.output, again.exception and str(again.exception))


# --- registry end, receipts and verify-receipt --------------------------------------------


def _reg(root: Path, *args: str, data: str = "reg") -> list[str]:
    return ["registry", *args, "--data-dir", str(root / data)]


def _fed(root: Path, data: str = "reg") -> None:
    feed = _reg(root, "import-feed", str(root / "bar.csv"), "--source", "bar_feed", data=data)
    assert _run(feed).exit_code == 0


def _id_in_fix(err: PrivguardError) -> str:
    found = re.search(r": (\d+) \(", err.fix or "")
    assert found, err.fix
    return found.group(1)


def _end_unknown(root: Path) -> list[str]:
    _fed(root)
    return _reg(root, "end", "5", "--reason", "line closed")


def _end_listed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "5", _id_in_fix(err))  # "give the id of an active registration: 1 (...)"


def _end_blank_reason(root: Path) -> list[str]:
    _fed(root)
    return _reg(root, "end", "1", "--reason", " ")


def _reason_given(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, " ", "line closed")  # "--reason 'line closed'"


def _receipts_unknown(root: Path) -> list[str]:
    _fed(root)
    return _reg(root, "receipts", "7", "--out", str(root / "r"))


def _receipts_listed(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "7", _id_in_fix(err))  # "... an attorney with registered numbers: 1 (...)"


def _receipt(root: Path, data: str = "reg") -> tuple[Path, str]:
    """A receipt file of the registry ``data`` and that registry's vkey."""
    _fed(root, data)
    assert (
        _run(_reg(root, "receipts", "1", "--out", str(root / f"r-{data}"), data=data)).exit_code
        == 0
    )
    key = _run(_reg(root, "key", data=data)).output.splitlines()[0]
    return sorted((root / f"r-{data}").iterdir())[0], key


def _verify_missing(root: Path) -> list[str]:
    _, key = _receipt(root)
    return ["registry", "verify-receipt", str(root / "receipt-1.txt"), "--key", key]


def _verify_real_path(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    found = sorted((root / "r-reg").iterdir())[0]  # "check the path"
    return _with(cmd, str(root / "receipt-1.txt"), str(found))


def _verify_junk_key(root: Path) -> list[str]:
    path, _ = _receipt(root)
    return ["registry", "verify-receipt", str(path), "--key", "registry-key"]


def _published_key(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    key = _run(_reg(root, "key")).output.splitlines()[0]  # "pass the vkey the registry publishes"
    return [*cmd[:-1], key]


def _verify_empty_key_file(root: Path) -> list[str]:
    path, _ = _receipt(root)
    (root / "registry.vkey").write_text("\n")
    return ["registry", "verify-receipt", str(path), "--key", str(root / "registry.vkey")]


def _key_written(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    # "write the registry's key into it: privguard registry key --data-dir DIR > FILE"
    (root / "registry.vkey").write_text(_run(_reg(root, "key")).output)
    return cmd


def _signing_key_damaged(root: Path) -> list[str]:
    _fed(root)
    return _key_damaged(root / "reg" / "keys" / "signing.key", _reg(root, "key"))


def _verify_other_key(root: Path) -> list[str]:
    path, _ = _receipt(root)
    _, other = _receipt(root, "reg2")
    return ["registry", "verify-receipt", str(path), "--key", other]


# fmt: off
REGISTRY = [
    Case("registry end: no such id", _end_unknown, r"active registration: 1 \(\+15125550100\)",
         _end_listed),
    Case("registry end: blank reason", _end_blank_reason, r"--reason 'line closed'",
         _reason_given),
    Case("registry receipts: attorney", _receipts_unknown, r"registered numbers: 1 \(Jane Roe\)",
         _receipts_listed),
    Case("verify-receipt: no such file", _verify_missing, r"check the path", _verify_real_path),
    Case("verify-receipt: not a key", _verify_junk_key, r"pass the vkey the registry publishes",
         _published_key),
    Case("verify-receipt: empty key file", _verify_empty_key_file,
         r"privguard registry key --data-dir DIR > FILE", _key_written),
    Case("verify-receipt: another key", _verify_other_key, r"--key is the registry's published",
         _published_key),
    Case("registry: signing key damaged", _signing_key_damaged,
         r"restore the signing key file from its backup", _key_restored),
]
# fmt: on
_REGISTRY_PLACES = {
    "registry end: no such id": "registration 5",
    "registry end: blank reason": "--reason",
    "registry receipts: attorney": "attorney 7",
    "verify-receipt: not a key": "registry-key",
    "verify-receipt: another key": "receipt-",
}


@pytest.mark.parametrize("case", REGISTRY, ids=[c.name for c in REGISTRY])
def test_the_registrys_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    text, again = provoke_and_fix(case, tmp_path)
    assert _REGISTRY_PLACES.get(case.name, str(tmp_path)) in text, f"no place named: {text}"
    assert again.exit_code == 0, (again.output, again.exception and str(again.exception))


# --- synth and evaluate -------------------------------------------------------------------


def _synth(root: Path, *args: str, out: str = "demo") -> list[str]:
    return ["synth", str(root / out), "--calls", "200", "--seed", "3", *args]


def _synth_few_calls(root: Path) -> list[str]:
    return _with(_synth(root), "200", "50")


def _synth_enough_calls(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "50", "100")  # "--calls must be at least 100"


def _synth_bad_format(root: Path) -> list[str]:
    return _synth(root, "--formats", "csv,numbers")


def _synth_known_format(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "csv,numbers", "csv")  # "choose from csv, ..."


def _synth_xlsx_only(root: Path) -> list[str]:
    return _synth(root, "--formats", "xlsx")


def _synth_add_csv(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, "xlsx", "xlsx,csv")  # "add csv"


def _synth_out_used(root: Path) -> list[str]:
    return _synth(root, out="dump")  # the folder of call records the case made


def _synth_new_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _synth(root, out="demo")  # "give a new folder name"


def _synth_bad_layouts(root: Path) -> list[str]:
    return _synth(root, "--layouts", "spansh")


def _synth_layouts(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    assert "spanish" in (err.fix or "")
    return _with(cmd, "spansh", "spanish")  # "give one of standard, ..., spanish, ..."


def _evaluate(root: Path, truth: str) -> list[str]:
    assert _run(_synth(root)).exit_code == 0
    done = _run(["audit", str(root / "demo" / "dump"), "--out", str(root / "out")])
    assert done.exit_code == 0, done.output
    return ["evaluate", str(root / "out"), "--truth", str(root / truth)]


def _evaluate_wrong_truth(root: Path) -> list[str]:
    return _evaluate(root, "demo")


def _evaluate_truth_folder(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "demo"), str(root / "demo" / "truth"))  # "give ... truth/ folder"


def _evaluate_not_audit(root: Path) -> list[str]:
    return _with(_evaluate(root, "demo/truth"), str(root / "out"), str(root / "demo"))


def _evaluate_the_out(root: Path, err: PrivguardError, cmd: list[str]) -> list[str]:
    return _with(cmd, str(root / "demo"), str(root / "out"))  # "give the --out folder of ..."


# fmt: off
TRUTH = [
    Case("synth: --calls too few", _synth_few_calls, r"--calls must be at least 100",
         _synth_enough_calls),
    Case("synth: unknown format", _synth_bad_format, r"choose from csv", _synth_known_format),
    Case("synth: xlsx alone", _synth_xlsx_only, r"add csv", _synth_add_csv),
    Case("synth: folder in use", _synth_out_used, r"give a new folder name", _synth_new_folder),
    Case("synth: unknown layouts", _synth_bad_layouts, r"give one of standard",
         _synth_layouts),
    Case("evaluate: --truth", _evaluate_wrong_truth, r"synthetic leak's truth/ folder",
         _evaluate_truth_folder),
    Case("evaluate: not an audit", _evaluate_not_audit, r"--out folder of a finished audit",
         _evaluate_the_out),
]
# fmt: on
_TRUTH_PLACES = {
    "synth: --calls too few": "--calls",
    "synth: unknown format": "numbers",
    "synth: xlsx alone": "xlsx",
    "synth: unknown layouts": "--layouts",
}


@pytest.mark.parametrize("case", TRUTH, ids=[c.name for c in TRUTH])
def test_synth_and_evaluates_suggested_fix_works(case: Case, tmp_path: Path) -> None:
    text, again = provoke_and_fix(case, tmp_path)
    assert _TRUTH_PLACES.get(case.name, str(tmp_path)) in text, f"no place named: {text}"
    assert again.exit_code == 0, (again.output, again.exception and str(again.exception))


# --- control bytes and exit codes ----------------------------------------------------------

_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def test_an_unreadable_files_name_reaches_the_screen_escaped(tmp_path: Path) -> None:
    _dump(tmp_path)
    (tmp_path / "dump" / "more\x1b[2J.xlsx").write_text("a,b\n1,2\n", encoding="utf-8")
    done = _run(_audit(tmp_path))
    assert done.exit_code == EXIT_INCOMPLETE, done.output
    assert not _RAW_CONTROL.search(done.output), repr(done.output)
    assert "more\\x1b[2J.xlsx" in done.output, done.output  # shown, escaped


@pytest.mark.parametrize(
    "args",
    [
        ["registry", "verify-receipt", "receipt\x1b[2J\x07.txt", "--key", "k"],
        ["vault", "query", "--number", "\x9b31mcall", "--case", "CR-1", "--reason", "x" * 12],
    ],
    ids=["a file name", "an option's value"],
)
def test_control_bytes_in_a_name_are_escaped(args: list[str], tmp_path: Path) -> None:
    text = _error(_run([*args, "--data-dir", str(tmp_path)] if args[0] == "vault" else args))
    rendered = text.render()
    assert not _RAW_CONTROL.search(rendered), repr(rendered)
    assert re.search(r"\\x1b|\\x9b", rendered), rendered


# Each kind of error through the real entry point: its pinned exit code, a message and a
# fix on stderr, and never a traceback.
EXITS = [
    (2, _receipts_unknown),
    (2, _end_unknown),
    (3, _verify_other_key),
    (5, _produce_wrong_role),
]


@pytest.mark.parametrize("code,provoke", EXITS, ids=[f.__name__ for _, f in EXITS])
def test_the_exit_code_is_pinned_and_no_traceback_is_shown(
    code: int,
    provoke: Callable[[Path], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from privguard.cli import main

    _dump(tmp_path)
    cmd = provoke(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as ended:
        main(cmd)
    err = capsys.readouterr().err
    assert ended.value.code == code, err
    assert err.startswith("Error: ") and "\nFix: " in err and "Traceback" not in err, err
