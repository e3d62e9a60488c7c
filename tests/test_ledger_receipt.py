"""Receipts (C2SP tlog-proof@v1) verify offline with the vkey only; key rotation keeps history."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sqlalchemy import Engine

from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.ledger import (
    Ledger,
    Signer,
    Verifier,
    parse_receipt,
    verify_receipt,
    verify_still_included,
)
from privguard.internals.prevention.ledger.note import checkpoint_body, sign_note

NAME = "privguard.test/registry"


def _fill(db: Engine, ledger: Ledger, n: int) -> None:
    with transaction(sessions(db)) as s:
        for i in range(n):
            ledger.append(
                s,
                actor="registrar:alice",
                action="number.registered",
                reason="bar directory match",
                payload={"number": f"+1512555{i:04d}"},
            )


def _receipt(db: Engine, ledger: Ledger, index: int) -> str:
    with transaction(sessions(db)) as s:
        return ledger.receipt(s, index)


def _edit_extra(receipt: str, edit: dict[str, object]) -> str:
    lines = receipt.split("\n")
    raw = base64.b64decode(lines[1].removeprefix("extra "))
    entry = json.loads(raw[32:]) | edit
    data = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    lines[1] = "extra " + base64.b64encode(raw[:32] + data).decode()
    return "\n".join(lines)


def test_a_receipt_verifies_offline_with_the_vkey_only(db: Engine) -> None:
    signer = Signer.generate(NAME)
    ledger = Ledger(log="registry", signer=signer)
    _fill(db, ledger, 7)
    text = _receipt(db, ledger, 5)
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 5\n" in text and f"\n\n{NAME}\n7\n" in text
    vkey = str(signer.verifier())  # all a holder needs
    check = verify_receipt(text, Verifier(vkey))
    assert check.ok, check.problems
    assert check.index == 5 and check.checkpoint is not None and check.checkpoint.size == 7
    assert check.entry is not None and check.entry["payload"] == {"number": "+15125550005"}
    assert check.entry["action"] == "number.registered" and check.entry["log"] == "registry"
    assert len(parse_receipt(text).proof) == 3


def test_a_receipt_reuses_a_covering_checkpoint(db: Engine) -> None:
    ledger = Ledger(log="registry", signer=Signer.generate(NAME))
    _fill(db, ledger, 3)
    first = _receipt(db, ledger, 0)
    _fill(db, ledger, 2)
    again = _receipt(db, ledger, 1)  # the size-3 checkpoint covers entry 1
    assert first.split("\n\n", 1)[1] == again.split("\n\n", 1)[1]
    later = _receipt(db, ledger, 4)  # none covers entry 4: a new checkpoint is signed
    assert f"\n\n{NAME}\n5\n" in later


def test_a_receipt_fails_with_a_wrong_key_or_an_altered_entry(db: Engine) -> None:
    signer = Signer.generate(NAME)
    ledger = Ledger(log="registry", signer=signer)
    _fill(db, ledger, 6)
    text = _receipt(db, ledger, 2)
    good = signer.verifier()
    assert verify_receipt(text, good).ok

    wrong = verify_receipt(text, Signer.generate(NAME).verifier())
    assert not wrong.ok and "no known key" in wrong.problems[0]

    altered = verify_receipt(_edit_extra(text, {"payload": {"number": "+15125559999"}}), good)
    assert not altered.ok and "not proven" in altered.problems[0]

    moved = verify_receipt(text.replace("\nindex 2\n", "\nindex 3\n"), good)
    assert not moved.ok and any("index" in p for p in moved.problems)

    lines = text.split("\n")
    lines[3] = base64.b64encode(bytes(32)).decode()  # a forged proof hash
    assert not verify_receipt("\n".join(lines), good).ok

    forged_cp = text.replace(f"{NAME}\n6\n", f"{NAME}\n7\n")
    assert not verify_receipt(forged_cp, good).ok
    for junk in ("", "hello", text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2")):
        check = verify_receipt(junk, good)
        assert not check.ok and check.problems


def test_a_later_checkpoint_shows_the_entry_is_still_there(db: Engine) -> None:
    signer = Signer.generate(NAME)
    ledger = Ledger(log="registry", signer=signer)
    _fill(db, ledger, 5)
    text = _receipt(db, ledger, 1)
    _fill(db, ledger, 20)
    with transaction(sessions(db)) as s:
        later = ledger.checkpoint(s)
        proof = ledger.consistency_proof(s, 5, later.size)
    check = verify_still_included(text, later.text, proof, signer.verifier())
    assert check.ok and check.checkpoint is not None and check.checkpoint.size == 25
    # A log that rewrote its history signs a head no consistency proof reaches.
    fork = sign_note(checkpoint_body(NAME, 25, bytes(32)), signer)
    assert not verify_still_included(text, fork, proof, signer.verifier()).ok
    assert not verify_still_included(text, later.text, proof[1:], signer.verifier()).ok


def test_rotation_old_checkpoints_and_receipts_verify_with_the_history(
    db: Engine, tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "signing.key"
    old = Signer.load_or_create(key, NAME)
    ledger = Ledger(log="registry", signer=old)
    _fill(db, ledger, 4)
    old_receipt = _receipt(db, ledger, 2)

    new = Signer.rotate(key, NAME)
    ledger = Ledger(log="registry", signer=new)
    _fill(db, ledger, 3)
    with transaction(sessions(db)) as s:
        cp = ledger.checkpoint(s)
        assert cp.size == 7
        assert ledger.checkpoint(s) == cp
        report = ledger.verify(s, new.verifiers())
        assert report.ok and report.checkpoints == 2, report.problems
        only_new = ledger.verify(s, new.verifier())
        assert not only_new.ok and "size 4" in only_new.problems[0]
        # The same size after a rotation gets a checkpoint signed by the new key.
        assert Ledger(log="registry", signer=Signer.rotate(key, NAME)).checkpoint(s).text != cp.text
    assert verify_receipt(old_receipt, Signer.load_or_create(key, NAME).verifiers()).ok
    assert not verify_receipt(old_receipt, new.verifier()).ok


def test_receipts_across_the_node_cache(db: Engine) -> None:
    signer = Signer.generate(NAME)
    ledger = Ledger(log="registry", signer=signer)
    _fill(db, ledger, 300)
    for index in (0, 1, 255, 256, 299):
        assert verify_receipt(_receipt(db, ledger, index), signer.verifier()).ok
