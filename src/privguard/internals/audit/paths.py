"""Where every file of an audit lives: the one place output names are defined.

``OUT`` is split so that a person can share one folder without thinking:

* ``OUT/shareable/``  the report, the letters and the exports (inmates and non-attorney
  numbers pseudonymized) and the headline figures;
* ``OUT/restricted/`` everything that holds real names, accounts and numbers: the call
  and number tables, ``privileged_calls.csv``, ``findings/``, the review sheet and the
  work files of the stages (``restricted/work``);
* at the top: ``README.txt`` (which folder is which), ``manifest.json`` and its
  signature ``manifest.sig``, and ``timings.json``.

Stages take the output folder and ask this module for paths; a file another stage should
have written is fetched with :meth:`AuditPaths.require`, which raises the one "input
missing" error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from privguard.errors import InputError
from privguard.internals.common.layout import FILES, RESTRICTED, SHAREABLE

__all__ = ["FILES", "RESTRICTED", "SHAREABLE", "AuditPaths", "readme_text"]

# What each required file is and which stage writes it, for the "input missing" error.
_WHAT = {
    "calls": ("call table", "dedupe"),
    "numbers": ("number classification", "identify"),
    "registry": ("registry table", "identify"),
    "summary": ("summary of the findings", "findings"),
    "flags": ("registry flags of the privileged calls", "findings"),
    "ingest_report": ("ingest report", "ingest"),
    "normalize_report": ("normalize report", "normalize"),
    "normalized": ("normalized call table", "normalize"),
}


@dataclass(frozen=True)
class AuditPaths:
    """Every path of one audit's output folder ``out`` (see the module docstring)."""

    out: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))

    def __getattr__(self, name: str) -> Path:
        # Only called for names that are not real attributes: the FILES entries.
        try:
            rel = FILES[name]
        except KeyError:
            raise AttributeError(name) from None
        return self.out / rel

    @property
    def shareable(self) -> Path:
        return self.out / SHAREABLE

    @property
    def restricted(self) -> Path:
        return self.out / RESTRICTED

    def rel(self, name: str) -> str:
        """The POSIX path of ``name`` relative to ``out`` (as shown to users)."""
        return FILES[name]

    def require(self, name: str) -> Path:
        """The path of ``name``, which an earlier stage must have written.

        Raises:
            InputError: the file is missing (the stage that writes it has not run).
        """
        path: Path = getattr(self, name)
        if not path.exists():
            what, stage = _WHAT.get(name, (FILES[name], "an earlier stage"))
            raise InputError(
                f"the {what} is missing",
                where=str(path),
                fix=f"run 'privguard audit', whose {stage} stage writes it before this step",
            )
        return path


README = """This folder holds one privguard audit.

shareable/   MAY be shared outside the case team: the report (report.html, report.pdf),
             the notification letters (letters/) and the exports (exports/). People in
             custody and non-attorney numbers are pseudonymized there{privacy_note}.
             summary.json holds the headline figures.
restricted/  MUST NOT leave the case team: real names, inmate accounts and phone
             numbers. The call table (calls.parquet), the classified numbers
             (numbers.parquet), privileged_calls.csv, findings/by_inmate.csv (the
             exports' by_inmate.csv with people named), the review sheet (review.csv)
             and the stages' work files (work/).

manifest.json  SHA-256 of every input and output; manifest.sig is its Ed25519 signature
               with the case's public key. Check both with: privguard verify <this folder>
timings.json   how long each stage took (not sealed: it differs between identical runs)

To share the findings, share the shareable/ folder alone, never this whole folder.
"""


def readme_text(pseudonymized: bool) -> str:
    """The text of ``OUT/README.txt``."""
    note = (
        ""
        if pseudonymized
        else " -- EXCEPT in this audit: privacy protection was OFF, so treat shareable/ as "
        "restricted too"
    )
    return README.format(privacy_note=note)
