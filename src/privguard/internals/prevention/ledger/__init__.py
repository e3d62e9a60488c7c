"""privguard's one tamper-evident log: append-only, Merkle-committed, signed, confidential.

Every part of the prevention wing that must be able to prove its history (the registry,
the decision log, the vault's access log) appends to a :class:`Ledger`. Each log is an
RFC 6962 Merkle tree over salted commitments of its entries (so nothing published names a
phone number), with C2SP signed checkpoints (Ed25519, key outside the database) and C2SP
tlog-proof receipts that anyone verifies offline with the public key. ``Ledger.verify``
recomputes everything and names any entry deleted, altered, inserted or re-ordered.

Modules: :mod:`.merkle` (tree math), :mod:`.note` (signed notes, checkpoints, keys),
:mod:`.entry` (canonical entries), :mod:`.tables`, :mod:`.store` (the Ledger: appends,
checkpoints), :mod:`.reads` (its reads: entries, roots, proofs),
:mod:`.check` (verify), :mod:`.proof` (receipts). The contract is LEDGER_API.md.
"""

from privguard.internals.prevention.ledger import merkle, note
from privguard.internals.prevention.ledger.check import VerifyReport
from privguard.internals.prevention.ledger.entry import LedgerEntry, NewEntry
from privguard.internals.prevention.ledger.errors import LedgerError
from privguard.internals.prevention.ledger.merkle import (
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from privguard.internals.prevention.ledger.note import (
    Checkpoint,
    Signer,
    Verifier,
    checkpoint_body,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from privguard.internals.prevention.ledger.proof import (
    ReceiptCheck,
    parse_receipt,
    verify_receipt,
    verify_still_included,
)
from privguard.internals.prevention.ledger.store import Appended, Ledger, SignedCheckpoint

__all__ = [
    "Appended",
    "Checkpoint",
    "Ledger",
    "LedgerEntry",
    "LedgerError",
    "NewEntry",
    "ReceiptCheck",
    "SignedCheckpoint",
    "Signer",
    "Verifier",
    "VerifyReport",
    "checkpoint_body",
    "leaf_hash",
    "merkle",
    "node_hash",
    "note",
    "parse_receipt",
    "root",
    "sign_note",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
    "verify_receipt",
    "verify_still_included",
]
