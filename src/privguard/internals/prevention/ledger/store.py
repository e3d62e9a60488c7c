"""The :class:`Ledger`: one append-only, Merkle-committed, signed log in the database.

Every log (``registry``, ``decisions``, ``access`` ...) lives in the same tables
(:mod:`.tables`), keyed by its name, and is its own RFC 6962 tree with its own origin (the
signer's key name). Callers pass a session inside their own transaction
(``db.transaction``), so an entry is written in the same commit as the change it records.

Storage choices, and why:
- An append first bumps the log's row in ``ledger_heads``; that row lock (PostgreSQL) or
  the database write lock (SQLite) serializes appends per log, so two writers never get
  the same index, and a failed transaction leaves no gap.
- Proofs and roots read leaf hashes in index order from the database, streaming, plus the
  cached root of every complete aligned run of 256 leaves (``ledger_nodes``). A proof at
  size n reads at most n/256 cached roots and a few hundred leaves; nothing is kept in
  memory between calls, so several processes can share a log. Those reads (entries,
  roots, proofs) are :class:`~.reads.LogReads`, which the Ledger extends; this module
  writes (appends, checkpoints) and assembles receipts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.prevention.db import driver_scalar, insert_many
from privguard.internals.prevention.ledger import merkle
from privguard.internals.prevention.ledger.check import VerifyReport, verify_log
from privguard.internals.prevention.ledger.entry import (
    SALT_SIZE,
    LedgerEntry,
    NewEntry,
    canonical_entry,
    check_fields,
    entry_leaf,
    format_time,
    now,
    parse_time,
)
from privguard.internals.prevention.ledger.note import (
    Signer,
    Verifier,
    checkpoint_body,
    sign_note,
    split_note,
)
from privguard.internals.prevention.ledger.proof import render_receipt
from privguard.internals.prevention.ledger.reads import LogReads
from privguard.internals.prevention.ledger.tables import (
    TILE,
    TILE_LEVEL,
    checkpoints,
    entries,
    heads,
    nodes,
)

log = logging.getLogger(__name__)
# session.info key: the logs appended to in the session since this was last cleared, for
# listeners that react to a commit (the service refreshes its gate after a registry one).
CHANGED_LOGS = "privguard_ledger_changed"
# Built once: statements with literal values cost more to compile than to run.
_BUMP = (
    update(heads)
    .where(heads.c.log == bindparam("head_log"))
    .values(size=heads.c.size + bindparam("head_n", type_=BigInteger))
    .returning(heads.c.size)
)
_BUMP_SQL = "UPDATE ledger_heads SET size = size + ? WHERE log = ? RETURNING size"  # _BUMP


@dataclass(frozen=True)
class Appended:
    """What :meth:`Ledger.append` wrote: the entry's index, its leaf hash and the entry."""

    index: int
    leaf_hash: bytes
    entry: LedgerEntry


@dataclass(frozen=True)
class SignedCheckpoint:
    """A signed tree head: ``text`` is the C2SP signed note anyone can check with the vkey."""

    origin: str
    size: int
    root: bytes
    text: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (root as hex)."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "text": self.text,
            "at": format_time(self.at),
        }


