"""The decision log: record=True durable before it is returned, record=False never dropped.

Database faults are made by renaming the ``decisions`` table away (every commit then
fails, on SQLite and PostgreSQL alike) and back.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.decisions import (
    Checker,
    Checkpoint,
    Reason,
    RegistryEntry,
    build_state,
)
from privguard.internals.prevention.decisions.counts import candidates, counts
from privguard.internals.prevention.decisions.log import DecisionLog
from privguard.internals.prevention.decisions.models import DecisionRow

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LAWYER, FAMILY = "+15125550100", "+15125550199"
KEY = b"k" * 32


def _checker(log: DecisionLog | None = None, **kw: object) -> Checker:
    state = build_state(
        [RegistryEntry(LAWYER, ref="registration 1")],
        Checkpoint(4, "cd" * 32),
        NOW + dt.timedelta(days=1),
    )
    return Checker.unsigned_for_replay(state, log=log, timeout_s=None, **kw)


def _rows(db: Engine) -> list[DecisionRow]:
    with transaction(sessions(db)) as s:
        return list(s.scalars(select(DecisionRow).order_by(DecisionRow.id)))


def _break(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("ALTER TABLE decisions RENAME TO decisions_away"))


def _mend(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("ALTER TABLE decisions_away RENAME TO decisions"))


@pytest.fixture
def dlog(db: Engine, tmp_path: Path) -> DecisionLog:
    log = DecisionLog(sessions(db), KEY, tmp_path / "spill" / "decisions.jsonl").start()
    yield log  # type: ignore[misc]
    log.close()


def test_record_true_is_in_the_database_before_it_is_returned(
    db: Engine, dlog: DecisionLog
) -> None:
    d = _checker(dlog).decide("MAIN", "A-17", FAMILY)
    assert d.record is True
    rows = _rows(db)  # no close(), no waiting: it is already committed
    assert [(r.decision_id, r.record, r.reason) for r in rows] == [
        (d.decision_id, True, Reason.NOT_REGISTERED_RECORDING_ALLOWED)
    ]
    assert rows[0].number_hmac and FAMILY not in json.dumps(rows[0].number_hmac)
    assert rows[0].checkpoint_size == 4 and rows[0].checkpoint_root == "cd" * 32


def test_record_false_is_logged_with_its_entry_and_counted(db: Engine, dlog: DecisionLog) -> None:
    checker = _checker(dlog)
    checker.decide("MAIN", "A", LAWYER)
    checker.decide("MAIN", "A", "not a number")
    checker.decide("NORTH", "B", FAMILY)
    dlog.close()
    rows = _rows(db)
    assert sorted(r.reason for r in rows) == sorted(
        [
            Reason.REGISTERED_NUMBER,
            Reason.UNPARSEABLE_NUMBER,
            Reason.NOT_REGISTERED_RECORDING_ALLOWED,
        ]
    )
    assert {r.entry_ref for r in rows if r.reason == Reason.REGISTERED_NUMBER} == {"registration 1"}
    with transaction(sessions(db)) as s:
        got = counts(s)
        assert {(c["facility"], c["record"], c["reason"], c["decisions"]) for c in got} == {
            ("MAIN", False, Reason.REGISTERED_NUMBER, 1),
            ("MAIN", False, Reason.UNPARSEABLE_NUMBER, 1),
            ("NORTH", True, Reason.NOT_REGISTERED_RECORDING_ALLOWED, 1),
        }
        assert [c["facility"] for c in counts(s, facility="NORTH")] == ["NORTH"]
        assert counts(s, since=NOW + dt.timedelta(days=2)) == []


def test_database_down_no_record_true_and_nothing_dropped(
    db: Engine, dlog: DecisionLog, tmp_path: Path
) -> None:
    checker = _checker(dlog)
    _break(db)
    d = checker.decide("MAIN", "A", FAMILY)  # would be True: cannot be made durable
    assert (d.record, d.reason) == (False, Reason.NOT_DURABLE)
    checker.decide("MAIN", "A", LAWYER)  # a refusal while the database is down
    assert dlog.flush()
    assert dlog.spilled == 2  # both refusals: the NOT_DURABLE one and the registered number
    _mend(db)
    ok = checker.decide("MAIN", "A", "+15125550142")  # a commit succeeds: the spill replays
    assert ok.record is True
    dlog.close()
    reasons = sorted((r.record, r.reason, bool(r.supersedes)) for r in _rows(db))
    assert reasons == [
        (False, Reason.NOT_DURABLE, True),
        (False, Reason.REGISTERED_NUMBER, False),
        (True, Reason.NOT_REGISTERED_RECORDING_ALLOWED, False),
    ]
    assert list((tmp_path / "spill").glob("*.replayed"))  # kept, never deleted


def test_a_full_queue_spills_instead_of_dropping_or_blocking(db: Engine, tmp_path: Path) -> None:
    log = DecisionLog(sessions(db), KEY, tmp_path / "spill.jsonl", queue_size=1)  # no writer yet
    checker = _checker(log)
    for _ in range(5):
        assert checker.decide("MAIN", "A", LAWYER).record is False
    assert log.spilled == 4
    assert len((tmp_path / "spill.jsonl").read_text().splitlines()) == 4
    log.start()
    checker.decide("MAIN", "A", "+15125550142")  # drains the queue, commits, replays the spill
    log.close()
    assert len(_rows(db)) == 6


def test_no_commit_before_the_deadline_is_a_timeout(db: Engine, tmp_path: Path) -> None:
    log = DecisionLog(sessions(db), KEY, tmp_path / "spill.jsonl")  # writer not running
    ticks = iter([0.0, 0.1] + [9.0] * 10)  # decided in time; the wait for the commit is not
    checker = _checker(log, monotonic=lambda: next(ticks))
    d = checker.decide("MAIN", "A", FAMILY, timeout_s=0.5)
    assert (d.record, d.reason) == (False, Reason.TIMEOUT)
    log.start()
    log.close()  # the late True commits too, but it was never answered: the refusal names it
    rows = {r.decision_id: r for r in _rows(db)}
    assert rows[d.decision_id].supersedes in rows


def test_declared_private_call_queues_the_number_for_the_registrar(
    db: Engine, dlog: DecisionLog
) -> None:
    checker = _checker(dlog)
    first = checker.decide("MAIN", "A", "512-555-0177", True)
    checker.decide("NORTH", "B", "+15125550177", True)
    checker.decide("MAIN", "A", LAWYER, True)  # registered: nothing to invite
    assert (first.record, first.reason) == (False, Reason.PRIVATE_CALL_DECLARED)
    dlog.close()
    with transaction(sessions(db)) as s:
        queued = candidates(s)
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 3
    assert [(c["number"], c["declarations"], c["facilities"]) for c in queued] == [
        ("+15125550177", 2, "MAIN,NORTH")
    ]
    assert first.decision_id in queued[0]["evidence"]


def test_every_decision_is_appended_to_the_ledger_decisions_log(db: Engine, tmp_path: Path) -> None:
    from privguard.internals.prevention.ledger import Ledger, Signer

    signer = Signer.load_or_create(
        tmp_path / "keys" / "log.key", name="privguard.example/decisions"
    )
    ledger = Ledger(log="decisions", signer=signer)
    log = DecisionLog(sessions(db), KEY, tmp_path / "spill.jsonl", ledger=ledger).start()
    checker = _checker(log)
    allowed = checker.decide("MAIN", "A", FAMILY)
    refused = checker.decide("MAIN", "A", LAWYER)
    log.close()
    with transaction(sessions(db)) as s:
        entries = list(ledger.entries(s))
        assert ledger.verify(s, signer.verifier()).ok
    by_id = {e.payload["decision_id"]: e for e in entries}
    assert by_id[allowed.decision_id].action == "decision.record"
    assert by_id[refused.decision_id].reason == Reason.REGISTERED_NUMBER
    assert LAWYER not in json.dumps([e.payload for e in entries])  # the number is keyed-hashed
    assert {r.ledger_index for r in _rows(db)} == {e.index for e in entries}


def test_the_event_loop_path_gives_the_same_answers_without_a_thread_each(
    db: Engine, dlog: DecisionLog, tmp_path: Path
) -> None:
    """decide_async (the service's path) is durable before it answers and fails closed."""
    import asyncio

    checker = _checker(dlog)

    async def many() -> list[object]:
        # 300 record=True calls waiting for commits at once, on one thread.
        calls = [checker.decide_async("MAIN", f"A{i}", FAMILY) for i in range(300)]
        return await asyncio.gather(*calls, checker.decide_async("MAIN", "B", LAWYER))

    answers = asyncio.run(many())
    ids = {r.decision_id for r in _rows(db) if r.record}  # type: ignore[union-attr]
    assert all(a.record and a.decision_id in ids for a in answers[:300])  # type: ignore[attr-defined]
    assert (answers[300].record, answers[300].reason) == (False, Reason.REGISTERED_NUMBER)  # type: ignore[attr-defined]

    _break(db)
    down = asyncio.run(checker.decide_async("MAIN", "C", FAMILY))
    assert (down.record, down.reason) == (False, Reason.NOT_DURABLE)
    _mend(db)

    stalled = DecisionLog(sessions(db), KEY, tmp_path / "stalled.jsonl")  # writer not running
    late = _checker(stalled).decide_async("MAIN", "D", FAMILY, timeout_s=0.2)
    assert asyncio.run(late).reason == Reason.TIMEOUT
