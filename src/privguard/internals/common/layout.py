"""Where an audit's files live inside its output folder: the contract both wings read.

The audit wing writes this layout (``internals/audit/paths.py`` builds on it); the
prevention wing reads an audit only as files (replay, invitations, the vault's import,
the portal), and finds them with :func:`audit_file`, which also reads the flat layout of
audits made before ``OUT`` was split into ``shareable/`` and ``restricted/``.
"""

from __future__ import annotations

from pathlib import Path

SHAREABLE = "shareable"
RESTRICTED = "restricted"

# name -> path relative to OUT (POSIX). Every file name of the layout is here, once.
FILES: dict[str, str] = {
    "readme": "README.txt",
    "manifest": "manifest.json",
    "signature": "manifest.sig",
    "timings": "timings.json",
    # shareable
    "report_html": f"{SHAREABLE}/report.html",
    "report_pdf": f"{SHAREABLE}/report.pdf",
    "summary": f"{SHAREABLE}/summary.json",
    "letters": f"{SHAREABLE}/letters",
    "exports": f"{SHAREABLE}/exports",
    "findings_db": f"{SHAREABLE}/exports/findings.db",
    # restricted
    "calls": f"{RESTRICTED}/calls.parquet",
    "dedupe_report": f"{RESTRICTED}/dedupe_report.json",
    "numbers": f"{RESTRICTED}/numbers.parquet",
    "registry": f"{RESTRICTED}/registry.parquet",
    "clocks": f"{RESTRICTED}/facility_clocks.parquet",
    "review": f"{RESTRICTED}/review.csv",
    "privileged_calls": f"{RESTRICTED}/privileged_calls.csv",
    "findings": f"{RESTRICTED}/findings",
    "work": f"{RESTRICTED}/work",
    # work files (restricted/work): written by ingest and normalize, read later
    "ingest_report": f"{RESTRICTED}/work/ingest_report.json",
    "rejects": f"{RESTRICTED}/work/rejects.csv",
    "normalize_report": f"{RESTRICTED}/work/normalize_report.json",
    "normalized": f"{RESTRICTED}/work/normalized.parquet",
    "set_aside": f"{RESTRICTED}/work/set_aside.csv",
    "flags": f"{RESTRICTED}/work/privileged_flags.parquet",
    "scratch": f"{RESTRICTED}/work/tmp",
}


def audit_file(out: Path | str, name: str) -> Path | None:
    """The file ``name`` (a key of :data:`FILES`) of the audit folder ``out``, or None.

    Today's layout is tried first, then the flat one of older audits (the same path
    without its ``shareable/`` or ``restricted/`` folder).
    """
    rel = FILES[name]
    here = Path(out) / rel
    if here.exists():
        return here
    first, _, rest = rel.partition("/")
    if first in (SHAREABLE, RESTRICTED) and rest:
        old = Path(out) / rest
        if old.exists():
            return old
    return None
