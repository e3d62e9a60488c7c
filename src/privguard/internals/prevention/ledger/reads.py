"""The ledger's read side: entries, leaves, subtree roots and RFC 6962 proofs.

:class:`LogReads` is what :class:`~.store.Ledger` reads of one log's tree from the
database (the appends, checkpoints and receipts stay in :mod:`.store`). Leaves stream in
index order; complete aligned runs of 256 leaves come from the node cache
(``ledger_nodes``), so a proof at size n reads at most n/256 cached roots and a few
hundred leaves, and nothing is held between calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.prevention.ledger import merkle
from privguard.internals.prevention.ledger.entry import LedgerEntry, parse_time
from privguard.internals.prevention.ledger.errors import LedgerError
from privguard.internals.prevention.ledger.tables import TILE, TILE_LEVEL, entries, heads, nodes

_STREAM = {"yield_per": 2000}


def _entry(row: Row[Any]) -> LedgerEntry:
    return LedgerEntry(
        log=row.log,
        index=row.idx,
        at=parse_time(row.at),
        actor=row.actor,
        action=row.action,
        reason=row.reason,
        payload=json.loads(row.payload),
        salt=bytes(row.salt),
        leaf_hash=bytes(row.leaf_hash),
    )


class LogReads:
    """Reads of one log (``self.log``) and its tree."""

    log: str

    def size(self, session: Session) -> int:
        """The number of entries in the log (its next index)."""
        size = session.execute(select(heads.c.size).where(heads.c.log == self.log)).scalar()
        return int(size or 0)

    def entry(self, session: Session, index: int) -> LedgerEntry:
        """The entry at ``index``; InputError if there is none."""
        row = session.execute(
            select(entries).where(entries.c.log == self.log, entries.c.idx == index)
        ).first()
        if row is None:
            raise InputError(
                f"the {self.log} log has no entry {index}",
                where=f"ledger {self.log}",
                fix=f"give an index from 0 to {self.size(session) - 1}",
            )
        return _entry(row)

    def entries(
        self, session: Session, start: int = 0, stop: int | None = None
    ) -> Iterator[LedgerEntry]:
        """Entries ``start`` to ``stop - 1`` in index order, streamed from the database."""
        query = select(entries).where(entries.c.log == self.log, entries.c.idx >= start)
        if stop is not None:
            query = query.where(entries.c.idx < stop)
        for row in session.execute(query.order_by(entries.c.idx).execution_options(**_STREAM)):
            yield _entry(row)

    def _leaves(self, session: Session, lo: int, hi: int) -> Iterator[bytes]:
        query = (
            select(entries.c.idx, entries.c.leaf_hash)
            .where(entries.c.log == self.log, entries.c.idx >= lo, entries.c.idx < hi)
            .order_by(entries.c.idx)
            .execution_options(**_STREAM)
        )
        expected = lo
        for idx, digest in session.execute(query):
            if idx != expected:
                break
            expected += 1
            yield bytes(digest)
        if expected != hi:
            raise LedgerError(
                f"the {self.log} log is missing entry {expected}",
                where=f"ledger {self.log}",
                fix="run verify to see what was changed",
            )

    def subtree(self, session: Session, lo: int, hi: int) -> bytes:
        """The RFC 6962 root of leaves ``lo..hi-1`` as a tree of their own.

        Complete 256-leaf runs come from the node cache when ``lo`` is aligned (RFC 6962's
        proofs only ask for aligned ranges); the rest is streamed from the entries.
        """
        frontier = merkle.Frontier()
        start = lo
        if lo % TILE == 0 and hi - lo >= TILE:
            first, count = lo // TILE, (hi - lo) // TILE
            rows = session.execute(
                select(nodes.c.idx, nodes.c.hash)
                .where(
                    nodes.c.log == self.log,
                    nodes.c.level == TILE_LEVEL,
                    nodes.c.idx >= first,
                    nodes.c.idx < first + count,
                )
                .order_by(nodes.c.idx)
            ).all()
            if [r.idx for r in rows] == list(range(first, first + count)):
                for r in rows:
                    frontier.push(bytes(r.hash), TILE_LEVEL)
                start = lo + count * TILE
            # else: the cache is incomplete (an old database); stream every leaf instead
        for digest in self._leaves(session, start, hi):
            frontier.push(digest)
        return frontier.root()

    def root(self, session: Session, size: int | None = None) -> bytes:
        """The RFC 6962 root of the first ``size`` entries (default: all of them)."""
        size = self.size(session) if size is None else size
        self._check_size(session, size)
        return self.subtree(session, 0, size) if size else merkle.EMPTY_ROOT

    def _check_size(self, session: Session, size: int) -> int:
        current = self.size(session)
        if not 0 <= size <= current:
            raise InputError(
                f"the {self.log} log has {current} entries, not {size}",
                where=f"ledger {self.log}",
                fix=f"give a size from 0 to {current}",
            )
        return current

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        """The RFC 6962 inclusion proof of entry ``index`` in the tree of ``size`` entries."""
        self._check_size(session, size)
        if not 0 <= index < size:
            raise InputError(
                f"entry {index} is not in the first {size} entries of {self.log}",
                fix=f"give an index from 0 to {size - 1}",
            )
        return merkle.inclusion_proof(index, size, lambda lo, hi: self.subtree(session, lo, hi))

    def consistency_proof(self, session: Session, old_size: int, new_size: int) -> list[bytes]:
        """The RFC 6962 proof that the tree of ``new_size`` entries extends the one of ``old_size``."""
        self._check_size(session, new_size)
        if not 0 < old_size <= new_size:
            raise InputError(
                f"no consistency proof from size {old_size} to size {new_size}",
                fix="the old size must be at least 1 and at most the new size",
            )
        return merkle.consistency_proof(
            old_size, new_size, lambda lo, hi: self.subtree(session, lo, hi)
        )
