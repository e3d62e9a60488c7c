"""The ``[[mapping]]`` section of a case file (also a stand-alone ``--mapping FILE``).

Each entry overrides how the tables of matching files are mapped::

    [[mapping]]
    files = "site_07/*.csv"          # glob on the path relative to the dump root
    table = "calls"                  # optional: one table of a multi-table file
    columns = { dialed_number = "PHONE", start = ["CALL_DATE", "CALL_TIME"] }
    timezone = "America/Chicago"     # IANA zone of the wall-clock times, or "UTC"
    duration_unit = "minutes"        # seconds | minutes | hms
    # skip = true                    # not a call table: keep it out of the audit

The first entry whose ``files`` (and ``table``) match a table applies to it.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.schema import CANONICAL_FIELDS
from privguard.internals.common.tomlfile import read_toml

DURATION_UNITS = ("seconds", "minutes", "hms")
_KEYS = ("files", "table", "columns", "timezone", "duration_unit", "skip")


@dataclass(frozen=True)
class MappingRule:
    """One ``[[mapping]]`` entry."""

    files: str
    table: str | None = None
    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    timezone: str | None = None
    duration_unit: str | None = None
    skip: bool = False

    def matches(self, file: str, table: str) -> bool:
        """True when this entry applies to ``table`` of ``file`` (globs, case-insensitive)."""
        pattern = self.files.lower()
        target = file.lower()
        hit = fnmatchcase(target, pattern) or (
            "/" not in pattern and fnmatchcase(PurePosixPath(target).name, pattern)
        )
        if not hit:
            return False
        return self.table is None or fnmatchcase(table.lower(), self.table.lower())


@dataclass(frozen=True)
class Settings:
    """Validated ``[[mapping]]`` entries, in order."""

    rules: tuple[MappingRule, ...] = field(default_factory=tuple)

    def rule_for(self, file: str, table: str) -> MappingRule | None:
        """The first entry that applies to a table, if any."""
        return next((r for r in self.rules if r.matches(file, table)), None)


def _columns(value: Any, where: str, problems: Problems) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        problems.add(f'{where}: columns must be a table such as {{ dialed_number = "PHONE" }}')
        return ()
    out: list[tuple[str, tuple[str, ...]]] = []
    for key, src in value.items():
        if key not in CANONICAL_FIELDS:
            problems.add(
                f"{where}: columns has unknown field {key!r}; known: {', '.join(CANONICAL_FIELDS)}"
            )
            continue
        if isinstance(src, str) and src:
            out.append((key, (src,)))
        elif (
            key == "start"
            and isinstance(src, list)
            and len(src) == 2
            and all(isinstance(s, str) and s for s in src)
        ):
            out.append((key, (src[0], src[1])))
        elif isinstance(src, list):
            problems.add(
                f'{where}: columns.{key}: only start may name two columns, as ["date", "time"]'
            )
        else:
            problems.add(f"{where}: columns.{key} must be the name of a source column")
    return tuple(out)


def _rule(entry: Any, where: str, problems: Problems) -> MappingRule | None:
    if not isinstance(entry, dict):
        problems.add(f'{where} must be a table with at least files = "pattern"')
        return None
    for key in sorted(set(entry) - set(_KEYS)):
        problems.add(f"{where}: unknown key {key!r}; known keys: {', '.join(_KEYS)}")
    files = entry.get("files")
    if not isinstance(files, str) or not files:
        problems.add(f'{where}: files is required, a glob such as "site_07/*.csv"')
        files = None
    table = entry.get("table")
    if table is not None and not isinstance(table, str):
        problems.add(f"{where}: table must be text (a table or sheet name)")
        table = None
    cols = _columns(entry["columns"], where, problems) if "columns" in entry else ()
    tz = entry.get("timezone")
    if tz is not None:
        if not isinstance(tz, str):
            problems.add(f'{where}: timezone must be text such as "America/Chicago"')
            tz = None
        elif tz.upper() == "UTC":
            tz = "UTC"
        else:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                problems.add(f'{where}: timezone {tz!r} is not an IANA zone such as "US/Central"')
                tz = None
    unit = entry.get("duration_unit")
    if unit is not None and unit not in DURATION_UNITS:
        problems.add(f"{where}: duration_unit must be one of {', '.join(DURATION_UNITS)}")
        unit = None
    skip = entry.get("skip", False)
    if not isinstance(skip, bool):
        problems.add(f"{where}: skip must be true or false")
        skip = False
    if files is None:
        return None
    return MappingRule(files, table, cols, tz, unit, skip)


def parse(section: Any, problems: Problems) -> Settings:
    """Validate the ``[[mapping]]`` entries, adding every problem to ``problems``."""
    if section is None:
        return Settings()
    entries = [section] if isinstance(section, dict) else section
    if not isinstance(entries, list):
        problems.add("[[mapping]] must be a list of tables")
        return Settings()
    rules = [_rule(e, f"[[mapping]] #{i + 1}", problems) for i, e in enumerate(entries)]
    return Settings(tuple(r for r in rules if r is not None))


def load(path: Path) -> Settings:
    """Read and validate a mapping file; raises :class:`SettingsError` listing every problem."""
    data = read_toml(path, "mapping file", docs="docs/case-file.md")
    problems = Problems()
    for key in sorted(set(data) - {"mapping"}):
        problems.add(f"unknown section [{key}]; a mapping file holds only [[mapping]] entries")
    settings = parse(data.get("mapping"), problems)
    problems.raise_if_any(
        f"the mapping file has {len(problems.items)} problem(s)",
        where=str(path),
        fix="correct each entry listed above",
    )
    return settings
