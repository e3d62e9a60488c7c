"""Gather what the report, the letters and the exports show, as small Python values.

Reads the JSON reports of the earlier stages and runs the report SQL through the
executor; only aggregates and the privileged calls (a small subset) reach Python.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.errors import InputError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.paths import AuditPaths

from . import sql
from .case import Case

log = logging.getLogger(__name__)

REQUIRED = ("calls", "numbers", "summary", "flags")
FALLBACK_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass
class ReportModel:
    """Everything the human-readable outputs show."""

    summary: dict[str, Any]
    totals: dict[str, int]
    by_month: list[dict[str, Any]]
    by_facility: list[dict[str, Any]]
    attorney_numbers: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    classes: list[dict[str, Any]]
    clocks: list[dict[str, Any]]
    dedupe: dict[str, Any]
    dedupe_rules: list[dict[str, Any]]
    ingest: dict[str, Any]
    pseudonymized: bool
    as_of: dt.datetime
    warnings: list[str] = field(default_factory=list)
    case: Case = field(default_factory=Case)
    public_key: str = ""  # the case signing key's public half (hex), sealing the outputs
    # normalize's facility codes read from folder names, and those it refused to read
    facility_paths: list[dict[str, Any]] = field(default_factory=list)


def read_json(path: Path, *, required: bool = False) -> dict[str, Any]:
    """A stage's JSON report, or {} when an optional one is absent."""
    if not path.exists():
        if required:
            raise InputError(
                "a file the report needs is missing",
                where=str(path),
                fix="run the earlier audit stages first (privguard audit ...)",
            )
        log.warning("%s is missing; the report will say so", path)
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"this report file is not valid JSON: {exc}",
            where=str(path),
            fix="re-run the audit stage that writes it",
        ) from None
    return data if isinstance(data, dict) else {"items": data}


