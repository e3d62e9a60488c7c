"""privguard: detect, prove and prevent the recording of privileged attorney-client calls.

The public surface is small; everything else lives in :mod:`privguard.internals`.

Audit pipeline, one function per stage, data flowing one way::

    synth      write a realistic synthetic leak with ground truth
    ingest     any dump -> canonical rows with provenance, rejects, reconciliation
    normalize  numbers to E.164, clocks to UTC, durations to seconds
    dedupe     one row per real call (calls.parquet); evaluate against truth
    identify   classify every called number, with evidence
    findings   privileged calls, recorded ones, registry violations, summary.json
    report     report.html/pdf, letters, exports, manifest.json; verify

:func:`audit` runs every stage. Errors are always :class:`privguard.errors.PrivguardError`.
"""

from __future__ import annotations

import importlib
from typing import Any

from privguard.errors import PrivguardError

__version__ = "0.1.0"

_API = {
    "synth": "privguard.internals.synth.api",
    "ingest": "privguard.internals.audit.ingest.api",
    "normalize": "privguard.internals.audit.normalize.api",
    "dedupe": "privguard.internals.audit.dedupe.api",
    "evaluate": "privguard.internals.truth.dedupe",
    "identify": "privguard.internals.audit.identify.api",
    "export_review": "privguard.internals.audit.identify.review",
    "findings": "privguard.internals.audit.findings.api",
    "report": "privguard.internals.audit.report.api",
    "verify": "privguard.internals.audit.report.custody",
    "audit": "privguard.internals.audit.pipeline",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import privguard` stays fast and a CLI command loads only its stage.
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'privguard' has no attribute {name!r}")


__all__ = ["PrivguardError", "__version__", *_API]
