"""The embeddable checker: verified registry state in memory, decisions without I/O.

A platform that decides in-process builds one :class:`Checker` with a
:class:`~.snapshot.SnapshotVerifier` (which holds the registry's public key) and,
usually, a ``source`` callable that returns the current snapshot bytes (a file read, an
HTTP fetch). :meth:`Checker.start` re-reads the source in a background thread; a snapshot
is verified before anything of it is kept, and the new state replaces the old one in a
single assignment, so a decision sees one state or the other, never a mix.

Fail closed, always with the reason:

* nothing loaded yet -> ``NOTHING_LOADED``;
* the last snapshot delivered was refused (bad signature, rollback, not consistent,
  expired on arrival) -> that reason, until a good snapshot is loaded: a delivery channel
  that hands out bad snapshots may be hiding new registrations;
* the state in memory past its ``not_after`` at decision time -> ``SNAPSHOT_EXPIRED``;
* any exception while deciding -> ``INTERNAL_ERROR``;
* the decision (and, with a log, its durability) not done within the deadline -> ``TIMEOUT``.

A source that cannot be read (file missing, network down) changes nothing: the state
held stays until its ``not_after``, which bounds how stale a decision can be.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from privguard.internals.prevention.decisions.decide import Decision, Reason, decide, refusal
from privguard.internals.prevention.decisions.snapshot import SnapshotRejected, SnapshotVerifier
from privguard.internals.prevention.decisions.state import RegistryState

if TYPE_CHECKING:
    from privguard.internals.prevention.decisions.log import DecisionLog

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


# The default clock, without a Python frame per call (a decision reads it once).
_UTC_NOW: Callable[[], dt.datetime] = functools.partial(dt.datetime.now, dt.UTC)


class Checker:
    """Decide calls against the last verified registry snapshot (see the module doc).

    ``timeout_s`` is the default deadline of a decision; ``clock`` gives aware UTC times
    and ``monotonic`` seconds (both replaceable for replay and tests). With a ``log``
    (:class:`~.log.DecisionLog`) every decision is logged and a ``record=True`` is only
    returned once it is durable. ``on_load`` is called with each state made current, once
    it decides (the service freezes its heap there: :func:`.http.freeze_heap`).
    """

    def __init__(
        self,
        verifier: SnapshotVerifier,
        *,
        source: Callable[[], bytes] | None = None,
        interval_s: float = 1.0,
        timeout_s: float | None = 0.05,
        log: DecisionLog | None = None,
        clock: Callable[[], dt.datetime] = _UTC_NOW,
        monotonic: Callable[[], float] = time.monotonic,
        on_load: Callable[[RegistryState], None] | None = None,
    ) -> None:
        if verifier is None:
            raise ValueError("a checker needs a snapshot verifier: verification is required")
        self._verify = verifier
        self._source = source
        self._interval = interval_s
        self._timeout = timeout_s
        self._log = log
        self._clock = clock
        self._monotonic = monotonic
        self._on_load = on_load
        # (state or None, refusal reason or None, the floor for the next snapshot): one
        # tuple, swapped in one assignment.
        self._held: tuple[RegistryState | None, str | None, object | None] = (
            None,
            None,
            None,
        )
        self._digest = b""
        self._load_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def unsigned_for_replay(cls, state: RegistryState, **kw: object) -> Checker:
        """A checker holding ``state`` as given, for replaying an audit against the
        auditor's own registry file. Never for deciding live calls: nothing was verified."""

        def refuse(data: bytes, last: object | None, now: dt.datetime) -> object:
            raise SnapshotRejected(
                "a replay checker loads no snapshot", reason=Reason.BAD_SIGNATURE
            )

        checker = cls(refuse, **kw)  # type: ignore[arg-type]
        checker._held = (state, None, None)
        return checker

    # -- loading -------------------------------------------------------------------------

    @property
    def state(self) -> RegistryState | None:
        """The verified state decisions are made against (None before the first load)."""
        return self._held[0]

    @property
    def interval_s(self) -> float:
        """How often the background refresh reads the source."""
        return self._interval

    @property
    def fault(self) -> str | None:
        """The reason every decision is refused for now, if a delivery was refused."""
        return self._held[1]

    def load(self, data: bytes) -> RegistryState:
        """Verify ``data`` and, only if every check passes, make it the state.

        Raises :class:`SnapshotRejected` after putting the checker in the refused state
        (every decision answers ``record=False`` with that reason until a good load).
        """
        with self._load_lock:
            state, _fault, seen = self._held
            try:
                verified = self._verify(data, seen, self._clock())
            except SnapshotRejected as exc:
                self._held = (state, exc.reason, seen)
                log.error("registry snapshot refused (%s): %s", exc.reason, exc.render())
                raise
            except Exception as exc:
                self._held = (state, Reason.BAD_SNAPSHOT, seen)
                log.exception("registry snapshot could not be verified")
                raise SnapshotRejected(
                    f"unreadable snapshot: {exc}", reason=Reason.BAD_SNAPSHOT
                ) from exc
            self._held = (verified.state, None, verified.seen)
            self._digest = hashlib.sha256(data).digest()
            log.info(
                "registry snapshot loaded: %d numbers, log size %d",
                len(verified.state),
                verified.state.checkpoint.size,
            )
            if self._on_load is not None:
                try:  # the state is loaded already: a failing hook must not undo that
                    self._on_load(verified.state)
                except Exception:
                    log.exception("the checker's on_load hook failed")
            return verified.state

    def refresh(self) -> bool:
        """Read the source once; load it if its bytes changed. True if a new state loaded."""
        if self._source is None:
            return False
        # One refresh at a time: the background poll and a notified refresh (the service
        # after a registry change) must not load an older read over a newer one.
        with self._refresh_lock:
            try:
                data = self._source()
            except Exception as exc:  # the source is outside our control; the state stays
                log.warning("registry snapshot source unavailable: %s", exc)
                return False
            if hashlib.sha256(data).digest() == self._digest and self._held[1] is None:
                return False
            try:
                self.load(data)
            except SnapshotRejected:
                return False
            return True

    def start(self) -> Checker:
        """Refresh now, then every ``interval_s`` in a daemon thread."""
        self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="registry-refresh", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.refresh()

    # -- deciding ------------------------------------------------------------------------

    def decide(
        self,
        facility: str,
        inmate_account: str,
        dialed_number: str,
        private_call_declared: bool | None = None,
        *,
        at: dt.datetime | None = None,
        timeout_s: float | None = None,
        call_id: str = "",
    ) -> Decision:
        """Decide one call (see :func:`.decide.decide`), failing closed on every fault.

        ``at`` is the call's time (default now); the snapshot's expiry is judged against
        both ``at`` and the checker's clock, so a caller cannot revive an expired state by
        giving an old time. ``call_id`` (the platform's call reference, e.g. the SIP
        Call-ID) is kept with the decision, so a recording can be traced to it.
        """
        decision, deadline = self._unlogged(
            facility, inmate_account, dialed_number, private_call_declared, at, timeout_s, call_id
        )
        if call_id and decision.call_id != call_id:  # a refusal made before the lookup
            decision = decision._replace(call_id=call_id)
        if self._log is not None:
            decision = self._log.submit(decision, deadline, self._monotonic)
        return decision

    async def decide_async(
        self,
        facility: str,
        inmate_account: str,
        dialed_number: str,
        private_call_declared: bool | None = None,
        *,
        at: dt.datetime | None = None,
        timeout_s: float | None = None,
        call_id: str = "",
    ) -> Decision:
        """:meth:`decide` on an event loop: the same answer; the log's commit is awaited."""
        decision, deadline = self._unlogged(
            facility, inmate_account, dialed_number, private_call_declared, at, timeout_s, call_id
        )
        if call_id and decision.call_id != call_id:  # a refusal made before the lookup
            decision = decision._replace(call_id=call_id)
        if self._log is not None:
            decision = await self._log.submit_async(decision, deadline, self._monotonic)
        return decision

    def _unlogged(
        self,
        facility: str,
        inmate_account: str,
        dialed_number: str,
        private_call_declared: bool | None,
        at: dt.datetime | None,
        timeout_s: float | None,
        call_id: str = "",
    ) -> tuple[Decision, float | None]:
        start = self._monotonic()
        limit = self._timeout if timeout_s is None else timeout_s
        deadline = None if limit is None else start + limit
        try:
            decision = self._decide(
                facility, inmate_account, dialed_number, private_call_declared, at, call_id
            )
            if deadline is not None and self._monotonic() > deadline:
                decision = decision.refused(Reason.TIMEOUT)
        except Exception:
            log.exception("internal error while deciding; the call is not recorded")
            decision = self._internal_error(facility, inmate_account, private_call_declared)
        return decision, deadline

    def _decide(
        self,
        facility: str,
        inmate_account: str,
        dialed_number: str,
        private_call_declared: bool | None,
        at: dt.datetime | None,
        call_id: str = "",
    ) -> Decision:
        state, fault, _seen = self._held
        now = self._clock()
        when = now if at is None else at
        if fault is not None:
            return refusal(
                fault,
                facility,
                None,
                when,
                state=state,
                private_call_declared=bool(private_call_declared),
                inmate_account=inmate_account,
            )
        if state is not None and now >= state.not_after:
            return refusal(
                Reason.SNAPSHOT_EXPIRED,
                facility,
                None,
                when,
                state=state,
                private_call_declared=bool(private_call_declared),
                inmate_account=inmate_account,
            )
        return decide(
            facility, inmate_account, dialed_number, when, private_call_declared, state, call_id
        )

    def _internal_error(
        self, facility: object, inmate_account: object, private: object
    ) -> Decision:
        # Built from plain values only: whatever failed above must not fail again here.
        return Decision(
            record=False,
            reason=Reason.INTERNAL_ERROR,
            decision_id=f"err-{time.time_ns():x}",
            facility=str(facility),
            number=None,
            at=dt.datetime.now(dt.UTC),
            private_call_declared=private is True,
            inmate_account=str(inmate_account),
        )
