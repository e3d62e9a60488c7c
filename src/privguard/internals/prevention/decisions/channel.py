"""A service process's decision log: every decision handed to the one writer process.

``privguard serve`` runs the decision log's group commit in a process of its own
(:mod:`.writer`), so that committing (the ledger's hashing, SQLAlchemy, the driver) never
holds the interpreter lock of the process that answers. :class:`ChannelDecisionLog` is the
answering side, and it runs entirely on the service's event loop, with no thread: each
decision becomes one line on a Unix socket to the writer (the lines of one loop turn are
sent in one write), and the writer's acks are read by an asyncio protocol that settles the
waiting answers directly. It answers like :class:`~.log.DecisionLog` (same
``submit_async``, same refusals):

* a ``record=True`` is returned only after the writer's ack that its batch committed;
* no ack before the decision's deadline -> ``record=False`` (``TIMEOUT``);
* the writer down, or the connection lost while waiting -> ``record=False``
  (``NOT_DURABLE``) for every ``record=True`` in flight and every new one, until a
  connection succeeds again (tried at most every ``retry_s``, in the background);
* a ``record=False`` the writer did not acknowledge as committed goes to the shared spill
  file (fsynced), which the writer replays once it commits again.

The channel's format is :mod:`.writer`'s (newline-delimited JSON both ways).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from pydantic_core import to_json

from privguard.internals.prevention.decisions.decide import Decision, Reason
from privguard.internals.prevention.decisions.log import DecisionLog, _Item, _left

log = logging.getLogger(__name__)
HOLD_S = 0.002  # the longest a line waits for the writer's acks of the previous write


class _Settle:
    """An item's ``done``: resolves the waiting answer's future with True (acked)."""

    def __init__(self, future: asyncio.Future[bool]) -> None:
        self._future = future

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(True)


def _expire(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


class _Channel(asyncio.Protocol):
    """The connection to the writer: acks in, one line each."""

    def __init__(self, owner: ChannelDecisionLog) -> None:
        self._owner = owner
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            self._owner._ack(line)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._lost(self, "the decision writer closed the connection")


class ChannelDecisionLog(DecisionLog):
    """The answering side of the service's one decision writer (see the module doc)."""

    def __init__(self, path: Path, key: bytes, spill: Path, *, retry_s: float = 0.1) -> None:
        super().__init__(None, key, spill)  # type: ignore[arg-type]  # never commits itself
        self._path = Path(path)
        self._retry = retry_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._channel: _Channel | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._failed_at = -1e9
        self._waiting: dict[int, _Item] = {}
        self._next = 0
        self._out: list[bytes] = []
        self._to_spill: list[_Item] = []
        self._sent_upto = 0  # the last item id written to the writer
        self._acked_upto = 0  # the last item id it acknowledged
        self._hold: asyncio.TimerHandle | None = None

    # -- the caller's side ----------------------------------------------------------------

    async def submit_async(
        self,
        decision: Decision,
        deadline: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Decision:
        """Log ``decision``; a ``record=True`` is returned once the writer acked its commit."""
        loop = self._bind()
        item = self._item(decision)
        if not decision.record:
            self._send(item)
            return decision
        durable: asyncio.Future[bool] = loop.create_future()
        item.done = _Settle(durable)
        if not self._send(item):
            return self._supersede(decision, Reason.NOT_DURABLE)
        left = _left(deadline, monotonic)
        timer = None if left is None else loop.call_later(left, _expire, durable)
        try:
            settled = await durable
        finally:
            if timer is not None:
                timer.cancel()
        return self._outcome(decision, item, settled)

    def submit(
        self,
        decision: Decision,
        deadline: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Decision:
        """:meth:`submit_async` from another thread, run on the service's loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or _running_on(loop):
            # No loop to run on (or called from the loop itself, which would deadlock):
            # nothing can be made durable.
            return self._supersede(decision, Reason.NOT_DURABLE) if decision.record else decision
        future = asyncio.run_coroutine_threadsafe(
            self.submit_async(decision, deadline, monotonic), loop
        )
        return future.result()

    def _enqueue_async(self, item: _Item) -> None:
        # A record=False made by DecisionLog's own steps (a superseding refusal).
        loop = self._loop
        if loop is None or loop.is_closed():
            self._write_spill([item])
        elif _running_on(loop):
            self._send(item)
        else:
            loop.call_soon_threadsafe(self._send, item)

    def start(self) -> ChannelDecisionLog:
        """Connect to the writer in the background (on the running loop, if any)."""
        with contextlib.suppress(RuntimeError):
            self._bind()
        return self

    async def connected(self, timeout: float = 10.0) -> bool:
        """Wait until the channel to the writer is open (False if it is not by ``timeout``)."""
        self._bind()
        give_up = time.monotonic() + timeout
        while self._transport is None and time.monotonic() < give_up:
            if self._connecting is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._connecting), timeout)
            else:
                await asyncio.sleep(self._retry)
                self._reconnect()
        return self._transport is not None

    async def aflush(self, timeout: float = 5.0) -> bool:
        """Wait until every decision sent so far is acknowledged (committed or spilled)."""
        loop = self._bind()
        done: asyncio.Future[bool] = loop.create_future()
        barrier = _Item({}, None, _Settle(done), barrier=True)
        if not self._send(barrier):
            return False
        timer = loop.call_later(timeout, _expire, done)
        try:
            return await done
        finally:
            timer.cancel()

    def flush(self, timeout: float | None = None) -> bool:
        """:meth:`aflush` from another thread."""
        loop = self._loop
        if loop is None or loop.is_closed() or _running_on(loop):
            return False
        future = asyncio.run_coroutine_threadsafe(self.aflush(timeout or 5.0), loop)
        try:
            return future.result((timeout or 5.0) + 1.0)
        except concurrent.futures.TimeoutError:
            return False

    async def aclose(self, timeout: float = 5.0) -> None:
        """Wait (``timeout`` at most) for the writer's acks, then disconnect; what is
        still unacknowledged is settled as not durable (record=False ones spilled)."""
        if self._transport is not None:
            await self.aflush(timeout)
        self._flush(force=True)
        transport, channel = self._transport, self._channel
        if transport is not None and channel is not None:
            transport.close()
            self._lost(channel, "the service stopped")
        self._spill_now()

    def close(self) -> None:
        """Spill what cannot be acknowledged any more (the loop is gone; see :meth:`aclose`)."""
        items = list(self._waiting.values())
        self._waiting.clear()
        self._write_spill([it for it in items if not it.barrier and it.done is None])
        self._spill_now()

    # -- the channel ----------------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._transport = self._channel = self._connecting = self._hold = None
            self._sent_upto = self._acked_upto = self._next
        if self._transport is None:
            self._reconnect()
        return loop

    def _send(self, item: _Item) -> bool:
        # On the loop. False: not sent (no channel); a record=False is then spilled.
        transport = self._transport
        if transport is None or transport.is_closing():
            self._reconnect()
            if not item.barrier and item.done is None:
                self._spill_soon(item)
            return False
        self._next += 1
        self._waiting[self._next] = item
        message: dict[str, object] = (
            {"i": self._next, "b": True}
            if item.barrier
            else {"i": self._next, "row": item.row, "number": item.number}
        )
        self._out.append(to_json(message) + b"\n")
        if len(self._out) == 1:  # one write per loop turn at most, whatever it holds
            self._loop.call_soon(self._flush)  # type: ignore[union-attr]
        return True

    def _flush(self, force: bool = False) -> None:
        # While the writer has not acknowledged everything written so far, it is busy
        # committing and would only queue more lines: they are held and sent together
        # when its acks come (or after HOLD_S at most). Each write wakes the writer's
        # reader on the other core, which cost the answering process more CPU than the
        # line itself (measured: issue 15's HTTP tail).
        if not self._out:
            return
        if not force and self._acked_upto < self._sent_upto:
            if self._hold is None and self._loop is not None:
                self._hold = self._loop.call_later(HOLD_S, self._flush, True)
            return
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        data, self._out = b"".join(self._out), []
        self._sent_upto = self._next
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
        # else: connection_lost settles every waiting item (record=False ones spilled).

    def _ack(self, line: bytes) -> None:
        try:
            message = json.loads(line)
            ident = int(message["i"])
            ok = bool(message["ok"])
        except (ValueError, KeyError, TypeError):
            log.error("decision writer sent a malformed ack: %r", line[:200])
            return
        item = self._waiting.pop(ident, None)
        if item is not None:
            self._settle(item, ok)
        if ident > self._acked_upto:
            self._acked_upto = ident
            if self._out and ident >= self._sent_upto:
                self._flush()

    def _settle(self, item: _Item, ok: bool) -> None:
        if item.barrier:
            item.done.set()  # type: ignore[union-attr]
        elif item.done is not None:
            item.ok = ok
            item.done.set()
        elif not ok:  # a record=False not known to be committed: keep it in the spill file
            self._spill_soon(item)

    def _lost(self, channel: _Channel, why: str) -> None:
        if channel is not self._channel:
            return
        self._transport = self._channel = None
        self._failed_at = time.monotonic()
        self._sent_upto = self._acked_upto = self._next
        items = list(self._waiting.values())
        self._waiting.clear()
        if items:
            log.error("%s: %d decisions not acknowledged", why, len(items))
        for it in items:
            self._settle(it, False)

    def _reconnect(self) -> None:
        loop = self._loop
        if loop is None or self._connecting is not None:
            return
        if time.monotonic() - self._failed_at < self._retry:
            return  # a writer that is down costs each decision nothing but its refusal
        self._connecting = loop.create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, channel = await loop.create_unix_connection(
                lambda: _Channel(self), str(self._path)
            )
        except OSError as exc:
            self._failed_at = time.monotonic()
            log.error("decision writer unreachable at %s: %s", self._path, exc)
        else:
            self._transport, self._channel = transport, channel
        finally:
            self._connecting = None

    def _spill_soon(self, item: _Item) -> None:
        self._to_spill.append(item)
        if len(self._to_spill) == 1 and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(self._spill_now)

    def _spill_now(self) -> None:
        # One fsynced write per loop turn; only while the writer is unreachable.
        items, self._to_spill = self._to_spill, []
        self._write_spill(items)


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
