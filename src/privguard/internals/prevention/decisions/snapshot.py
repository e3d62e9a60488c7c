"""Where the checker's registry state comes from: a verifier of signed snapshot bytes.

The checker never parses or trusts a snapshot itself. It is configured with a
:class:`SnapshotVerifier`, a pure function of (bytes, last snapshot seen, now) that either
returns a :class:`Verified` snapshot (signature, consistency with the last one seen and
``not_after`` all checked) or raises :class:`SnapshotRejected` with the reason code the
gate answers with. Verification is required by that configuration: there is no snapshot
field that can switch it off, and no checker without a verifier.

:func:`registry_verifier` adapts the registry's own reader
(``registry.snapshots.read_snapshot``, a C2SP signed note with a consistency proof).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from privguard.errors import IntegrityError, PrivguardError
from privguard.internals.prevention.decisions.decide import Reason
from privguard.internals.prevention.decisions.state import (
    Checkpoint,
    RegistryEntry,
    RegistryState,
    build_state,
)


class SnapshotRejected(IntegrityError):
    """A snapshot failed a check; ``reason`` is the gate's reason code for it."""

    kind = "snapshot_rejected"

    def __init__(self, message: str, *, reason: str = Reason.BAD_SNAPSHOT, **kw: Any) -> None:
        self.reason = reason
        super().__init__(message, **kw)


@dataclass(frozen=True)
class Verified:
    """A snapshot that passed every check, as the state it becomes and the floor it sets."""

    state: RegistryState
    seen: object  # opaque to the checker: handed back as ``last`` on the next load


class SnapshotVerifier(Protocol):
    """Check snapshot bytes against the last accepted snapshot; pure, no I/O."""

    def __call__(self, data: bytes, last: object | None, now: dt.datetime) -> Verified: ...


def registry_verifier(
    trusted: Any,
    *,
    zones: Mapping[str, str | dt.tzinfo] | None = None,
    where: str = "snapshot",
) -> SnapshotVerifier:
    """A verifier that reads the registry's signed snapshots with ``trusted`` key(s).

    ``trusted`` is a ledger ``Verifier`` (or a list of them); it must not be None: a
    checker that does not verify cannot be built.
    """
    if trusted is None:
        raise ValueError("a checker needs the registry's public key: verification is required")
    from privguard.internals.prevention.registry import snapshots as snaps

    def verify(data: bytes, last: object | None, now: dt.datetime) -> Verified:
        try:
            floor = last if isinstance(last, snaps.Seen) else None
            snap = snaps.read_snapshot(data, trusted, floor, now=now, where=where)
        except PrivguardError as exc:
            raise SnapshotRejected(
                exc.message,
                reason=_reason_of(exc),
                where=exc.where,
                problems=exc.problems,
                fix=exc.fix,
            ) from None
        entries = [
            RegistryEntry(
                number=e.number,
                extension=e.extension,
                effective_from=e.effective_from,
                effective_to=e.effective_to,
                ref=f"registration {e.id}",
            )
            for e in snap.entries
        ]
        state = build_state(
            entries,
            Checkpoint(snap.tree_size, snap.root.hex()),
            snap.not_after,
            issued=snap.issued,
            origin=snap.origin,
            zones=zones,
            scope=None if snap.facility == "*" else [snap.facility],
        )
        return Verified(state=state, seen=snap.seen())

    return verify


def _reason_of(exc: PrivguardError) -> str:
    # The registry reports every problem at once; the gate needs one code, the worst.
    text = " ".join([exc.message, *exc.problems]).lower()
    if "signature" in text:  # first: nothing else in an unsigned text can be believed
        return Reason.BAD_SIGNATURE
    if exc.kind == "rollback":
        return Reason.ROLLBACK
    if "expired" in text:
        return Reason.SNAPSHOT_EXPIRED
    return Reason.BAD_SNAPSHOT
