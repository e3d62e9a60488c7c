"""The ledger's one error: a proof, signature, note or receipt that does not hold."""

from __future__ import annotations

from privguard.errors import IntegrityError


class LedgerError(IntegrityError):
    """A Merkle proof, a signed note, a checkpoint or a receipt failed to verify.

    The message says which check failed; ``where`` names the log, entry or file when known.
    """

    kind = "ledger_integrity"
