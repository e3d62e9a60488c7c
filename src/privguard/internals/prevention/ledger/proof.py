"""Receipts: C2SP ``tlog-proof@v1`` texts that prove an entry is in a log, offline.

A receipt is what a person (an attorney, an auditor) keeps::

    c2sp.org/tlog-proof@v1
    extra <base64(salt || the entry's canonical JSON)>
    index <n>
    <inclusion path, one base64 hash per line>

    <the signed checkpoint, verbatim>

The ``extra`` line carries the entry and its salt so the holder can recompute the leaf
(c2sp.org/tlog-proof leaves the leaf's reconstruction to the application, and names
exactly this use). :func:`verify_receipt` needs only the log's vkey: no database, no
network. :func:`verify_still_included` adds a later checkpoint and a consistency proof to
show that the entry is still in the log as it grew.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from privguard.internals.prevention.ledger import merkle
from privguard.internals.prevention.ledger.entry import SALT_SIZE, decode_entry, entry_leaf
from privguard.internals.prevention.ledger.errors import LedgerError
from privguard.internals.prevention.ledger.note import (
    Checkpoint,
    Verifier,
    b64decode,
    verify_checkpoint,
)

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class Receipt:
    """A parsed (not yet verified) receipt."""

    index: int
    extra: bytes | None
    proof: list[bytes]
    checkpoint: str


@dataclass
class ReceiptCheck:
    """What :func:`verify_receipt` found. ``ok`` only when every check held."""

    ok: bool = False
    index: int | None = None
    entry: dict[str, Any] | None = None
    checkpoint: Checkpoint | None = None
    leaf_hash: bytes | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "ok": self.ok,
            "index": self.index,
            "entry": self.entry,
            "checkpoint": None
            if cp is None
            else {"origin": cp.origin, "size": cp.size, "root": cp.root.hex()},
            "problems": self.problems,
        }


def render_receipt(extra: bytes, index: int, proof: Sequence[bytes], checkpoint: str) -> str:
    """The tlog-proof@v1 text of entry ``index`` (``extra`` = salt || canonical entry)."""
    lines = [HEADER, f"extra {base64.b64encode(extra).decode()}", f"index {index}"]
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint


def parse_receipt(text: str) -> Receipt:
    """The parts of a tlog-proof@v1 text; :class:`LedgerError` if it is not one."""
    head, sep, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != HEADER:
        raise LedgerError(f"this is not a receipt: it must start with {HEADER!r}")
    rest = lines[1:]
    extra = None
    try:
        if rest and rest[0].startswith("extra "):
            extra = b64decode(rest.pop(0).removeprefix("extra "))
        if not rest or not rest[0].startswith("index "):
            raise LedgerError("the receipt has no 'index' line")
        number = rest.pop(0).removeprefix("index ")
        if not number.isdigit() or (number != "0" and number.startswith("0")):
            raise LedgerError(f"the receipt's index {number[:20]!r} is not a plain number")
        proof = [b64decode(line) for line in rest]
    except ValueError as exc:
        raise LedgerError(f"the receipt holds a line that is not base64: {exc}") from None
    return Receipt(int(number), extra, proof, checkpoint)


def verify_receipt(text: str, verifiers: Verifier | list[Verifier]) -> ReceiptCheck:
    """Check a receipt offline with the log's public key(s) only.

    The checkpoint must be signed by a known key of its origin, the entry (with its salt)
    must hash to the leaf, and the inclusion path must lead from that leaf to the signed
    root. Nothing raises: ``.ok`` and ``.problems`` say what held.
    """
    check = ReceiptCheck()
    try:
        receipt = parse_receipt(text)
        check.index = receipt.index
        check.checkpoint = verify_checkpoint(receipt.checkpoint, verifiers)
    except LedgerError as exc:
        check.problems.append(exc.message)
        return check
    if receipt.extra is None or len(receipt.extra) <= SALT_SIZE:
        check.problems.append("the receipt carries no entry (no 'extra' line)")
        return check
    salt, data = receipt.extra[:SALT_SIZE], receipt.extra[SALT_SIZE:]
    try:
        check.entry = decode_entry(data)
    except (ValueError, UnicodeDecodeError) as exc:
        check.problems.append(f"the receipt's entry cannot be read: {exc}")
        return check
    if check.entry["index"] != receipt.index:
        check.problems.append(
            f"the entry says index {check.entry['index']}, the receipt {receipt.index}"
        )
    check.leaf_hash = entry_leaf(salt, data)
    cp = check.checkpoint
    try:
        merkle.verify_inclusion(check.leaf_hash, receipt.index, cp.size, receipt.proof, cp.root)
    except LedgerError as exc:
        check.problems.append(f"the entry is not proven in the signed checkpoint: {exc.message}")
    check.ok = not check.problems
    return check


def verify_still_included(
    receipt: str,
    later_checkpoint: str,
    consistency_proof: Sequence[bytes],
    verifiers: Verifier | list[Verifier],
) -> ReceiptCheck:
    """A receipt, plus proof that a later signed checkpoint of the same log extends its own.

    ``consistency_proof`` is ``Ledger.consistency_proof(receipt size, later size)``. When
    both hold, the entry is still in the log at the later size: nothing before it was
    rewritten. The returned check's ``checkpoint`` is the later one.
    """
    check = verify_receipt(receipt, verifiers)
    if not check.ok or check.checkpoint is None:
        return check
    old = check.checkpoint
    try:
        new = verify_checkpoint(later_checkpoint, verifiers)
        if new.origin != old.origin:
            raise LedgerError(f"the later checkpoint is of {new.origin!r}, not {old.origin!r}")
        merkle.verify_consistency(old.size, new.size, consistency_proof, old.root, new.root)
    except LedgerError as exc:
        check.problems.append(f"the later checkpoint does not extend the receipt's: {exc.message}")
        check.ok = False
        return check
    check.checkpoint = new
    return check
