"""Load a case file (TOML) and validate every section up front, reporting all problems at once.

Each stage owns its section: ``privguard.internals.<stage>.settings`` defines a
frozen dataclass and a ``parse(section, problems)`` function that records every
problem instead of stopping at the first (each opens its section with
:func:`privguard.internals.audit.section.open_section`, so "not a table" and unknown keys
read the same everywhere). This module only composes them, in the spirit of splink's
``settings_validation``.

Layout of a case file::

    [engine]
    memory_limit = "4GB"

    [ingest]                         # limits on what archives may extract
    max_compression_ratio = 100

    [[mapping]]                      # ingest: per file pattern overrides
    files = "site_07/*.csv"
    columns = { dialed_number = "PHONE", start = ["CALL_DATE", "CALL_TIME"] }
    timezone = "America/Chicago"
    duration_unit = "minutes"

    [dedupe]
    time_tolerance_s = 180

    [identify]
    candidate_threshold = 0.5

    [findings]                       # recording inferred from a facility's practice
    recording_practice_share = 0.99

    [privacy]
    pseudonymize = true

    [case]                           # report: case name, reference, analyst, date, sender
    name = "State v. Doe"
    [spark]                          # only read with --engine spark (docs/spark.md)
    master = "spark://head:7077"
    conf = { "spark.executor.memory" = "8g" }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import Problems
from privguard.internals.audit.engines.base import EngineOptions
from privguard.internals.audit.section import open_section
from privguard.internals.common.tomlfile import read_toml

KNOWN_SECTIONS = (
    "engine", "ingest", "mapping", "normalize", "dedupe", "identify", "findings", "privacy",
    "case", "spark",
)  # fmt: skip


@dataclass(frozen=True)
class CaseSettings:
    """Every stage's validated settings for one case."""

    engine: EngineOptions = field(default_factory=EngineOptions)
    ingest: Any = None
    mapping: Any = None
    normalize: Any = None
    dedupe: Any = None
    identify: Any = None
    findings: Any = None  # findings.settings.Settings
    privacy: Any = None
    case: Any = None
    spark: Any = None  # engines.spark_options.SparkOptions
    source: str | None = None


def _parse_engine(section: Any, problems: Problems) -> EngineOptions:
    known = ("memory_limit", "threads", "temp_directory")
    section = open_section(section, "[engine]", known, problems)
    if section is None:
        return EngineOptions()
    mem = section.get("memory_limit")
    if mem is not None and not isinstance(mem, str):
        problems.add('[engine] memory_limit must be text such as "4GB"')
        mem = None
    threads = section.get("threads")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        problems.add("[engine] threads must be a whole number of at least 1")
        threads = None
    temp = section.get("temp_directory")
    return EngineOptions(
        memory_limit=mem, threads=threads, temp_directory=Path(temp) if temp else None
    )


def parse_settings(data: dict[str, Any], *, source: str | None = None) -> CaseSettings:
    """Validate a case dictionary. Raises :class:`SettingsError` listing every problem."""
    from privguard.internals.audit.dedupe import settings as dedupe_settings
    from privguard.internals.audit.engines.spark_options import parse_spark
    from privguard.internals.audit.findings import settings as findings_settings
    from privguard.internals.audit.identify import settings as identify_settings
    from privguard.internals.audit.ingest import limits as ingest_limits
    from privguard.internals.audit.ingest import settings as ingest_settings
    from privguard.internals.audit.normalize import settings as normalize_settings
    from privguard.internals.audit.report import case as case_settings
    from privguard.internals.audit.report import settings as privacy_settings

    problems = Problems()
    for key in sorted(set(data) - set(KNOWN_SECTIONS)):
        problems.add(f"unknown section [{key}]; known sections: {', '.join(KNOWN_SECTIONS)}")
    result = CaseSettings(
        engine=_parse_engine(data.get("engine"), problems),
        ingest=ingest_limits.parse(data.get("ingest"), problems),
        mapping=ingest_settings.parse(data.get("mapping"), problems),
        normalize=normalize_settings.parse(data.get("normalize"), problems),
        dedupe=dedupe_settings.parse(data.get("dedupe"), problems),
        identify=identify_settings.parse(data.get("identify"), problems),
        findings=findings_settings.parse(data.get("findings"), problems),
        privacy=privacy_settings.parse(data.get("privacy"), problems),
        case=case_settings.parse(data.get("case"), problems),
        spark=parse_spark(data.get("spark"), problems),
        source=source,
    )
    problems.raise_if_any(
        f"the case file has {len(problems.items)} problem(s)",
        where=source,
        fix="correct each line listed above; docs/case-file.md describes every key",
    )
    return result


def load_settings(path: Path | None) -> CaseSettings:
    """Read and validate a case file; ``None`` gives the defaults."""
    if path is None:
        return parse_settings({})
    data = read_toml(path, "case file", docs="docs/case-file.md")
    return parse_settings(data, source=str(path))
