"""`privguard vault ...` end to end on a data directory, and exit codes on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from privguard.cli import main
from privguard.internals.prevention.settings import load_service_settings
from privguard.internals.prevention.vault import Vault
from vault_helpers import decide

WHY = ["--case", "CR-2024-1", "--reason", "identify the second caller"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_vault_commands_end_to_end(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data-dir", str(tmp_path / "d"), "--database-url", db_url]
    vault = Vault.open(load_service_settings(data_dir=tmp_path / "d", database_url=db_url))
    did = decide(vault, "+15125550100", facility="MAIN")
    (tmp_path / "call.wav").write_bytes(b"RIFF" + b"\1" * 500)
    code, out, err = run(["vault", "store", str(tmp_path / "call.wav"), "--decision-id", did,
                          "--facility", "MAIN", "--inmate", "A1", "--number", "512 555 0100",
                          "--started", "2024-03-04T15:00:00", "--role", "facility_system", *d],
                         capsys)  # fmt: skip
    assert code == 0, err
    rid = out.split()[1]
    code, out, err = run(["vault", "store", str(tmp_path / "call.wav"), "--decision-id", "nope",
                          "--facility", "MAIN", "--inmate", "A1", "--number", "5125550100",
                          "--started", "2024-03-04", "--role", "facility_system", *d], capsys)  # fmt: skip
    assert code == 5 and "no durable record:true decision" in err
    code, out, err = run(["vault", "get", rid, "--out", str(tmp_path / "x.wav"),
                          "--role", "investigator", *d], capsys)  # fmt: skip
    assert code == 5 and "case" in err and not (tmp_path / "x.wav").exists()
    code, out, err = run(["vault", "get", rid, "--out", str(tmp_path / "x.wav"),
                          "--role", "investigator", *WHY, *d], capsys)  # fmt: skip
    assert code == 0 and (tmp_path / "x.wav").read_bytes().startswith(b"RIFF")
    code, out, err = run(["vault", "query", "--inmate", "A1", "--role", "investigator", *WHY, *d],
                         capsys)  # fmt: skip
    assert code == 0 and "1 call record(s)" in out
    code, out, err = run(["vault", "produce", "--inmate", "A1", "--from", "2024-03-01", "--to",
                          "2024-04-01", "--out", str(tmp_path / "prod"), *WHY, *d], capsys)  # fmt: skip
    assert code == 0 and "1 recording(s) produced, 0 withheld" in out, err
    code, out, err = run(["vault", "quarantine", "--number", "5125550100", "--role", "registrar",
                          "--reason", "number registered", *d], capsys)  # fmt: skip
    assert code == 0 and "1 recording(s) quarantined" in out
    code, out, err = run(["vault", "purge", rid, "--authority", "Order 2024-1", "--backup",
                          "tape-7", "--out", str(tmp_path / "cert.txt"), "--role", "admin",
                          *WHY, *d], capsys)  # fmt: skip
    assert code == 0, err
    code, vkey, err = run(["vault", "key", *d], capsys)
    (tmp_path / "vault.vkey").write_text(vkey)
    verify = ["vault", "verify-certificate", str(tmp_path / "cert.txt"), "--key"]
    code, out, err = run([*verify, str(tmp_path / "vault.vkey")], capsys)
    assert code == 0 and out.startswith("OK:") and "tape-7" in out
    (tmp_path / "cert.txt").write_text((tmp_path / "cert.txt").read_text().replace("7", "8"))
    code, out, err = run([*verify, vkey.strip()], capsys)
    assert code == 3 and "does not hold" in err
    code, out, err = run([*verify, "not-a-key"], capsys)
    assert code == 2 and "vkey" in err
    code, out, err = run(["vault", "anomalies", "--from", "2000-01-01", "--to", "2100-01-01",
                          "--role", "auditor", *d], capsys)  # fmt: skip
    assert code == 0 and "investigator:" in out
    code, out, err = run(["vault", "verify-log", *d], capsys)
    assert code == 0 and out.startswith("OK:")
    key = tmp_path / "escrow.key"
    code, out, err = run(["vault", "escrow-move", "--to", str(key), *d], capsys)
    assert (
        code == 0 and key.exists() and not (tmp_path / "d" / "keys" / "vault-escrow.key").exists()
    )
    code, out, err = run(["vault", "escrow-move", "--to", str(key), *d], capsys)
    assert code == 2 and "no key file" in err
    code, out, err = run(["vault", "release", rid, "--escrow-key", str(key), "--role", "admin",
                          *WHY, *d], capsys)  # fmt: skip
    assert code == 5 and "only a quarantined recording" in err  # it was purged
    from sqlalchemy import text

    with vault.factory() as s:  # a hidden read: the access table no longer matches the log
        s.execute(text("DELETE FROM vault_access WHERE action = 'play' OR action = 'download'"))
        s.commit()
    code, out, err = run(["vault", "verify-log", *d], capsys)
    assert code == 3 and "has no access row" in err


def test_missing_certificate_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["vault", "verify-certificate", str(tmp_path / "no.txt"), "--key", "k"],
                         capsys)  # fmt: skip
    assert code == 2 and "no.txt" in err and "Fix:" in err
