"""The ``[privacy]`` section of a case file: pseudonymization of shareable outputs.

Example::

    [privacy]
    pseudonymize = true          # default: names, accounts and non-attorney numbers hidden
    key_file = "secrets/case.key"  # default: case.key next to the output folder
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section

_KNOWN = ("pseudonymize", "key_file")


@dataclass(frozen=True)
class Settings:
    """Validated privacy settings.

    ``pseudonymize`` (default True) replaces inmate names, inmate accounts and
    non-attorney numbers by keyed pseudonyms in everything meant to leave the case
    team: the report, the letters and the exports. ``key_file`` is where the case key
    lives (default ``OUT/../case.key``); it is created on first use and never written
    inside the output folder.
    """

    pseudonymize: bool = True
    key_file: Path | None = None


def parse(section: Any, problems: Problems) -> Settings:
    """Validate the ``[privacy]`` section, adding every problem to ``problems``."""
    section = open_section(section, "[privacy]", _KNOWN, problems)
    if section is None:
        return Settings()
    pseudo = section.get("pseudonymize", True)
    if not isinstance(pseudo, bool):
        problems.add("[privacy] pseudonymize must be true or false")
        pseudo = True
    key_file = section.get("key_file")
    if key_file is not None and (not isinstance(key_file, str) or not key_file.strip()):
        problems.add('[privacy] key_file must be a path written as text, e.g. "case.key"')
        key_file = None
    return Settings(pseudonymize=pseudo, key_file=Path(key_file) if key_file else None)