class Ledger(LogReads):
    """One tamper-evident log: appends, signed checkpoints, proofs, receipts and ``verify``.

    ``Ledger(log="registry", signer=signer)``; the origin of its checkpoints is the signer's
    key name. A ledger used only to read or verify may have no signer (pass ``origin``).
    """

    def __init__(self, log: str, signer: Signer | None = None, *, origin: str | None = None):
        if not log or len(log) > 100:
            raise InputError(
                f"{log!r} cannot name a ledger log", fix="use a short name, e.g. registry"
            )
        if signer is None and origin is None:
            raise InputError(
                f"the ledger {log!r} needs a signer or an origin",
                fix="pass signer=Signer.load_or_create(settings.key_file, name=...)",
            )
        self.log = log
        self.signer = signer
        self.origin: str = origin or signer.name  # type: ignore[union-attr]

    # -- writing ---------------------------------------------------------------------

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        reason: str,
        payload: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Appended:
        """Append one entry (who, what, why, when, and the payload) in the caller's transaction.

        ``at`` is a UTC time (a naive one is taken as UTC; default now). The index is the
        log's next one, assigned under the log's lock, so it is final once committed.
        """
        new = NewEntry(actor, action, reason, {} if payload is None else payload, at)
        return self.append_many(session, [new])[0]

    def append_many(self, session: Session, items: Sequence[NewEntry]) -> list[Appended]:
        """Append ``items`` in order, in the caller's transaction, as :meth:`append` would
        one by one, but with one index claim and one multi-row insert: a group commit's n
        entries cost a few statements, not 2n (the decision log's writer appends this way).
        """
        checked = [check_fields(it.actor, it.action, it.reason, it.payload) for it in items]
        if not items:
            return []
        first = self._claim_indexes(session, len(items))
        rows, out = [], []
        for offset, (it, payload_json) in enumerate(zip(items, checked, strict=True)):
            index = first + offset
            at = it.at or now()
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            when = format_time(at)
            salt = os.urandom(SALT_SIZE)
            data = canonical_entry(
                self.log, index, when, it.actor, it.action, it.reason, it.payload
            )
            leaf = entry_leaf(salt, data)
            rows.append(
                {
                    "log": self.log,
                    "idx": index,
                    "at": when,
                    "actor": it.actor,
                    "action": it.action,
                    "reason": it.reason,
                    "payload": payload_json,
                    "salt": salt,
                    "leaf_hash": leaf,
                }
            )
            entry = LedgerEntry(
                self.log, index, at, it.actor, it.action, it.reason, dict(it.payload), salt, leaf
            )
            out.append(Appended(index, leaf, entry))
        insert_many(session, entries, rows)  # the driver's executemany: see db.insert_many
        session.info.setdefault(CHANGED_LOGS, set()).add(self.log)  # see CHANGED_LOGS
        for tile in range(first // TILE, (first + len(items)) // TILE):
            self._cache_tile(session, tile)  # each 256-leaf run completed by these entries
        return out

    def _claim_indexes(self, session: Session, n: int) -> int:
        # The first of n consecutive indexes, claimed under the log's lock. The statement
        # is _BUMP's, run by the driver (db.driver_scalar: a group commit runs it each time).
        size = driver_scalar(session, _BUMP_SQL, (n, self.log))
        if size is None:  # the log's first entry: create its head row, once, race-free
            dialect = session.get_bind().dialect.name
            ins = postgresql.insert(heads) if dialect == "postgresql" else sqlite.insert(heads)
            session.execute(ins.values(log=self.log, size=0).on_conflict_do_nothing())
            size = session.execute(_BUMP, {"head_log": self.log, "head_n": n}).scalar_one()
        return int(size) - n

    def _cache_tile(self, session: Session, tile: int) -> None:
        digest = merkle.root(self._leaves(session, tile * TILE, (tile + 1) * TILE))
        session.execute(insert(nodes).values(log=self.log, level=TILE_LEVEL, idx=tile, hash=digest))

    def checkpoint(self, session: Session) -> SignedCheckpoint:
        """Sign the current tree head and store it (the latest one is reused if still current)."""
        if self.signer is None:
            raise InputError(
                f"the ledger {self.log!r} was opened without a signing key",
                fix="pass signer=Signer.load_or_create(...) to sign checkpoints",
            )
        size = self.size(session)
        latest = self.latest_checkpoint(session)
        if latest is not None and latest.size == size and self._signed_by_current(latest.text):
            return latest
        root = self.root(session, size)
        text = sign_note(checkpoint_body(self.origin, size, root), self.signer)
        when = format_time(now())
        session.execute(
            insert(checkpoints).values(log=self.log, size=size, root=root, note=text, at=when)
        )
        log.info("ledger %s: checkpoint at size %d", self.log, size)
        return SignedCheckpoint(self.origin, size, root, text, parse_time(when))

    def _signed_by_current(self, text: str) -> bool:
        assert self.signer is not None
        _, sigs = split_note(text)
        return any(n == self.signer.name and k == self.signer.key_id for n, k, _ in sigs)

    # -- reading ---------------------------------------------------------------------

    def latest_checkpoint(self, session: Session) -> SignedCheckpoint | None:
        """The stored checkpoint of the largest size (the newest among equals), if any."""
        row = session.execute(
            select(checkpoints)
            .where(checkpoints.c.log == self.log)
            .order_by(checkpoints.c.size.desc(), checkpoints.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else self._checkpoint(row)

    def checkpoints(self, session: Session) -> list[SignedCheckpoint]:
        """Every stored checkpoint, smallest size first."""
        rows = session.execute(
            select(checkpoints)
            .where(checkpoints.c.log == self.log)
            .order_by(checkpoints.c.size, checkpoints.c.id)
        )
        return [self._checkpoint(r) for r in rows]

    def _checkpoint(self, row: Row[Any]) -> SignedCheckpoint:
        return SignedCheckpoint(
            self.origin, int(row.size), bytes(row.root), row.note, parse_time(row.at)
        )

    def receipt(self, session: Session, index: int) -> str:
        """A C2SP tlog-proof@v1 receipt of entry ``index``, verifiable offline with the vkey.

        It carries the entry and its salt (so the holder can recompute the leaf), the
        inclusion path and a signed checkpoint covering the entry: the newest one, or one
        signed now if none covers the entry or the newest predates a key rotation.
        """
        entry = self.entry(session, index)
        cp = self.latest_checkpoint(session)
        stale = cp is not None and self.signer is not None and not self._signed_by_current(cp.text)
        if cp is None or cp.size <= index or stale:  # stale: signed before a key rotation
            cp = self.checkpoint(session)
        proof = self.inclusion_proof(session, index, cp.size)
        return render_receipt(entry.salt + entry.canonical(), index, proof, cp.text)

    def verify(self, session: Session, verifier: Verifier | list[Verifier]) -> VerifyReport:
        """Recompute the log and check it against its signed checkpoints.

        Detects a deleted, altered, inserted or re-ordered entry and names it (index,
        action, what differs) in ``report.problems``; ``report.ok`` when all holds. Give
        every verifier the log was signed with (``signer.verifiers()`` after a rotation).
        See :mod:`.check` for what is checked.
        """
        return verify_log(self, session, verifier)
