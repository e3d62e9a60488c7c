"""Settings of the identify stage (see :mod:`privguard.internals.audit.settings`).

A case file may carry a small ``[identify]`` section::

    [identify]
    candidate_threshold = 0.5          # score from which a number is a review candidate
    min_calls = 5                      # fewer calls than this: too little to judge
    min_inmates = 2                    # fewer distinct callers than this: too little to judge
    facility_timezones = { JAIL_A = "America/Chicago" }   # else inferred from call hours
    directory_columns = { phone = ["Office Phone", "Cell"], name = "Member" }
    registry_columns = { number = "Phone", added = "Added On", removed = "Removed On" }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from privguard.errors import Problems
from privguard.internals.audit.section import open_section

DIRECTORY_FIELDS = ("phone", "name", "bar_number", "office", "country")
REGISTRY_FIELDS = ("number", "added", "removed", "facility", "name", "country")
_KEYS = (
    "candidate_threshold",
    "min_calls",
    "min_inmates",
    "facility_timezones",
    "directory_columns",
    "registry_columns",
)


@dataclass(frozen=True)
class Settings:
    """Validated settings of the identify stage."""

    candidate_threshold: float = 0.5
    min_calls: int = 5
    min_inmates: int = 2
    facility_timezones: dict[str, str] = field(default_factory=dict)
    # field -> source column names (a list: several phone columns are common)
    directory_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    registry_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _columns(
    value: Any, name: str, known: tuple[str, ...], problems: Problems
) -> dict[str, tuple[str, ...]]:
    """Validate a ``{field = "Column" | ["Col", ...]}`` table."""
    if not isinstance(value, dict):
        problems.add(f'[identify] {name} must be a table such as {{ {known[0]} = "Phone" }}')
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for key, cols in value.items():
        if key not in known:
            problems.add(f"[identify] {name}: unknown field {key!r}; known: {', '.join(known)}")
            continue
        items = [cols] if isinstance(cols, str) else cols
        if not isinstance(items, list) or not items or not all(isinstance(c, str) for c in items):
            problems.add(f"[identify] {name}.{key} must be a column name or a list of them")
            continue
        out[key] = tuple(items)
    return out


def parse(section: Any, problems: Problems) -> Settings:
    """Validate this stage's section, adding every problem to ``problems``."""
    section = open_section(section, "[identify]", _KEYS, problems)
    if section is None:
        return Settings()
    kwargs: dict[str, Any] = {}
    thr = section.get("candidate_threshold")
    if thr is not None:
        if isinstance(thr, (int, float)) and not isinstance(thr, bool) and 0 <= thr <= 1:
            kwargs["candidate_threshold"] = float(thr)
        else:
            problems.add("[identify] candidate_threshold must be a number between 0 and 1")
    for key in ("min_calls", "min_inmates"):
        val = section.get(key)
        if val is not None:
            if isinstance(val, int) and not isinstance(val, bool) and val >= 1:
                kwargs[key] = val
            else:
                problems.add(f"[identify] {key} must be a whole number of at least 1")
    zones = section.get("facility_timezones")
    if zones is not None:
        if not isinstance(zones, dict):
            problems.add('[identify] facility_timezones must be a table { FACILITY = "Zone" }')
        else:
            good: dict[str, str] = {}
            for fac, zone in zones.items():
                try:
                    ZoneInfo(str(zone))
                    good[str(fac)] = str(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    problems.add(
                        f"[identify] facility_timezones.{fac}: {zone!r} is not a time zone "
                        'name; use one such as "America/Chicago"'
                    )
            kwargs["facility_timezones"] = good
    if "directory_columns" in section:
        kwargs["directory_columns"] = _columns(
            section["directory_columns"], "directory_columns", DIRECTORY_FIELDS, problems
        )
    if "registry_columns" in section:
        kwargs["registry_columns"] = _columns(
            section["registry_columns"], "registry_columns", REGISTRY_FIELDS, problems
        )
    return Settings(**kwargs)
