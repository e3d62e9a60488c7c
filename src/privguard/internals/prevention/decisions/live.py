"""The service's own registry as its checker's snapshot source (issue 15: "a registry
change is visible to decisions within 1 s on the service").

:class:`RegistrySource` is the ``source`` callable of the service's :class:`~.checker.Checker`.
Each call reads the registry log's size (one indexed row: cheap) and returns the bytes it
returned last time unless the log grew or shrank, or the last snapshot is older than
``renew``; only then does it cut a new signed snapshot, in one read transaction: the log's
root at that size, a consistency proof from the checkpoint the checker holds now, and the
registry's numbers. The checker verifies it with the registry's public key like any other
snapshot (:func:`~.snapshot.registry_verifier`): nothing built here is trusted unverified,
and a snapshot the checker refuses leaves it failing closed until a good one loads.

The snapshot speaks for every facility (``facility *``). Its format carries no facility
scope per entry, so a number registered for some facilities only is protected at every
facility by this gate (it errs towards not recording, never towards recording). Entries
are every registration not ended before yesterday, future ones included: the decision
checks each entry's dates against the call's day. Two registrations of one number and
extension (an ended one and its successor) become one entry spanning both.

Nothing here writes to the database: no checkpoint row, no export row (these snapshots
never leave the process).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from privguard.internals.prevention.decisions.state import Checkpoint
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.registry.models import PrivilegedNumber as N
from privguard.internals.prevention.registry.snapshots import (
    Snapshot,
    SnapshotEntry,
    sign_snapshot,
)

log = logging.getLogger(__name__)

ALL = "*"  # the snapshot's facility: it speaks for every facility
VENDOR = "privguard-service"  # names the consumer: this service's own gate


def utc_now() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


class RegistrySource:
    """Signed snapshots of the registry, cut again only when its log changed (module doc).

    ``held`` returns the checkpoint the checker holds (None before its first load): the
    next snapshot carries a consistency proof from it, so the checker can check that the
    registry only grew. ``valid`` is each snapshot's lifetime (its ``not_after``), which
    bounds how long a checker whose refresh stopped keeps deciding; ``renew`` re-issues an
    unchanged registry's snapshot well before that.
    """

    def __init__(
        self,
        factory: Callable[[], Session],
        ledger: Ledger,
        signer: Signer,
        held: Callable[[], Checkpoint | None],
        *,
        valid: dt.timedelta = dt.timedelta(days=1),
        renew: dt.timedelta = dt.timedelta(hours=1),
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if renew >= valid:
            raise ValueError("renew must be shorter than valid, or snapshots would expire")
        self._factory = factory
        self._ledger = ledger
        self._signer = signer
        self._held = held
        self._valid = valid
        self._renew = renew
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[int, dt.datetime, bytes] | None = None  # size, issued, bytes
        self.builds = 0  # snapshots cut (for tests and benchmarks: polls are not builds)

    def __call__(self) -> bytes:
        with self._lock, self._factory() as session:
            _repeatable(session)
            size = self._ledger.size(session)
            now = self._clock()
            last = self._last
            if last is not None and last[0] == size and now - last[1] < self._renew:
                return last[2]
            data = self._build(session, size, now)
            self._last = (size, now.replace(microsecond=0), data)
            self.builds += 1
            return data

    def _build(self, session: Session, size: int, now: dt.datetime) -> bytes:
        root = self._ledger.root(session, size)
        prev_size, prev_root, proof = 0, None, []
        held = self._held()
        if held is not None and held.size < size:
            prev_size, prev_root = held.size, bytes.fromhex(held.root)
            if prev_size:
                proof = self._ledger.consistency_proof(session, prev_size, size)
        # held.size == size: no proof needed (the checker compares the roots);
        # held.size > size: the log shrank, and the checker refuses it as a rollback.
        issued = now.replace(microsecond=0)
        entries = current_entries(session, issued.date())
        snap = Snapshot(
            origin=self._signer.name,
            facility=ALL,
            vendor=VENDOR,
            issued=issued,
            effective=issued.date(),
            not_after=issued + self._valid,
            tree_size=size,
            root=root,
            previous_size=prev_size,
            previous_root=prev_root,
            proof=tuple(proof),
            entries=tuple(entries),
            sha256="",
            verified=True,
        )
        text = sign_snapshot(snap, self._signer)
        log.info("decision snapshot cut: %d numbers, registry log size %d", len(entries), size)
        return text.encode("utf-8")


def _repeatable(session: Session) -> None:
    # The size, the root and the rows must be read from one state of the database. SQLite
    # (WAL) reads one snapshot per transaction already; PostgreSQL needs to be asked.
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def current_entries(session: Session, today: dt.date) -> list[SnapshotEntry]:
    """Every registration not ended before yesterday, any facility scope, one entry per
    (number, extension), sorted (see the module doc)."""
    since = today - dt.timedelta(days=1)  # a facility's local day may still be yesterday
    rows = session.execute(
        select(N.number, N.extension, N.effective_from, N.effective_to, N.id)
        .where(or_(N.effective_to.is_(None), N.effective_to > since))
        .order_by(N.number, N.extension, N.id)
    )
    out: list[SnapshotEntry] = []
    for number, ext, start, end, ident in rows:
        if out and (out[-1].number, out[-1].extension) == (number, ext):
            prev = out[-1]
            span_end = (
                None if end is None or prev.effective_to is None else max(end, prev.effective_to)
            )
            out[-1] = SnapshotEntry(
                number, ext, min(start, prev.effective_from), span_end, max(ident, prev.id)
            )
            continue
        out.append(SnapshotEntry(number, ext, start, end, ident))
    return out
