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
from typing import TYPE_CHECKING, Any

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
# What the functions return: frozen results a caller can name in its own annotations.
_RESULTS = {
    "SynthResult": ("privguard.internals.synth.api", "SynthResult"),
    "IngestResult": ("privguard.internals.audit.ingest.report", "IngestResult"),
    "NormalizeResult": ("privguard.internals.audit.normalize.api", "NormalizeResult"),
    "DedupeResult": ("privguard.internals.audit.dedupe.api", "DedupeResult"),
    "Evaluation": ("privguard.internals.truth.dedupe", "Evaluation"),
    "IdentifyResult": ("privguard.internals.audit.identify.api", "IdentifyResult"),
    "FindingsSummary": ("privguard.internals.audit.findings.api", "Summary"),
    "ReportResult": ("privguard.internals.audit.report.api", "ReportResult"),
    "VerifyResult": ("privguard.internals.audit.report.custody", "VerifyResult"),
    "AuditResult": ("privguard.internals.audit.pipeline", "AuditResult"),
}

if TYPE_CHECKING:  # the same names, seen statically (the lazy loader below serves them)
    from privguard.internals.audit.dedupe.api import DedupeResult, dedupe
    from privguard.internals.audit.findings.api import Summary as FindingsSummary
    from privguard.internals.audit.findings.api import findings
    from privguard.internals.audit.identify.api import IdentifyResult, identify
    from privguard.internals.audit.identify.review import export_review
    from privguard.internals.audit.ingest.api import ingest
    from privguard.internals.audit.ingest.report import IngestResult
    from privguard.internals.audit.normalize.api import NormalizeResult, normalize
    from privguard.internals.audit.pipeline import AuditResult, audit
    from privguard.internals.audit.report.api import ReportResult, report
    from privguard.internals.audit.report.custody import VerifyResult, verify
    from privguard.internals.synth.api import SynthResult, synth
    from privguard.internals.truth.dedupe import Evaluation, evaluate


def __getattr__(name: str) -> Any:
    # Lazy, so `import privguard` stays fast and a CLI command loads only its stage.
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name in _RESULTS:
        module, attr = _RESULTS[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'privguard' has no attribute {name!r}")


# Written out (not built from the maps) so tools see it; tests/test_meta.py keeps them equal.
__all__ = [
    "PrivguardError",
    "__version__",
    "synth",
    "ingest",
    "normalize",
    "dedupe",
    "evaluate",
    "identify",
    "export_review",
    "findings",
    "report",
    "verify",
    "audit",
    "SynthResult",
    "IngestResult",
    "NormalizeResult",
    "DedupeResult",
    "Evaluation",
    "IdentifyResult",
    "FindingsSummary",
    "ReportResult",
    "VerifyResult",
    "AuditResult",
]
