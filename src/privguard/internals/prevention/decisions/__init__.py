"""Recording decisions at call setup: fail closed, say why, log durably (issue 15).

* :mod:`.canon` cheap call-time canonicalization of a dialed number;
* :mod:`.state` the frozen registry state (numbers -> entries, checkpoint, not_after);
* :mod:`.decide` the one pure decision function and its reason codes;
* :mod:`.snapshot` the verifier a checker is configured with (the registry's reader);
* :mod:`.checker` the embeddable checker (background refresh, deadline, fail closed);
* :mod:`.log` the decision log that never drops (group commit, spill file);
* :mod:`.writer` the service's one writer process that runs it, and :mod:`.channel` the
  answering process's side (on its event loop, no thread);
* :mod:`.counts` what it holds, counted for reports; the registrar's candidates;
* :mod:`.http` ``POST /v1/decisions`` and :mod:`.fastpath` its hot path.
"""

from __future__ import annotations

from privguard.internals.prevention.decisions.canon import canonical
from privguard.internals.prevention.decisions.checker import Checker
from privguard.internals.prevention.decisions.decide import Decision, Reason, decide
from privguard.internals.prevention.decisions.snapshot import (
    SnapshotRejected,
    SnapshotVerifier,
    Verified,
    registry_verifier,
)
from privguard.internals.prevention.decisions.state import (
    Checkpoint,
    RegistryEntry,
    RegistryState,
    build_state,
)

__all__ = [
    "Checker",
    "Checkpoint",
    "Decision",
    "Reason",
    "RegistryEntry",
    "RegistryState",
    "SnapshotRejected",
    "SnapshotVerifier",
    "Verified",
    "build_state",
    "canonical",
    "decide",
    "registry_verifier",
]
