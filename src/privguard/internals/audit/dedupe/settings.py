"""Settings of the dedupe stage (see :mod:`privguard.internals.audit.settings`).

``[dedupe]`` keys, all optional::

    time_tolerance_s = 120       # copies of one call start at most this far apart
    duration_tolerance_s = 10    # exact durations of copies differ by at most this
    skew_correction = true       # estimate each table's constant clock error, then re-cluster
    corrected_tolerance_s = 30   # start tolerance once each table's clock error is removed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section


@dataclass(frozen=True)
class Settings:
    """Validated settings of the dedupe stage."""

    time_tolerance_s: int = 120
    duration_tolerance_s: int = 10
    skew_correction: bool = True
    corrected_tolerance_s: int = 30


def parse(section: Any, problems: Problems) -> Settings:
    """Validate the ``[dedupe]`` section, adding every problem to ``problems``."""
    known = ("time_tolerance_s", "duration_tolerance_s", "corrected_tolerance_s")
    section = open_section(section, "[dedupe]", (*known, "skew_correction"), problems)
    if section is None:
        return Settings()
    values: dict[str, Any] = {}
    skew = section.get("skew_correction")
    if skew is not None:
        if isinstance(skew, bool):
            values["skew_correction"] = skew
        else:
            problems.add("[dedupe] skew_correction must be true or false")
    for key in known:
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
            problems.add(f"[dedupe] {key} must be a whole number of seconds from 0 to 86400")
        else:
            values[key] = value
    return Settings(**values)
