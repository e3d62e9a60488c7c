"""privguard's one tamper-evident log (WIP: the Merkle tree and signed notes first)."""

from privguard.internals.prevention.ledger import merkle, note
from privguard.internals.prevention.ledger.errors import LedgerError
from privguard.internals.prevention.ledger.note import Signer, Verifier

__all__ = ["LedgerError", "Signer", "Verifier", "merkle", "note"]
