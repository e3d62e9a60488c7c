"""Settings of the dedupe stage (see :mod:`privguard.internals.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privguard.errors import Problems


@dataclass(frozen=True)
class Settings:
    """Validated settings of this stage. No keys yet beyond the defaults."""


def parse(section: Any, problems: Problems) -> Settings:
    """Validate this stage's section, adding every problem to ``problems``."""
    if section is not None and not isinstance(section, (dict, list)):
        problems.add("this section must be a table")
    elif isinstance(section, dict):
        for key in sorted(section):
            problems.add(f"unknown key {key!r}")
    return Settings()
