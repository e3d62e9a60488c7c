"""Rows changed behind the ledger's back with plain SQL: ``verify`` finds them and names them."""

from __future__ import annotations

import json
import os

from sqlalchemy import Engine, text

from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.ledger import Ledger, Signer, VerifyReport
from privguard.internals.prevention.ledger.entry import canonical_entry, entry_leaf

SIGNER = Signer.generate("privguard.test/registry")


def _setup(db: Engine, n: int = 20, every: int = 10) -> Ledger:
    ledger = Ledger(log="registry", signer=SIGNER)
    factory = sessions(db)
    for start in range(0, n, every):
        with transaction(factory) as s:
            for i in range(start, min(n, start + every)):
                ledger.append(
                    s,
                    actor="registrar:alice",
                    action=f"number.registered.{i}",
                    reason="bar directory match",
                    payload={"number": f"+1512555{i:04d}"},
                )
            ledger.checkpoint(s)
    return ledger


def _verify(db: Engine, ledger: Ledger) -> VerifyReport:
    with transaction(sessions(db)) as s:
        return ledger.verify(s, SIGNER.verifier())


def _sql(db: Engine, *statements: str, **params: object) -> None:
    with db.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def _says(report: VerifyReport, *words: str) -> bool:
    return any(all(w in p for w in words) for p in report.problems)


def test_an_untouched_log_verifies(db: Engine) -> None:
    ledger = _setup(db)
    report = _verify(db, ledger)
    assert report.ok and report.size == 20 and report.checkpoints == 2, report.problems
    report.raise_if_bad()


def test_a_deleted_entry_is_named(db: Engine) -> None:
    ledger = _setup(db)
    _sql(db, "DELETE FROM ledger_entries WHERE log = 'registry' AND idx = 7")
    report = _verify(db, ledger)
    assert not report.ok
    assert _says(report, "entry 7 ", "deleted"), report.problems
    assert _says(report, "past size 7 cannot be recomputed")


def test_the_last_entries_deleted_with_the_head_are_found(db: Engine) -> None:
    ledger = _setup(db)
    _sql(
        db,
        "DELETE FROM ledger_entries WHERE log = 'registry' AND idx >= 18",
        "UPDATE ledger_heads SET size = 18 WHERE log = 'registry'",
    )
    report = _verify(db, ledger)
    assert _says(report, "entries 18 to 19 deleted"), report.problems


def test_an_altered_entry_is_named(db: Engine) -> None:
    ledger = _setup(db)
    _sql(
        db,
        "UPDATE ledger_entries SET payload = :p WHERE log = 'registry' AND idx = 5",
        p='{"number":"+15125559999"}',
    )
    report = _verify(db, ledger)
    assert _says(report, "entry 5 ", "number.registered.5", "altered"), report.problems
    # Any column counts: the actor, the time, the reason or the salt.
    for column, value in (("actor", "registrar:mallory"), ("at", "2020-01-01T00:00:00.000000Z")):
        ledger = Ledger(log="registry", signer=SIGNER)
        _sql(
            db,
            f"UPDATE ledger_entries SET {column} = :v WHERE log = 'registry' AND idx = 12",
            v=value,
        )
        assert _says(_verify(db, ledger), "entry 12 ", "altered")


def test_an_entry_altered_with_a_recomputed_leaf_is_caught_by_the_signed_heads(db: Engine) -> None:
    """A writer who also rewrites the leaf hash cannot re-sign the checkpoints."""
    ledger = _setup(db, n=300, every=100)
    with transaction(sessions(db)) as s:
        e = ledger.entry(s, 150)
    payload = {"number": "+15125559999"}
    data = canonical_entry(
        "registry",
        150,
        e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        e.actor,
        e.action,
        e.reason,
        payload,
    )
    _sql(
        db,
        "UPDATE ledger_entries SET payload = :p, leaf_hash = :h "
        "WHERE log = 'registry' AND idx = 150",
        p=json.dumps(payload, separators=(",", ":")),
        h=entry_leaf(e.salt, data),
    )
    report = _verify(db, ledger)
    assert not report.ok
    assert _says(report, "size 200", "from 100 to 199"), report.problems
    assert _says(report, "entries 0 to 255", "no longer hash")
    assert not _says(report, "size 100", "no longer hash")


