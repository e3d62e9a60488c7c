"""``verify``: recompute a log from its stored entries and hold it against its signed heads.

One streaming pass in index order (memory O(log n) plus the list of problems):
- each row's leaf is recomputed from its columns and salt and compared with the stored
  leaf hash, so an entry altered, moved (re-ordered) or renumbered is named by index;
- a gap in the indexes names the deleted entries; rows past the head name inserted ones;
- every cached 256-leaf root is recomputed, so a tampered cache is named, and an entry
  altered *together with* its leaf hash is narrowed to its 256 entries;
- every stored checkpoint's signature is checked with the given verifiers, and its root
  compared with the root recomputed at its size, so the signed heads (which a database
  writer cannot forge) pin the whole history; all of them are therefore consistent.
Entries after the newest checkpoint are protected by their own hashes only, which is why
the service should sign a checkpoint often (and hand out receipts).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from privguard.internals.prevention.ledger import merkle
from privguard.internals.prevention.ledger.entry import canonical_entry, entry_leaf
from privguard.internals.prevention.ledger.errors import LedgerError
from privguard.internals.prevention.ledger.note import Verifier, verify_checkpoint
from privguard.internals.prevention.ledger.tables import (
    TILE,
    TILE_LEVEL,
    checkpoints,
    entries,
    heads,
    nodes,
)

if TYPE_CHECKING:
    from privguard.internals.prevention.ledger.store import Ledger

MAX_PROBLEMS = 200
_SUSPECTS = 64  # rows whose leaf does not match, kept to tell a move from an edit


@dataclass
class VerifyReport:
    """What ``Ledger.verify`` found: ``ok`` only when nothing is wrong."""

    log: str
    size: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.omitted += 1

    def raise_if_bad(self) -> None:
        """Raise :class:`LedgerError` listing the problems, if there are any."""
        if self.problems:
            more = [f"... and {self.omitted} more"] if self.omitted else []
            raise LedgerError(
                f"the {self.log} log does not verify",
                where=f"ledger {self.log}",
                problems=self.problems + more,
                fix="restore the database from a backup and compare; see the entries named",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "ok": self.ok,
            "size": self.size,
            "checkpoints": self.checkpoints,
            "problems": self.problems,
            "omitted": self.omitted,
        }


def _label(row: Row[Any]) -> str:
    return f"entry {row.idx} ({row.action}, {row.at}, by {row.actor})"


def _leaf_of(row: Row[Any], index: int) -> bytes | None:
    try:
        data = canonical_entry(
            row.log, index, row.at, row.actor, row.action, row.reason, json.loads(row.payload)
        )
    except (ValueError, TypeError):
        return None
    return entry_leaf(bytes(row.salt), data)


def verify_log(
    ledger: Ledger, session: Session, verifier: Verifier | list[Verifier]
) -> VerifyReport:
    """Check ledger ``ledger`` in ``session``; see the module docstring for what is checked."""
    report = VerifyReport(ledger.log)
    verifiers = [verifier] if isinstance(verifier, Verifier) else list(verifier)
    targets = _checkpoints(ledger, session, verifiers, report)
    node_rows = session.execute(
        select(nodes.c.idx, nodes.c.hash).where(
            nodes.c.log == ledger.log, nodes.c.level == TILE_LEVEL
        )
    )
    cached = {int(r.idx): bytes(r.hash) for r in node_rows}
    head = session.execute(select(heads.c.size).where(heads.c.log == ledger.log)).scalar()
    head = int(head or 0)

    frontier, tile = merkle.Frontier(), merkle.Frontier()
    suspects: list[Row[Any]] = []
    expected, good_size = 0, 0
    _match(frontier, targets, report, good_size)
    query = (
        select(entries)
        .where(entries.c.log == ledger.log)
        .order_by(entries.c.idx)
        .execution_options(yield_per=2000)
    )
    for row in session.execute(query):
        if row.idx > expected:
            gone = (
                f"entry {expected}"
                if row.idx == expected + 1
                else f"entries {expected} to {row.idx - 1}"
            )
            report.add(
                f"{gone} of {ledger.log} deleted: the indexes jump from {expected - 1} to {row.idx}"
            )
        if row.idx >= head:
            report.add(
                f"{_label(row)} is past the log's head (size {head}): inserted outside the ledger"
            )
        expected = row.idx + 1
        leaf = _leaf_of(row, row.idx)
        if leaf != bytes(row.leaf_hash):
            if len(suspects) < _SUSPECTS:
                suspects.append(row)
            else:
                report.add(f"{_label(row)} was altered: its contents no longer match its leaf hash")
        digest = leaf if leaf is not None else bytes(row.leaf_hash)
        frontier.push(digest)
        tile.push(digest)
        if tile.size == TILE:
            _check_tile(ledger.log, row.idx // TILE, tile.root(), cached, report)
            tile = merkle.Frontier()
        good_size = _match(frontier, targets, report, good_size)

    _explain_suspects(suspects, report)
    if head > expected:
        report.add(
            f"entries {expected} to {head - 1} of {ledger.log} are missing: the head says "
            f"{head} entries, the table ends at {expected}"
        )
    for size in sorted(s for s in targets if s > frontier.size):
        report.add(
            f"a checkpoint of size {size} covers entries missing from the database "
            f"(it holds {frontier.size}): entries {frontier.size} to {size - 1} were deleted"
        )
    stale = [i for i in cached if i >= frontier.size // TILE]
    if stale:
        report.add(
            f"cached roots for entries {stale[0] * TILE} onwards exist, but those entries do not"
        )
    report.size = frontier.size
    return report


def _checkpoints(
    ledger: Ledger, session: Session, verifiers: list[Verifier], report: VerifyReport
) -> dict[int, list[tuple[int, bytes]]]:
    """Signature-checked checkpoints by size: ``size -> [(id, root)]``."""
    targets: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    rows = session.execute(
        select(checkpoints)
        .where(checkpoints.c.log == ledger.log)
        .order_by(checkpoints.c.size, checkpoints.c.id)
    )
    for row in rows:
        name = f"checkpoint #{row.id} (size {row.size})"
        try:
            head = verify_checkpoint(row.note, verifiers)
        except LedgerError as exc:
            report.add(f"{name}: its signature does not verify: {exc.message}")
            continue
        if head.origin != ledger.origin:
            report.add(f"{name} is of the log {head.origin!r}, not {ledger.origin!r}")
        elif head.size != row.size or head.root != bytes(row.root):
            report.add(
                f"{name}: its size or root columns were changed (the signed note says size {head.size})"
            )
        report.checkpoints += 1
        targets[head.size].append((row.id, head.root))
    return targets


def _match(
    frontier: merkle.Frontier,
    targets: dict[int, list[tuple[int, bytes]]],
    report: VerifyReport,
    good_size: int,
) -> int:
    """Compare the recomputed root with the checkpoints of this size; the last good size."""
    found = targets.get(frontier.size)
    if not found:
        return good_size
    root = frontier.root()
    bad = [cid for cid, r in found if r != root]
    for cid in bad:
        report.add(
            f"checkpoint #{cid} (size {frontier.size}): the entries no longer hash to its "
            f"signed root; an entry from {good_size} to {frontier.size - 1} was altered, "
            "moved or deleted"
        )
    return good_size if bad else frontier.size


def _check_tile(
    log: str, idx: int, root: bytes, cached: dict[int, bytes], report: VerifyReport
) -> None:
    stored = cached.get(idx)
    lo, hi = idx * TILE, (idx + 1) * TILE - 1
    if stored is None:
        report.add(f"the cached root of entries {lo} to {hi} of {log} is missing")
    elif bytes(stored) != root:
        report.add(
            f"entries {lo} to {hi} of {log} no longer hash to the root cached when they "
            "were appended: one of them, or the cache, was changed"
        )


def _explain_suspects(suspects: list[Row[Any]], report: VerifyReport) -> None:
    """Name each mismatching row; a row whose leaf matches another place was moved."""
    places = [r.idx for r in suspects]
    for row in suspects:
        moved = [i for i in places if i != row.idx and _leaf_of(row, i) == bytes(row.leaf_hash)]
        if moved:
            report.add(f"{_label(row)} was moved: it was appended as entry {moved[0]} (re-ordered)")
        else:
            report.add(f"{_label(row)} was altered: its contents no longer match its leaf hash")