def pick(d: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The first of ``names`` present in ``d`` (stage reports name things variously)."""
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


def path_code_rows(normalize: dict[str, Any]) -> list[dict[str, Any]]:
    """normalize's evidence about facility codes read from the dump's folder names: each
    code taken (``path_code``) and each refusal (``path_code`` None, with its reason)."""
    fac = normalize.get("facilities")
    evidence = fac.get("evidence") if isinstance(fac, dict) else None
    return [
        e
        for e in (evidence if isinstance(evidence, list) else [])
        if isinstance(e, dict) and "path_code" in e and isinstance(e.get("labels"), list)
    ]


def clock_rows(normalize: dict[str, Any]) -> list[dict[str, Any]]:
    """Per table: the clock zone used, how it was found, the evidence, confidence."""
    tables = pick(normalize, "tables", "items", default=[])
    if isinstance(tables, dict):
        tables = [
            {"table": k, **v} if isinstance(v, dict) else {"table": k} for k, v in tables.items()
        ]
    rows = []
    for t in tables if isinstance(tables, list) else []:
        if not isinstance(t, dict):
            continue
        warnings = pick(t, "warnings", default=[])
        rows.append(
            {
                "file": str(pick(t, "file", "src_file", default="")),
                "table": str(pick(t, "table", "src_table", "name", default="")),
                "zone": pick(t, "zone", "tz", "timezone", "time_zone"),
                "rows": pick(t, "rows", "rows_accepted"),
                "method": pick(t, "zone_from", "method", "how", "zone_source", "source"),
                "evidence": evidence_text(pick(t, "evidence", "zone_evidence")),
                "confidence": pick(t, "confidence", "zone_confidence"),
                "warnings": [str(w) for w in warnings]
                if isinstance(warnings, list)
                else [str(warnings)],
            }
        )
    return sorted(rows, key=lambda r: (r["file"], r["table"]))


GIVEN = ("mapping", "header", "column", "offset", "given")


# Clock names a reader knows; the IANA names stay in the appendix and the exports.
PLAIN_ZONES = {
    "America/New_York": "Eastern time", "America/Detroit": "Eastern time",
    "America/Chicago": "Central time", "America/Denver": "Mountain time",
    "America/Phoenix": "Arizona time (no daylight saving)",
    "America/Los_Angeles": "Pacific time", "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time", "UTC": "UTC", "Etc/UTC": "UTC",
}  # fmt: skip


def plain_zone(zone: str | None) -> str:
    """A clock as the main body names it: 'Central time', else 'local time of <city>'."""
    if not zone:
        return "unknown"
    if zone in PLAIN_ZONES:
        return PLAIN_ZONES[zone]
    return f"local time of {zone.rsplit('/', 1)[-1].replace('_', ' ')}"


def utc_offsets(zone: str | None) -> str:
    """A zone's offsets from UTC in winter and summer, e.g. 'UTC-6 / UTC-5 (summer)'."""
    if not zone:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ""

    def fmt(month: int) -> str:
        off = dt.datetime(2013, month, 15, 12, tzinfo=tz).utcoffset() or dt.timedelta(0)
        minutes = int(off.total_seconds() // 60)
        if minutes == 0:
            return "UTC"
        sign, (h, mm) = "+" if minutes > 0 else "-", divmod(abs(minutes), 60)
        return f"UTC{sign}{h}" + (f":{mm:02d}" if mm else "")

    winter, summer = fmt(1), fmt(7)
    return winter if winter == summer else f"{winter} / {summer} (summer)"


def clock_groups(clocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tables per (zone, how it was found), with their row counts."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in clocks:
        key = (str(r["zone"] or "per row / unknown"), str(r["method"] or "unknown"))
        g = groups.setdefault(key, {"zone": key[0], "method": key[1], "tables": 0, "rows": 0})
        g["tables"] += 1
        g["rows"] += r["rows"] if isinstance(r["rows"], int) else 0
    return [groups[k] for k in sorted(groups)]


def uncertain_clocks(clocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tables whose clock was not given (inferred or assumed) or that carry a warning;
    those with warnings first."""
    rows = [r for r in clocks if r["method"] not in GIVEN or r["warnings"]]
    return sorted(rows, key=lambda r: (not r["warnings"], r["file"], r["table"]))


def evidence_text(evidence: Any) -> str:
    """A clock inference's evidence in words (normalize reports it as a dict)."""
    if not evidence:
        return ""
    if not isinstance(evidence, dict):
        return str(evidence)
    matched, aligned = evidence.get("matched_rows"), evidence.get("aligned_rows")
    parts = []
    if isinstance(matched, int) and isinstance(aligned, int):
        parts.append(f"{aligned:,} of {matched:,} calls matched in other tables line up")
    if evidence.get("runner_up"):
        runner = evidence.get("runner_up_aligned")
        parts.append(
            f"next best {evidence['runner_up']}"
            + (f" ({runner:,} line up)" if isinstance(runner, int) else "")
        )
    if not parts:
        parts = [f"{k.replace('_', ' ')}: {v}" for k, v in sorted(evidence.items())]
    return "; ".join(parts)


def dedupe_rule_rows(dedupe: dict[str, Any]) -> list[dict[str, Any]]:
    """The dedupe rules and how many clusters each merged."""
    raw = pick(dedupe, "clusters_per_rule", "clusters", "rules", "by_rule", default={})
    rows: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        for rule, v in raw.items():
            if isinstance(v, dict):
                rows.append(
                    {
                        "rule": rule,
                        "clusters": pick(v, "clusters", "count", "n"),
                        "rows": pick(v, "rows", "rows_merged"),
                        "description": pick(v, "description", "rule_text"),
                    }
                )
            else:
                rows.append({"rule": rule, "clusters": v, "rows": None, "description": None})
    elif isinstance(raw, list):
        for v in raw:
            if isinstance(v, dict):
                rows.append(
                    {
                        "rule": str(pick(v, "rule", "name", default="?")),
                        "clusters": pick(v, "clusters", "count", "n"),
                        "rows": pick(v, "rows", "rows_merged"),
                        "description": pick(v, "description", "rule_text"),
                    }
                )
    return sorted(rows, key=lambda r: str(r["rule"]))


def as_of(summary: dict[str, Any]) -> dt.datetime:
    """A fixed date derived from the data (the last call), used wherever a format wants one."""
    raw = summary.get("last_call")
    if isinstance(raw, str) and raw:
        try:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return FALLBACK_DATE
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return FALLBACK_DATE


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """A small Arrow result as a list of dicts."""
    found: list[dict[str, Any]] = table.to_pylist()
    return found


# The flags file's columns that findings added when it began to infer recording from a
# facility's practice (issue 11); audit folders made before lack them.
RECORDING_FLAGS = ("recorded", "recorded_from")
OLDER_FLAGS = (
    "This audit was made by an earlier privguard, before recording was inferred from each "
    "facility's practice ({file} has no {missing} column): nothing is inferred in this "
    "report, and a call counts as recorded only where the records show it. To apply the "
    "inference, run the audit again (privguard audit ...) into a new folder."
)


def older_flags(paths: AuditPaths) -> list[str]:
    """The recording columns missing from the flags file (an audit made before issue 11)."""
    names = set(pq.read_schema(paths.flags).names)
    return [c for c in RECORDING_FLAGS if c not in names]


def prepare(ex: Executor, out: Path) -> None:
    """Create the views and the privileged-calls table the report reads from."""
    paths = AuditPaths(out)
    for name in REQUIRED:
        paths.require(name)
    views = sql.views_sql(
        paths, has_registry=paths.registry.exists(), flags_recording=not older_flags(paths)
    )
    for stmt in views:
        ex.execute(stmt)
    ex.execute(sql.zones_table_sql())
    for r in clock_rows(read_json(paths.normalize_report)):
        ex.execute("INSERT INTO pg_table_zone VALUES (?, ?, ?)", [r["file"], r["table"], r["zone"]])
    ex.execute(sql.privileged_sql())
    clocks = paths.clocks  # identify's per-facility clocks, if written
    has_zone = clocks.exists() and {"facility", "zone"} <= set(pq.read_schema(clocks).names)
    ex.execute(sql.facility_zone_sql(clocks if has_zone else None))


def build_model(
    ex: Executor, out: Path, *, pseudonymize: bool, case: Case | None = None, public_key: str = ""
) -> ReportModel:
    """Read the stage reports and compute the report's tables (after :func:`prepare`)."""
    paths = AuditPaths(out)
    summary = read_json(paths.summary, required=True)
    dedupe = read_json(paths.dedupe_report)
    normalize = read_json(paths.normalize_report)
    ingest = read_json(paths.ingest_report)
    totals = rows(ex.fetch_arrow(sql.totals_sql()))[0]
    model = ReportModel(
        summary=summary,
        totals={k: int(v or 0) for k, v in totals.items()},
        by_month=rows(ex.fetch_arrow(sql.by_month_sql())),
        by_facility=rows(ex.fetch_arrow(sql.by_facility_sql())),
        attorney_numbers=rows(ex.fetch_arrow(sql.attorney_numbers_sql())),
        candidates=rows(ex.fetch_arrow(sql.candidates_sql(pseudonymize))),
        classes=rows(ex.fetch_arrow(sql.classes_sql())),
        clocks=clock_rows(normalize),
        dedupe=dedupe,
        dedupe_rules=dedupe_rule_rows(dedupe),
        ingest=ingest,
        pseudonymized=pseudonymize,
        as_of=as_of(summary),
        case=case or Case(),
        public_key=public_key,
        facility_paths=path_code_rows(normalize),
    )
    missing = older_flags(paths)
    if missing:
        msg = OLDER_FLAGS.format(file=paths.rel("flags"), missing=" or ".join(missing))
        log.warning(msg)
        model.warnings.append(msg)
    for key, mine in (
        ("privileged_calls", "calls"),
        ("privileged_calls_recorded", "recorded"),
        ("registry_violations", "violations"),
    ):
        theirs = summary.get(key)
        if isinstance(theirs, int) and theirs != model.totals[mine]:
            msg = (
                f"summary.json gives {key} = {theirs:,} but the call table gives "
                f"{model.totals[mine]:,}; the headline figures come from summary.json"
            )
            log.warning(msg)
            model.warnings.append(msg)
    return model
