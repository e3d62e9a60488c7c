"""The recording vault: encrypted recordings, reasoned and logged access, proven purges.

* :mod:`.vault`: :class:`Vault` (store against a durable decision, read with a reason);
* :mod:`.access`: roles, case and reason, the ledger's ``access`` log (CJIS 5.4 / AU-3);
* :mod:`.keys`, :mod:`.blobs`: per-recording AES-256-GCM keys wrapped outside the
  database, blobs on the filesystem, the quarantine escrow;
* :mod:`.lookup`: the decision log and the privilege oracle behind narrow interfaces;
* :mod:`.protect`: quarantine, audit import, release, purge; :mod:`.certificate`;
* :mod:`.production`: privilege-filtered productions with a hashed manifest;
* :mod:`.records`: call-record queries and short-lived links; :mod:`.anomalies`.
"""

from privguard.internals.prevention.vault.access import (
    DEFAULT_POLICY,
    AccessContext,
    AccessRefused,
    RolePolicy,
)
from privguard.internals.prevention.vault.keys import Escrow, FileKeyWrapper, KeyWrapper
from privguard.internals.prevention.vault.lookup import (
    DecisionLookup,
    DecisionRef,
    PrivilegeOracle,
    RegistryOracle,
)
from privguard.internals.prevention.vault.vault import Content, Stored, Vault

__all__ = [
    "DEFAULT_POLICY",
    "AccessContext",
    "AccessRefused",
    "Content",
    "DecisionLookup",
    "DecisionRef",
    "Escrow",
    "FileKeyWrapper",
    "KeyWrapper",
    "PrivilegeOracle",
    "RegistryOracle",
    "RolePolicy",
    "Stored",
    "Vault",
]
