"""privguard's one tamper-evident log (WIP: the Merkle tree first)."""

from privguard.internals.prevention.ledger import merkle
from privguard.internals.prevention.ledger.errors import LedgerError

__all__ = ["LedgerError", "merkle"]
