"""The decision: one pure function from (call, registry state) to record or not, and why.

:func:`decide` reads nothing but its arguments and writes nothing; the checker
(:mod:`.checker`) feeds it the state it verified, and the log (:mod:`.log`) makes what it
returned durable. There is no override: no argument, role or setting turns a ``False``
into a ``True``. ``record`` is True only when every check has passed and the number is
not registered for this facility on this day.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from typing import NamedTuple

from privguard.internals.prevention.decisions.canon import canonical
from privguard.internals.prevention.decisions.state import Checkpoint, RegistryEntry, RegistryState


class Reason:
    """Reason codes (strings, stable: they go into logs and compliance counts)."""

    NOT_REGISTERED_RECORDING_ALLOWED = "NOT_REGISTERED_RECORDING_ALLOWED"  # the only True
    REGISTERED_NUMBER = "REGISTERED_NUMBER"
    PRIVATE_CALL_DECLARED = "PRIVATE_CALL_DECLARED"
    NOTHING_LOADED = "NOTHING_LOADED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    BAD_SNAPSHOT = "BAD_SNAPSHOT"  # unreadable, or not consistent with the last one seen
    SNAPSHOT_EXPIRED = "SNAPSHOT_EXPIRED"
    ROLLBACK = "ROLLBACK"
    UNPARSEABLE_NUMBER = "UNPARSEABLE_NUMBER"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    TIMEOUT = "TIMEOUT"
    NOT_DURABLE = "NOT_DURABLE"  # a True could not be made durable in the log
    BAD_REQUEST = "BAD_REQUEST"  # facility or time missing or malformed
    FACILITY_NOT_COVERED = "FACILITY_NOT_COVERED"  # the snapshot is another facility's

    ALL: tuple[str, ...] = (
        "NOT_REGISTERED_RECORDING_ALLOWED",
        "REGISTERED_NUMBER",
        "PRIVATE_CALL_DECLARED",
        "NOTHING_LOADED",
        "BAD_SIGNATURE",
        "BAD_SNAPSHOT",
        "SNAPSHOT_EXPIRED",
        "ROLLBACK",
        "UNPARSEABLE_NUMBER",
        "INTERNAL_ERROR",
        "TIMEOUT",
        "NOT_DURABLE",
        "BAD_REQUEST",
        "FACILITY_NOT_COVERED",
    )


class _Entropy:
    """os.urandom drawn 4 kB at a time, kept as hex: one system call per 409 ids.

    Each os.urandom call releases the GIL, and on a busy service another thread then holds
    it for up to the switch interval (5 ms): the id cost 0.6 ms of a decision's latency.
    The pool is kept as hex text and read at an offset (an id is one slice: no copy of
    the rest and no hex conversion per id), and a forked child draws a pool of its own
    (os.register_at_fork), so no id is shared across processes.
    """

    _SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = ""
        self._pos = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pool, self._pos = "", 0

    def take_hex(self, n: int) -> str:
        """``n`` random bytes as ``2 * n`` hex digits."""
        width = 2 * n
        with self._lock:
            pos = self._pos
            if pos + width > len(self._pool):
                self._pool, pos = os.urandom(self._SIZE).hex(), 0
            self._pos = pos + width
            return self._pool[pos : pos + width]


_ENTROPY = _Entropy()


def new_decision_id() -> str:
    """A sortable unique id (ULID-like): 48 bits of milliseconds then 80 random bits, hex."""
    return f"{time.time_ns() // 1_000_000:012x}{_ENTROPY.take_hex(10)}"


class Decision(NamedTuple):
    """What the gate answered for one call, and what it was based on.

    Immutable. A named tuple, not a frozen dataclass: it is built once per call at call
    setup, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field)
    cost about a third of the whole in-process decision."""

    record: bool
    reason: str
    decision_id: str
    facility: str
    number: str | None  # canonical E.164, None when unparseable
    at: dt.datetime
    entry: RegistryEntry | None = None  # the matching entry, if any
    checkpoint: Checkpoint | None = None  # the tree head of the state used, if any
    private_call_declared: bool = False
    inmate_account: str = ""
    call_id: str = ""  # the platform's call reference (SIP Call-ID), when it gave one

    def to_dict(self) -> dict[str, object]:
        """The answer as JSON (also the HTTP response body); the number is not included."""
        return {
            "record": self.record,
            "reason": self.reason,
            "decision_id": self.decision_id,
            "facility": self.facility,
            "at": self.at.isoformat(),
            "private_call_declared": self.private_call_declared,
            "call_id": self.call_id,
            "entry": self.entry.to_dict() if self.entry is not None else None,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint is not None else None,
        }

    def refused(self, reason: str) -> Decision:
        """This decision turned into a refusal (``record=False``) for ``reason``, same id."""
        return self._replace(record=False, reason=reason)


def refusal(
    reason: str,
    facility: str,
    number: str | None,
    at: dt.datetime,
    *,
    state: RegistryState | None = None,
    private_call_declared: bool = False,
    inmate_account: str = "",
) -> Decision:
    """A ``record=False`` decision for ``reason`` (used for every fail-closed path)."""
    return Decision(
        record=False,
        reason=reason,
        decision_id=new_decision_id(),
        facility=facility,
        number=number,
        at=at,
        checkpoint=state.checkpoint if state is not None else None,
        private_call_declared=private_call_declared,
        inmate_account=inmate_account,
    )


def decide(
    facility: str,
    inmate_account: str,
    dialed_number: str,
    at: dt.datetime,
    private_call_declared: bool | None,
    state: RegistryState | None,
    call_id: str = "",
) -> Decision:
    """Decide whether the call may be recorded. Pure: same inputs, same answer (but the id).

    Checks, in order, each answered with ``record=False`` and its reason: no state
    (``NOTHING_LOADED``), a malformed facility or a naive time (``BAD_REQUEST``), the state
    past its ``not_after`` at ``at`` (``SNAPSHOT_EXPIRED``), a facility the state does not speak for
    (``FACILITY_NOT_COVERED``), a number that cannot be read
    (``UNPARSEABLE_NUMBER``), a registration covering the number for this facility on
    this day (``REGISTERED_NUMBER``, with the entry), a declared private call
    (``PRIVATE_CALL_DECLARED``). Only a call passing all of them gets ``record=True``
    (``NOT_REGISTERED_RECORDING_ALLOWED``). ``call_id`` (the platform's call reference)
    is kept with the answer. Errors are the caller's to catch (the checker
    turns any exception into ``INTERNAL_ERROR``).
    """
    private = bool(private_call_declared)
    if state is None:
        return refusal(Reason.NOTHING_LOADED, facility, None, at, private_call_declared=private)
    number = canonical(dialed_number)
    reason = None
    if not isinstance(facility, str) or not facility.strip() or at.tzinfo is None:
        reason = Reason.BAD_REQUEST
    elif at >= state.not_after:
        reason = Reason.SNAPSHOT_EXPIRED
    elif not state.speaks_for(facility):
        reason = Reason.FACILITY_NOT_COVERED
    elif number is None:
        reason = Reason.UNPARSEABLE_NUMBER
    if reason is not None:
        return refusal(
            reason,
            str(facility),
            number,
            at,
            state=state,
            private_call_declared=private,
            inmate_account=inmate_account,
        )
    assert number is not None  # for the type checker: the branch above returned
    found = state.entries.get(number)
    match = None
    if found:
        day = state.local_day(facility, at)
        for entry in found:
            if entry.covers(facility, day):
                match = entry
                break
    if match is not None:
        reason, record = Reason.REGISTERED_NUMBER, False
    elif private:
        reason, record = Reason.PRIVATE_CALL_DECLARED, False
    else:
        reason, record = Reason.NOT_REGISTERED_RECORDING_ALLOWED, True
    # Positional: the hot path (keywords cost a little more per call).
    return Decision(
        record,
        reason,
        new_decision_id(),
        facility,
        number,
        at,
        match,
        state.checkpoint,
        private,
        inmate_account,
        call_id,
    )
