"""The answering side of the service's one decision writer, on the event loop (issue 15).

A real :class:`DecisionWriter` (its own DecisionLog on the test database) listens on a Unix
socket in a thread of the test; the service side, :class:`ChannelDecisionLog`, runs on an
asyncio loop with no thread of its own. record=true only after the writer's ack of a
commit; the writer gone or silent means record=false (NOT_DURABLE or TIMEOUT), and a
record=false it never acknowledged is in the spill file.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.decisions import Reason
from privguard.internals.prevention.decisions.channel import ChannelDecisionLog
from privguard.internals.prevention.decisions.log import DecisionLog
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.decisions.writer import DecisionWriter
from test_decisions_log import FAMILY, KEY, LAWYER, _checker


class _Served:
    """A writer serving ``log`` on ``path`` from a thread, stopped by :meth:`stop`."""

    def __init__(self, log: DecisionLog, path: Path) -> None:
        self.log = log.start()
        self.writer = DecisionWriter(log, path).bind()
        self.thread = threading.Thread(target=self.writer.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.writer.stop()
        self.thread.join(5)
        self.log.close()


@pytest.fixture
def served(db: Engine, tmp_path: Path) -> Iterator[_Served]:
    served = _Served(DecisionLog(sessions(db), KEY, tmp_path / "w.jsonl"), tmp_path / "w.sock")
    yield served
    served.stop()


def _rows(db: Engine) -> dict[str, DecisionRow]:
    with transaction(sessions(db)) as s:
        return {r.decision_id: r for r in s.scalars(select(DecisionRow))}


def _spilled(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line)["row"] for line in path.read_text().splitlines() if line]


def test_record_true_only_after_the_writer_committed_it(
    db: Engine, served: _Served, tmp_path: Path
) -> None:
    channel = ChannelDecisionLog(tmp_path / "w.sock", KEY, tmp_path / "spill.jsonl")
    checker = _checker(channel)

    async def run() -> list[object]:
        assert await channel.connected(5)
        await asyncio.sleep(0.1)  # the writer's reader thread for this connection started
        threads_before = threading.active_count()
        # Many decisions in one loop turn: sent together, each acknowledged.
        answers = await asyncio.gather(
            *(
                checker.decide_async("MAIN", f"A-{i}", FAMILY if i % 2 else LAWYER)
                for i in range(40)
            )
        )
        assert threading.active_count() == threads_before  # no thread on the answering side
        assert await channel.aflush(5)
        await channel.aclose()
        return answers

    answers = asyncio.run(run())
    rows = _rows(db)
    assert sum(a.record for a in answers) == 20  # type: ignore[attr-defined]
    for a in answers:
        row = rows[a.decision_id]  # type: ignore[attr-defined]
        assert row.record == a.record  # type: ignore[attr-defined]
        if a.record:  # type: ignore[attr-defined]
            assert a.reason == Reason.NOT_REGISTERED_RECORDING_ALLOWED  # type: ignore[attr-defined]
        else:
            assert a.reason == Reason.REGISTERED_NUMBER  # type: ignore[attr-defined]
    assert not _spilled(tmp_path / "spill.jsonl")


def test_no_writer_means_no_record_true_and_the_refusals_are_spilled(tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    channel = ChannelDecisionLog(tmp_path / "nobody.sock", KEY, spill)
    checker = _checker(channel)

    async def run() -> list[object]:
        assert not await channel.connected(0.3)
        answers = [await checker.decide_async("MAIN", "A", n) for n in (FAMILY, LAWYER)]
        await asyncio.sleep(0)  # the spill is written once per loop turn
        await channel.aclose()
        return answers

    family, lawyer = asyncio.run(run())
    assert (family.record, family.reason) == (False, Reason.NOT_DURABLE)  # type: ignore[attr-defined]
    assert (lawyer.record, lawyer.reason) == (False, Reason.REGISTERED_NUMBER)  # type: ignore[attr-defined]
    spilled = {r["decision_id"]: r for r in _spilled(spill)}
    # Both refusals are kept: the superseding NOT_DURABLE and the registered number's.
    assert set(spilled) == {family.decision_id, lawyer.decision_id}  # type: ignore[attr-defined]
    assert all(r["record"] is False for r in spilled.values())


def test_a_writer_that_goes_away_or_falls_silent_refuses_what_waits(tmp_path: Path) -> None:
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    spill = tmp_path / "spill.jsonl"
    channel = ChannelDecisionLog(path, KEY, spill)
    checker = _checker(channel)

    async def run() -> tuple[object, object, object]:
        assert await channel.connected(5)
        conn, _ = await asyncio.get_running_loop().run_in_executor(None, server.accept)
        silent = await checker.decide_async("MAIN", "A", FAMILY, timeout_s=0.3)  # never acked
        waiting = asyncio.ensure_future(checker.decide_async("MAIN", "A", FAMILY, timeout_s=30))
        no_ack = asyncio.ensure_future(checker.decide_async("MAIN", "A", LAWYER))
        await asyncio.sleep(0.2)
        conn.close()  # the writer is gone while a record=true waits for its ack
        server.close()
        gone = await waiting
        await no_ack
        await asyncio.sleep(0.05)
        await channel.aclose()
        return silent, gone, await no_ack

    silent, gone, lawyer = asyncio.run(run())
    assert (silent.record, silent.reason) == (False, Reason.TIMEOUT)  # type: ignore[attr-defined]
    assert (gone.record, gone.reason) == (False, Reason.NOT_DURABLE)  # type: ignore[attr-defined]
    # The registered number's refusal was sent but never acknowledged: it is spilled.
    assert lawyer.decision_id in {r["decision_id"] for r in _spilled(spill)}  # type: ignore[attr-defined]
