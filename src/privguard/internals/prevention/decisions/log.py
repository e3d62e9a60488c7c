"""The decision log that never drops a decision, and the counts compliance reports need.

One writer thread takes decisions from a bounded queue and commits them in batches (group
commit): each batch is one transaction that inserts the ``decisions`` rows, appends each
decision to the ledger's ``decisions`` log (when a ledger is configured) and queues
declared private calls to unregistered numbers for the registrar. Numbers and accounts are
stored as HMAC-SHA256 under the service key.

* ``record=True`` is returned only once its batch has committed. If the commit fails, or
  does not happen before the decision's deadline, the caller gets ``record=False``
  (``NOT_DURABLE`` or ``TIMEOUT``) under a new decision id that names the one it
  supersedes, and that refusal is logged like any other. A recording without a durable
  ``record=True`` is therefore never justified by this log.
* ``record=False`` is logged asynchronously. When the queue is full or a commit fails it
  goes to the spill file (append-only JSON lines, flushed and fsynced), which the writer
  replays into the database once a commit succeeds again; a replayed spill file is renamed
  ``*.replayed``, never deleted. Only a crash of the process can lose a ``record=False``
  still in the in-memory queue (at most one batch); never a ``record=True``.

Under ``privguard serve`` this log runs in the service's one writer process
(:mod:`.writer`), and the answering processes hand it their decisions (:mod:`.channel`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from privguard.internals.common.keys import hmac_hex
from privguard.internals.prevention.db import insert_many, transaction
from privguard.internals.prevention.decisions.decide import Decision, Reason, new_decision_id
from privguard.internals.prevention.decisions.models import DecisionRow, queue_candidate
from privguard.internals.prevention.ledger.entry import NewEntry

log = logging.getLogger(__name__)
LEDGER_LOG = "decisions"
_DECISIONS = cast(Table, DecisionRow.__table__)


class LedgerLike(Protocol):
    """What the log needs of the ledger (``ledger.Ledger(log="decisions", signer=...)``)."""

    def append_many(self, session: Session, items: Sequence[NewEntry]) -> list[Any]: ...


class _Done(Protocol):
    def set(self) -> None: ...


class _Wakeup:
    """The writer's signal to a waiter on an event loop: resolves its future, thread-safely."""

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self._loop, self._future = loop, future

    def set(self) -> None:
        self._loop.call_soon_threadsafe(_resolve, self._future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter that timed out has cancelled it
        future.set_result(None)


@dataclass
class _Item:
    row: dict[str, Any]
    number: str | None  # clear, only for a declared private call (the candidate queue)
    done: _Done | None = None
    ok: bool = False
    error: str = field(default="")
    barrier: bool = False  # no decision: set once everything queued before it is handled


class DecisionLog:
    """Log every decision (see the module doc); :meth:`submit` is what the checker calls."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        key: bytes,
        spill: Path,
        *,
        ledger: LedgerLike | None = None,
        actor: str = "gate",
        max_batch: int = 512,
        queue_size: int = 20_000,
    ) -> None:
        self._factory = factory
        self._key = key
        self._spill = Path(spill)
        self._ledger = ledger
        self._actor = actor
        self._max_batch = max_batch
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size)
        self._spill_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.spilled = 0  # decisions written to the spill file (counted, for reports)
        self._spill_name = str(self._spill)
        self._pending = True  # *.pending spill files may exist (see _replay_spill)
        # Called by the writer thread after each batch is settled (the writer process
        # sends the batch's acks then, in one write per worker).
        self.on_batch: Callable[[], None] | None = None

    # -- the caller's side ----------------------------------------------------------------

    def submit(
        self,
        decision: Decision,
        deadline: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Decision:
        """Log ``decision``; for ``record=True`` wait until it is durable, else refuse.

        ``deadline`` is a ``monotonic()`` time; past it a ``record=True`` not yet durable
        is answered ``record=False`` (``TIMEOUT``). Blocks the calling thread while it
        waits: an embedding platform's call-setup thread. On an event loop, use
        :meth:`submit_async` (the same steps, awaited).
        """
        done = threading.Event()
        item = self._queue_record(decision, done)
        if item is None:
            return self._answer_now(decision)
        return self._outcome(decision, item, done.wait(_left(deadline, monotonic)))

    async def submit_async(
        self,
        decision: Decision,
        deadline: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Decision:
        """:meth:`submit` on an event loop: awaits durability without holding a thread.

        The service answers this way, so the number of calls waiting for the group commit
        is not capped by a thread pool (with blocking waits, 40 threads waiting ~50 ms each
        held the service near 200 decisions/s at a few percent of a core).
        """
        loop = asyncio.get_running_loop()
        durable: asyncio.Future[None] = loop.create_future()
        item = self._queue_record(decision, _Wakeup(loop, durable))
        if item is None:
            return self._answer_now(decision)
        try:
            await asyncio.wait_for(durable, _left(deadline, monotonic))
        except TimeoutError:
            return self._outcome(decision, item, False)
        return self._outcome(decision, item, True)

    def _queue_record(self, decision: Decision, done: _Done) -> _Item | None:
        # The steps both submits share. A record=False is queued without a waiter (None
        # returned: answer at once); a record=True with ``done``, which the writer sets
        # once its batch committed or failed. The queue is never waited on: full, it is a
        # refusal (a record=False goes to the spill file instead).
        item = self._item(decision)
        if not decision.record:
            self._enqueue_async(item)
            return None
        item.done = done
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return None
        return item

    def _answer_now(self, decision: Decision) -> Decision:
        # A record=False (logged asynchronously) or a record=True the queue had no room for.
        return self._supersede(decision, Reason.TIMEOUT) if decision.record else decision

    def _outcome(self, decision: Decision, item: _Item, settled: bool) -> Decision:
        if not settled:
            return self._supersede(decision, Reason.TIMEOUT)
        if not item.ok:
            return self._supersede(decision, Reason.NOT_DURABLE)
        return decision

    def _supersede(self, decision: Decision, reason: str) -> Decision:
        refused = decision._replace(record=False, reason=reason, decision_id=new_decision_id())
        item = self._item(refused, supersedes=decision.decision_id)
        self._enqueue_async(item)
        log.error(
            "record=True %s not durable (%s): answered record=False", decision.decision_id, reason
        )
        return refused

    def _enqueue_async(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._write_spill([item])

    def offer(self, item: _Item) -> bool:
        """Queue an item built elsewhere (the writer process's workers); False when full."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def spill(self, items: list[_Item]) -> None:
        """Write ``items`` to the spill file (fsynced), to be replayed after a commit."""
        self._write_spill(items)

    def _item(self, d: Decision, supersedes: str = "") -> _Item:
        row = {
            "decision_id": d.decision_id,
            "at": d.at.isoformat(),
            "facility": d.facility,
            "number_hmac": hmac_hex(self._key, "number:" + d.number) if d.number else "",
            "account_hmac": (
                hmac_hex(self._key, "account:" + d.inmate_account) if d.inmate_account else ""
            ),
            "record": d.record,
            "reason": d.reason,
            "private_call_declared": d.private_call_declared,
            "entry_ref": d.entry.ref if d.entry is not None else "",
            "checkpoint_size": d.checkpoint.size if d.checkpoint is not None else None,
            "checkpoint_root": d.checkpoint.root if d.checkpoint is not None else "",
            "supersedes": supersedes,
            "call_id": d.call_id,
        }
        private = d.reason == Reason.PRIVATE_CALL_DECLARED and d.number is not None
        return _Item(row, d.number if private else None)

    # -- the writer -----------------------------------------------------------------------

    def start(self) -> DecisionLog:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Commit or spill everything queued, then stop the writer."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def connected(self, timeout: float = 10.0) -> bool:
        """Whether decisions can be made durable now (this log commits them itself: yes).

        The service awaits it at startup; :class:`~.channel.ChannelDecisionLog` waits
        there for its connection to the writer process."""
        return True

    async def aclose(self) -> None:
        """:meth:`close`, from the service's event loop (its lifespan's shutdown)."""
        self.close()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is committed or spilled."""
        done = threading.Event()
        self._queue.put(_Item({}, None, done, barrier=True), timeout=timeout)
        return done.wait(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch: list[_Item] = []
            if first is None:
                stop = True
            else:
                batch.append(first)
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            if batch:
                self.write(batch)

    def write(self, batch: list[_Item]) -> bool:
        """Commit ``batch`` in one transaction; on failure refuse the waiters, spill the rest."""
        barriers = [it for it in batch if it.barrier]
        batch = [it for it in batch if not it.barrier]
        try:
            return self._write(batch)
        finally:
            for it in barriers:
                it.done.set()  # type: ignore[union-attr]
            if self.on_batch is not None:
                self.on_batch()

    def _write(self, batch: list[_Item]) -> bool:
        try:
            with transaction(self._factory) as session:
                self._insert(session, batch)
        except Exception as exc:
            log.error("decision log commit failed (%s); record=False decisions spilled", exc)
            self._write_spill([it for it in batch if it.done is None])
            for it in batch:
                if it.done is not None:
                    it.ok, it.error = False, str(exc)
                    it.done.set()
            return False
        for it in batch:
            if it.done is not None:
                it.ok = True
                it.done.set()
        self._replay_spill()
        return True

    def _insert(self, session: Session, batch: list[_Item]) -> None:
        # One index claim, one multi-row insert per table: the batch costs a few
        # statements whatever its size (row by row, the ORM spent ~1 ms per decision).
        if not batch:
            return
        rows = [it.row | {"at": dt.datetime.fromisoformat(it.row["at"])} for it in batch]
        indexes: list[int | None] = [None] * len(rows)
        if self._ledger is not None:
            appended = self._ledger.append_many(
                session,
                [
                    NewEntry(
                        self._actor,
                        "decision.record" if it.row["record"] else "decision.no_record",
                        it.row["reason"],
                        it.row,
                        row["at"],
                    )
                    for it, row in zip(batch, rows, strict=True)
                ],
            )
            indexes = [a.index for a in appended]
        for row, index in zip(rows, indexes, strict=True):
            row["ledger_index"] = index
        # The driver's executemany (db.insert_many), not the ORM's bulk insert, which spent
        # about 1 ms of CPU per batch on bookkeeping these plain rows do not need.
        insert_many(session, _DECISIONS, rows)
        for it, row in zip(batch, rows, strict=True):
            if it.number is not None:
                queue_candidate(session, it.number, row["facility"], row["at"], row["decision_id"])
        session.flush()

    # -- the spill file ---------------------------------------------------------------------

    def _write_spill(self, items: list[_Item]) -> None:
        if not items:
            return
        lines = "".join(
            json.dumps({"row": it.row, "number": it.number}, sort_keys=True) + "\n" for it in items
        )
        with self._spill_lock:
            self._spill.parent.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self._spill, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    # Several processes spill into one file (the writer and the service's
                    # workers); the replaying writer renames it under the same lock. A
                    # file renamed between our open and our lock is not ours to append to.
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    if _same_file(fd, self._spill):
                        os.write(fd, lines.encode("utf-8"))
                        os.fsync(fd)
                        break
                finally:
                    os.close(fd)
            self.spilled += len(items)

    def _replay_spill(self) -> None:
        # Runs after every commit, so it must be cheap when there is nothing to replay:
        # one stat of the spill file (other processes may have spilled into it), and a
        # scan for ``*.pending`` files only when one may exist (one renamed here, one left
        # by a replay that failed, or by an earlier run: checked once at start).
        with self._spill_lock:
            if os.path.exists(self._spill_name):
                fd = os.open(self._spill, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # no other process is appending now
                    self._spill.rename(
                        self._spill.with_name(f"{self._spill.name}.{time.time_ns()}.pending")
                    )
                finally:
                    os.close(fd)
                self._pending = True
        if not self._pending:
            return
        for pending in sorted(self._spill.parent.glob(self._spill.name + ".*.pending")):
            items = [_Item(**json.loads(line)) for line in _lines(pending)]
            try:
                with transaction(self._factory) as session:
                    known = set(
                        session.scalars(
                            select(DecisionRow.decision_id).where(
                                DecisionRow.decision_id.in_([it.row["decision_id"] for it in items])
                            )
                        )
                    )
                    self._insert(
                        session, [it for it in items if it.row["decision_id"] not in known]
                    )
            except Exception as exc:
                log.error("spilled decisions not replayed yet (%s): %s", pending, exc)
                return
            pending.rename(pending.with_suffix(".replayed"))
            log.warning("replayed %d spilled decisions from %s", len(items), pending)
        self._pending = False  # every pending file replayed (a failure returned above)


def _left(deadline: float | None, monotonic: Callable[[], float]) -> float | None:
    return None if deadline is None else max(0.0, deadline - monotonic())


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line
