"""The vault stores only against a durable record:true decision, encrypted, logged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.internals.prevention import db
from privguard.internals.prevention.vault import AccessRefused
from privguard.internals.prevention.vault.models import Access, Recording
from vault_helpers import FACILITY, INVESTIGATOR, STORE, T0, decide, make_vault, store


def test_store_and_play_round_trip(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    data = b"RIFF-fake-audio-" * 64
    rid = store(vault, "+15125550100", data)
    got = vault.read(INVESTIGATOR, rid, "play")
    assert got.data == data and got.sha256 == hashlib.sha256(data).hexdigest()
    # The blob on disk is ciphertext: the plaintext is nowhere in it.
    raw = (vault.blobs.root / vault.blobs.relpath(rid)).read_bytes()
    assert data[:32] not in raw and len(raw) == len(data) + 12 + 16


def test_store_refuses_without_durable_record_true_and_raises_an_alarm(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path)
    kw = dict(facility=FACILITY, inmate_account="A1", dialed_number="+15125550100", started_at=T0)
    no = decide(vault, "+15125550100", record=False)
    for did in (no, "0000unknown"):
        with pytest.raises(AccessRefused):
            vault.store(STORE, did, b"x", **kw)  # type: ignore[arg-type]
    yes = decide(vault, "+15125550100")
    with pytest.raises(AccessRefused, match="another number"):
        vault.store(STORE, yes, b"x", **(kw | {"dialed_number": "+15125550199"}))  # type: ignore[arg-type]
    with pytest.raises(AccessRefused, match="another facility"):
        vault.store(STORE, yes, b"x", **(kw | {"facility": "ELSEWHERE"}))  # type: ignore[arg-type]
    vault.store(STORE, yes, b"x", **kw)  # type: ignore[arg-type]
    with pytest.raises(AccessRefused, match="already used"):
        vault.store(STORE, yes, b"x", **kw)  # type: ignore[arg-type]
    with vault.factory() as s:
        outcomes = [a.outcome for a in s.scalars(select(Access).order_by(Access.id))]
        assert outcomes == ["alarm"] * 4 + ["ok", "alarm"]
        assert s.scalar(select(Recording).where(Recording.decision_id == no)) is None
        entries = list(vault.ledger.entries(s))
        assert [e.reason for e in entries] == outcomes
        assert entries[0].action == "vault.store" and entries[0].payload["object"].endswith(no)
    assert sorted(p.name for p in vault.blobs.root.rglob("*.bin")) == sorted(
        f"{r}.bin" for r in _ids(vault)
    ), "a refused recording leaves no blob"


def test_only_a_role_allowed_to_store_may(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    did = decide(vault, "+15125550100")
    with pytest.raises(AccessRefused, match="may not store"):
        vault.store(INVESTIGATOR, did, b"x", facility=FACILITY, inmate_account="A",
                    dialed_number="+15125550100", started_at=T0)  # fmt: skip


def test_a_blob_moved_to_another_recording_does_not_decrypt(db: Engine, tmp_path: Path) -> None:
    from privguard.errors import IntegrityError

    vault = make_vault(db, tmp_path)
    a, b = store(vault, "+15125550100", b"first"), store(vault, "+15125550101", b"second")
    pa, pb = (vault.blobs.root / vault.blobs.relpath(r) for r in (a, b))
    pa.write_bytes(pb.read_bytes())
    with pytest.raises(IntegrityError):
        vault.read(INVESTIGATOR, a)
    with db_tx(vault) as s:  # a wrapped key swapped between rows does not unwrap either
        ra, rb = s.get(Recording, a), s.get(Recording, b)
        assert ra is not None and rb is not None
        ra.wrapped_key = rb.wrapped_key
    with pytest.raises(IntegrityError):
        vault.read(INVESTIGATOR, a)
    with vault.factory() as s:  # both attempts are alarms in the access log
        alarms = [e for e in vault.ledger.entries(s) if e.reason == "alarm"]
    assert [e.payload["object"] for e in alarms] == [a, a]


def db_tx(vault):  # type: ignore[no-untyped-def]
    return db.transaction(vault.factory)


def _ids(vault) -> list[str]:  # type: ignore[no-untyped-def]
    with vault.factory() as s:
        return list(s.scalars(select(Recording.id)))