def test_reordered_entries_are_named(db: Engine) -> None:
    ledger = _setup(db)
    _sql(
        db,
        "UPDATE ledger_entries SET idx = -1 WHERE log = 'registry' AND idx = 3",
        "UPDATE ledger_entries SET idx = 3 WHERE log = 'registry' AND idx = 4",
        "UPDATE ledger_entries SET idx = 4 WHERE log = 'registry' AND idx = -1",
    )
    report = _verify(db, ledger)
    assert _says(report, "entry 3 ", "moved", "appended as entry 4"), report.problems
    assert _says(report, "entry 4 ", "moved", "appended as entry 3")


def test_an_inserted_entry_is_named(db: Engine) -> None:
    ledger = _setup(db)
    insert = (
        "INSERT INTO ledger_entries (log, idx, at, actor, action, reason, payload, salt, "
        "leaf_hash) VALUES ('registry', :i, '2024-01-01T00:00:00.000000Z', 'mallory', "
        "'number.registered', 'forged', '{}', :s, :h)"
    )
    _sql(db, insert, i=20, s=os.urandom(32), h=os.urandom(32))
    report = _verify(db, ledger)
    assert _says(report, "entry 20 ", "past the log's head", "inserted"), report.problems


def test_an_entry_inserted_in_the_middle_is_named(db: Engine) -> None:
    ledger = _setup(db)
    _sql(
        db,
        "UPDATE ledger_entries SET idx = idx + 100 WHERE log = 'registry' AND idx >= 8",
        "UPDATE ledger_entries SET idx = idx - 99 WHERE log = 'registry' AND idx >= 108",
        "UPDATE ledger_heads SET size = 21 WHERE log = 'registry'",
    )
    salt = os.urandom(32)
    fake = canonical_entry(
        "registry", 8, "2024-01-01T00:00:00.000000Z", "mallory", "forged", "forged", {}
    )
    _sql(
        db,
        "INSERT INTO ledger_entries (log, idx, at, actor, action, reason, payload, salt, "
        "leaf_hash) VALUES ('registry', 8, '2024-01-01T00:00:00.000000Z', 'mallory', "
        "'forged', 'forged', '{}', :s, :h)",
        s=salt,
        h=entry_leaf(salt, fake),
    )
    report = _verify(db, ledger)
    assert _says(report, "entry 9 ", "moved", "appended as entry 8"), report.problems
    assert _says(report, "checkpoint", "size 10", "from 0 to 9")


def test_tampered_checkpoints_and_caches_are_named(db: Engine) -> None:
    ledger = _setup(db, n=260, every=130)
    _sql(
        db,
        "UPDATE ledger_checkpoints SET note = REPLACE(note, '\n130\n', '\n131\n') "
        "WHERE log = 'registry' AND size = 130",
    )
    _sql(
        db,
        "UPDATE ledger_checkpoints SET root = :r WHERE log = 'registry' AND size = 260",
        r=bytes(32),
    )
    _sql(db, "UPDATE ledger_nodes SET hash = :h WHERE log = 'registry' AND idx = 0", h=bytes(32))
    report = _verify(db, ledger)
    assert _says(report, "size 130", "signature does not verify"), report.problems
    assert _says(report, "size 260", "columns were changed")
    assert _says(report, "entries 0 to 255", "cache")
    assert not _says(report, "entry ", "altered")


def test_a_wrong_key_fails_every_checkpoint(db: Engine) -> None:
    ledger = _setup(db)
    with transaction(sessions(db)) as s:
        report = ledger.verify(s, Signer.generate("privguard.test/registry").verifier())
    assert len(report.problems) == 2 and _says(report, "signature does not verify")
