"""Retroactive protection: quarantine at once, purge with a certificate, nothing left to read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.errors import IntegrityError
from privguard.internals.prevention.ledger import Signer
from privguard.internals.prevention.vault import AccessRefused, Escrow
from privguard.internals.prevention.vault import protect as P
from privguard.internals.prevention.vault.blobs import context, decrypt
from privguard.internals.prevention.vault.certificate import verify_certificate
from privguard.internals.prevention.vault.models import Recording
from vault_helpers import (
    ADMIN,
    INVESTIGATOR,
    OFFICER,
    T0,
    escrow_pair,
    make_vault,
    register,
    store,
)

REGISTRAR = ADMIN.__class__("registrar:reg", "registrar", "", "number registered", "cli")
LAWYER = "+15125550100"


def _raw(root: Path, engine: Engine) -> bytes:
    """Every byte under ``root`` (blobs, keys) and of the SQLite file with its WAL."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    base = Path(str(engine.url.database))
    files += [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-journal")) if p.exists()]
    assert base.exists() and base.stat().st_size > 0
    return b"".join(p.read_bytes() for p in files)


def _secrets(vault, rid: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    with vault.factory() as s:
        row = s.get(Recording, rid)
        key = vault.data_key(row)
        blob = vault.blobs.get(row.blob)
        return {"data key": key, "wrapped key": row.wrapped_key, "ciphertext": blob[12:60]}


def test_quarantine_makes_a_recording_unreadable_even_from_the_raw_storage(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, LAWYER, b"privileged words " * 50)
    other = store(vault, "+15125550199", b"ordinary call " * 50)
    before = _secrets(vault, rid)
    register(vault, LAWYER, T0.date())
    assert P.quarantine_numbers(vault, REGISTRAR, [LAWYER]) == [rid]
    for ctx in (
        INVESTIGATOR,
        OFFICER,
        ADMIN.__class__("x:y", "prosecutor", "C-1", "a long reason"),
    ):
        with pytest.raises(AccessRefused):
            vault.read(ctx, rid)
    assert vault.read(INVESTIGATOR, other).data.startswith(b"ordinary")
    with vault.factory() as s:
        row = s.get(Recording, rid)
        assert row is not None and row.state == "quarantined" and row.wrapped_key is None
        # With every key this machine holds (the KEK file), nothing in the row opens it.
        for candidate in (row.escrow_key or b"",):
            with pytest.raises(IntegrityError):
                vault.wrapper.unwrap(candidate, context(row.id, row.decision_id))
    if db.dialect.name == "sqlite":
        raw = _raw(tmp_path, db)
        assert before["wrapped key"] not in raw, "the KEK-wrapped key must not survive anywhere"
        assert before["data key"] not in raw
    # Released with the offline escrow private key, it reads again (once no longer privileged).
    escrow = Escrow(*escrow_pair())
    with pytest.raises(AccessRefused, match="still privileged"):
        P.release(vault, ADMIN, rid, escrow)


def test_purge_crypto_shreds_and_issues_a_certificate_checkable_offline(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, LAWYER, b"privileged words " * 50)
    keep = store(vault, "+15125550199", b"ordinary call " * 50)
    before = _secrets(vault, rid)
    register(vault, LAWYER, T0.date() - dt.timedelta(days=3))
    P.sweep(vault, REGISTRAR)
    with vault.factory() as s:
        sealed = s.get(Recording, rid).escrow_key  # type: ignore[union-attr]
    cert = P.purge(vault, ADMIN, [rid], authority="Travis County order 2024-1", backups=["tape-7"])
    # Offline: the vkey alone.
    vkey = vault.signer.verifier()
    check = verify_certificate(cert, vkey)
    assert check.recordings[0]["id"] == rid and check.fields["verification"]["result"] == "passed"
    assert check.fields["sanitization"]["method"] == "cryptographic erase"
    assert check.fields["backups"]["must_also_be_purged"] == ["tape-7"]
    assert check.fields["authority"]["case"] == ADMIN.case
    with pytest.raises(IntegrityError):
        verify_certificate(cert.replace("tape-7", "tape-8"), vkey)
    with pytest.raises(IntegrityError):
        verify_certificate(cert, Signer.load_or_create(tmp_path / "other.key", "x").verifier())
    # Nothing left on disk decrypts it: no blob, no wrapped key, not even the escrow copy.
    with vault.factory() as s:
        row = s.get(Recording, rid)
        assert row is not None and row.state == "purged"
        assert row.wrapped_key is None and row.escrow_key is None
        assert not (vault.blobs.root / row.blob).exists()
        rows = s.execute(select(Recording.wrapped_key, Recording.escrow_key)).all()
        left = [k for r in rows for k in r if k]
    assert sealed not in left, "even the offline escrow key has nothing left to open"
    if db.dialect.name == "sqlite":
        raw = _raw(tmp_path, db)
        for name, value in before.items():
            assert value not in raw, f"the {name} survived the purge"
        assert sealed not in raw
    assert len(left) == 1  # the other recording's key: it does not open the purged one
    other_key = vault.wrapper.unwrap(left[0], context(keep, _decision(vault, keep)))
    with pytest.raises(IntegrityError):
        decrypt(other_key, b"\0" * 12 + before["ciphertext"], context(rid, "x"))
    assert vault.read(INVESTIGATOR, keep).data.startswith(b"ordinary")
    letters = list((vault.blobs.root.parent / "outbox").glob("purge_*-attorney-*.txt"))
    assert len(letters) == 1
    letter = letters[0].read_text()
    assert LAWYER in letter and "1 call(s) on 2024-03-04" in letter and cert in letter


def test_importing_an_audit_quarantines_its_calls_at_once(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    by_number = store(vault, "+15125550177")
    by_ref = store(vault, "+15125550188", ref="vendor/rec/991")
    clean = store(vault, "+15125550199")
    out = tmp_path / "OUT"
    out.mkdir()
    (out / "privileged_calls.csv").write_text(
        "call_id,start_utc,facility,number,classification,recording_ref\n"
        "1,2024-03-04 15:00:00,TRAVIS,+15125550177,directory_attorney,\n"
        "2,2024-03-04 15:00:00,TRAVIS,+15125550166,confirmed,vendor/rec/991\n"
        "3,2024-03-04 15:00:00,TRAVIS,+15125550199,candidate,\n"
    )
    result = P.import_audit(vault, REGISTRAR, out)
    assert sorted(result.quarantined) == sorted([by_number, by_ref])
    with pytest.raises(AccessRefused):
        vault.read(INVESTIGATOR, by_ref)
    assert vault.read(INVESTIGATOR, clean).data


def test_a_folder_without_audit_files_is_a_clear_error(db: Engine, tmp_path: Path) -> None:
    from privguard.errors import InputError

    vault = make_vault(db, tmp_path)
    with pytest.raises(InputError) as err:
        P.import_audit(vault, REGISTRAR, tmp_path)
    assert err.value.fix and "OUT" in err.value.fix


def _decision(vault, rid: str) -> str:  # type: ignore[no-untyped-def]
    with vault.factory() as s:
        return s.get(Recording, rid).decision_id  # type: ignore[union-attr,no-any-return]


def test_certificate_file_round_trip(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, LAWYER)
    cert = P.purge(vault, ADMIN, [rid], authority="retention policy 7y")
    fields = json.loads(cert.split("\n", 1)[1].rsplit("\n\n", 1)[0])
    assert fields["media"]["recordings"][0]["sha256"] and fields["tool"]["version"]
