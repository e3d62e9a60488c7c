"""Settings of the normalize stage (see :mod:`privguard.internals.audit.settings`).

``[normalize]`` keys, all optional::

    default_region = "US"          # region for numbers written without a country code
    zone_candidates = ["America/New_York", ...]   # IANA zones tried when a clock is inferred
    infer_tolerance_s = 300        # two copies of a call align when their UTC starts differ by <= this
    infer_sample_rows = 20000      # rows per table used to infer its zone
    infer_min_matches = 10         # fewer aligned rows than this is not enough evidence
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.section import open_section

US_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "UTC",
)


@dataclass(frozen=True)
class Settings:
    """Validated settings of the normalize stage."""

    default_region: str = "US"
    zone_candidates: tuple[str, ...] = US_ZONES
    infer_tolerance_s: int = 300
    infer_sample_rows: int = 20000
    infer_min_matches: int = 10
    # Not a case-file key: rows sorted at once when normalized.parquet is written, a
    # multiple of DuckDB's 122,880-row group (normalize/ordered.py); benches and tests
    # lower it. 98 groups (about 12 M rows, as dedupe's buckets) sort within a 5 GB limit.
    part_rows: int = 98 * 122_880


_INTS = {"infer_tolerance_s": 1, "infer_sample_rows": 100, "infer_min_matches": 1}


def parse(section: Any, problems: Problems) -> Settings:
    """Validate the ``[normalize]`` section, adding every problem to ``problems``."""
    known = sorted({"default_region", "zone_candidates", *_INTS})
    section = open_section(section, "[normalize]", known, problems)
    if section is None:
        return Settings()
    values: dict[str, Any] = {}
    region = section.get("default_region")
    if region is not None:
        if isinstance(region, str) and len(region) == 2 and region.isalpha():
            values["default_region"] = region.upper()
        else:
            problems.add('[normalize] default_region must be a two-letter region such as "US"')
    zones = section.get("zone_candidates")
    if zones is not None:
        bad = not isinstance(zones, list) or not zones
        bad = bad or any(not _is_zone(z) for z in zones)
        if bad:
            problems.add(
                "[normalize] zone_candidates must be a non-empty list of IANA zone names "
                'such as "America/Chicago"'
            )
        else:
            values["zone_candidates"] = tuple(zones)
    for key, least in _INTS.items():
        value = section.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.add(f"[normalize] {key} must be a whole number of at least {least}")
        else:
            values[key] = value
    return Settings(**values)


def _is_zone(name: Any) -> bool:
    from zoneinfo import ZoneInfo

    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True
