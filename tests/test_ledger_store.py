"""The Ledger on SQLite and PostgreSQL: appends, reads, roots, proofs and checkpoints."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, event, select

from privguard.errors import InputError
from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.ledger import (
    Ledger,
    Signer,
    merkle,
    verify_checkpoint,
)
from privguard.internals.prevention.ledger.entry import NewEntry, entry_leaf
from privguard.internals.prevention.ledger.tables import nodes

NUMBER = "+15125550100"


def _ledger(log: str = "registry") -> Ledger:
    return Ledger(log=log, signer=Signer.generate(f"privguard.test/{log}"))


def _fill(db: Engine, ledger: Ledger, n: int, start: int = 0) -> None:
    with transaction(sessions(db)) as s:
        for i in range(start, start + n):
            ledger.append(
                s,
                actor="registrar:alice",
                action="number.registered",
                reason="bar directory match",
                payload={"number": f"+1512555{i:04d}"},
            )


def test_append_and_read_back(db: Engine) -> None:
    ledger = _ledger()
    at = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5)))
    with transaction(sessions(db)) as s:
        a = ledger.append(
            s,
            actor="registrar:alice",
            action="number.registered",
            reason="bar directory match",
            payload={"number": NUMBER, "n": [1, 2]},
            at=at,
        )
        b = ledger.append(s, actor="system", action="number.checked", reason="nightly")
    assert (a.index, b.index) == (0, 1)
    with transaction(sessions(db)) as s:
        assert ledger.size(s) == 2
        e = ledger.entry(s, 0)
        assert e.at == at.astimezone(UTC) and e.at.tzinfo is not None
        assert (e.actor, e.action, e.reason) == (
            "registrar:alice",
            "number.registered",
            "bar directory match",
        )
        assert e.payload == {"number": NUMBER, "n": [1, 2]} and e == a.entry
        assert len(e.salt) == 32 and e.leaf_hash == a.leaf_hash == entry_leaf(e.salt, e.canonical())
        assert [x.index for x in ledger.entries(s)] == [0, 1]
        assert [x.index for x in ledger.entries(s, 1)] == [1]
        assert ledger.entry(s, 1).payload == {}


def test_logs_are_separate_trees(db: Engine) -> None:
    reg, dec = _ledger("registry"), _ledger("decisions")
    _fill(db, reg, 3)
    _fill(db, dec, 2)
    with transaction(sessions(db)) as s:
        assert (reg.size(s), dec.size(s)) == (3, 2)
        assert dec.entry(s, 1).log == "decisions"
        assert reg.verify(s, reg.signer.verifier()).ok  # type: ignore[union-attr]


def test_roots_and_proofs_agree_with_the_pure_tree(db: Engine) -> None:
    """Across the 256-leaf cache boundaries, the stored tree is the RFC 6962 tree."""
    ledger = _ledger()
    _fill(db, ledger, 530)
    with transaction(sessions(db)) as s:
        leaves = [e.leaf_hash for e in ledger.entries(s)]
        assert len(leaves) == 530
        for size in (1, 2, 255, 256, 257, 511, 512, 513, 530):
            root = merkle.root(leaves[:size])
            assert ledger.root(s, size) == root
            for index in {0, size // 2, size - 1}:
                proof = ledger.inclusion_proof(s, index, size)
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for old, new in ((1, 530), (256, 512), (255, 513), (300, 530), (530, 530)):
            proof = ledger.consistency_proof(s, old, new)
            merkle.verify_consistency(
                old, new, proof, merkle.root(leaves[:old]), merkle.root(leaves[:new])
            )


def test_checkpoints_are_signed_stored_and_reused(db: Engine) -> None:
    ledger = _ledger()
    assert ledger.signer is not None
    with transaction(sessions(db)) as s:
        assert ledger.latest_checkpoint(s) is None
        empty = ledger.checkpoint(s)
        assert empty.size == 0 and empty.root == merkle.EMPTY_ROOT
    _fill(db, ledger, 5)
    with transaction(sessions(db)) as s:
        cp = ledger.checkpoint(s)
        head = verify_checkpoint(cp.text, ledger.signer.verifier())
        assert (head.origin, head.size, head.root) == ("privguard.test/registry", 5, cp.root)
        assert cp.text.startswith("privguard.test/registry\n5\n")
        assert ledger.checkpoint(s) == cp  # nothing new to sign
        latest = ledger.latest_checkpoint(s)
        assert latest is not None and latest.text == cp.text
        assert [c.size for c in ledger.checkpoints(s)] == [0, 5]


def test_nothing_published_names_a_number(db: Engine) -> None:
    ledger = _ledger()
    with transaction(sessions(db)) as s:
        a = ledger.append(
            s, actor="x", action="number.registered", reason="r", payload={"number": NUMBER}
        )
        b = ledger.append(
            s, actor="x", action="number.registered", reason="r", payload={"number": NUMBER}
        )
        cp = ledger.checkpoint(s)
        proof = ledger.inclusion_proof(s, 0, 2)
    # Same content, different salts: the leaves cannot be matched against guessed numbers.
    assert a.leaf_hash != b.leaf_hash
    assert a.leaf_hash != entry_leaf(bytes(32), a.entry.canonical())
    assert NUMBER not in cp.text and "5550100" not in cp.text
    assert proof == [b.leaf_hash]


def test_bad_input_is_refused_clearly(db: Engine) -> None:
    ledger = _ledger()
    with transaction(sessions(db)) as s:
        for kwargs in (
            {"actor": ""},
            {"reason": " "},
            {"payload": {"x": object()}},
            {"payload": {"x": float("nan")}},
            {"payload": ["not", "a", "dict"]},
        ):
            args = {"actor": "a", "action": "b", "reason": "c", **kwargs}
            with pytest.raises(InputError) as err:
                ledger.append(s, **args)  # type: ignore[arg-type]
            assert err.value.fix
        assert ledger.size(s) == 0
        ledger.append(s, actor="a", action="b", reason="c")
        with pytest.raises(InputError, match="no entry 5"):
            ledger.entry(s, 5)
        with pytest.raises(InputError):
            ledger.inclusion_proof(s, 1, 1)
        with pytest.raises(InputError):
            ledger.inclusion_proof(s, 0, 2)
        with pytest.raises(InputError):
            ledger.consistency_proof(s, 0, 1)
    with pytest.raises(InputError):
        Ledger(log="registry")
    with pytest.raises(InputError):
        Ledger(log="registry", origin="privguard.test/registry").checkpoint(s)


def test_a_failed_transaction_leaves_no_gap(db: Engine) -> None:
    ledger = _ledger()
    with pytest.raises(RuntimeError), transaction(sessions(db)) as s:
        ledger.append(s, actor="a", action="b", reason="c")
        raise RuntimeError("the caller's change failed")
    _fill(db, ledger, 1)
    with transaction(sessions(db)) as s:
        assert [e.index for e in ledger.entries(s)] == [0]


def test_concurrent_appends_get_distinct_indexes(db: Engine) -> None:
    ledger = _ledger()
    factory = sessions(db)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(15):
                with transaction(factory) as s:
                    ledger.append(s, actor=f"writer:{w}", action="tick", reason=str(i))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with transaction(factory) as s:
        assert [e.index for e in ledger.entries(s)] == list(range(60))
        assert ledger.size(s) == 60
        ledger.checkpoint(s)
        assert ledger.verify(s, ledger.signer.verifier()).ok  # type: ignore[union-attr]


def test_append_many_is_append_one_by_one_in_fewer_statements(db: Engine) -> None:
    # A batch that starts mid-tile and completes two 256-leaf runs: the same entries,
    # indexes, cached tiles and roots as appending them one by one.
    one, many = _ledger("one"), _ledger("many")
    _fill(db, one, 200)
    _fill(db, many, 200)
    items = [
        NewEntry("gate", "decision.no_record", "REGISTERED_NUMBER", {"i": i}) for i in range(400)
    ]
    with transaction(sessions(db)) as s:
        done = many.append_many(s, items)
        for it in items:
            one.append(s, actor=it.actor, action=it.action, reason=it.reason, payload=it.payload)
        assert many.append_many(s, []) == []
    assert [a.index for a in done] == list(range(200, 600))
    with transaction(sessions(db)) as s:
        assert many.size(s) == one.size(s) == 600
        assert [e.payload for e in many.entries(s)] == [e.payload for e in one.entries(s)]
        leaves = [e.leaf_hash for e in many.entries(s)]
        assert many.root(s) == merkle.root(leaves)
        assert many.verify(s, many.signer.verifier()).ok  # type: ignore[union-attr]
        cached = s.execute(select(nodes.c.idx, nodes.c.hash).where(nodes.c.log == "many"))
        assert {i: bytes(h) for i, h in cached} == {
            0: merkle.root(leaves[:256]),
            1: merkle.root(leaves[256:512]),
        }
    with pytest.raises(InputError), transaction(sessions(db)) as s:
        many.append_many(s, [NewEntry("gate", "", "why", {})])  # no action: nothing claimed
    with transaction(sessions(db)) as s:
        assert many.size(s) == 600


def test_append_many_claims_and_inserts_through_the_driver(db: Engine) -> None:
    # The decision log's group commit calls append_many for every batch: after a log's
    # first entry (its head row made through SQLAlchemy, once), a batch that completes no
    # 256-leaf tile runs no statement through SQLAlchemy's execution (each cost ~0.1-0.2 ms
    # of CPU); the index claim and the inserts go to the driver (db.driver_scalar,
    # db.insert_many). The entries are the ones append() writes (test above).
    ledger = _ledger("decisions")
    item = NewEntry("gate", "decision.record", "NOT_REGISTERED_RECORDING_ALLOWED", {"i": 1})
    with transaction(sessions(db)) as s:
        assert [a.index for a in ledger.append_many(s, [item])] == [0]
    seen: list[str] = []

    def listen(conn: object, cursor: object, statement: str, *rest: object) -> None:
        seen.append(statement)

    event.listen(db, "before_cursor_execute", listen)
    try:
        with transaction(sessions(db)) as s:
            done = ledger.append_many(s, [item, item, item])
    finally:
        event.remove(db, "before_cursor_execute", listen)
    assert [a.index for a in done] == [1, 2, 3]
    assert not [q for q in seen if "ledger" in q], seen
    with transaction(sessions(db)) as s:
        assert ledger.size(s) == 4
        assert ledger.verify(s, ledger.signer.verifier()).ok  # type: ignore[union-attr]
