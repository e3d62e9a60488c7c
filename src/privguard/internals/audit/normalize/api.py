"""The normalize stage: numbers to E.164, clocks to UTC, durations to seconds.

Reads ``WORK/ingested/*.parquet`` and ``WORK/ingest_report.json``; writes
``WORK/normalized.parquet`` (``schema.NORMALIZED_COLUMNS``) and
``WORK/normalize_report.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from privguard.errors import InputError
from privguard.internals.audit import schema
from privguard.internals.audit.csvout import write_safe_csv
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.normalize import clocks, facilities, ordered, zones
from privguard.internals.audit.normalize import sql as nsql
from privguard.internals.audit.normalize.phones_sql import fallback_update_sql, numbers_sql
from privguard.internals.audit.normalize.settings import Settings
from privguard.internals.audit.normalize.stage import (
    SET_ASIDE_ORDER,
    final_sql,
    set_aside_sql,
    stage_sql,
    table_report_sql,
)
from privguard.internals.audit.sql import parquet_source
from privguard.internals.common import phones
from privguard.internals.common.progress import NullProgress, Progress

log = logging.getLogger(__name__)

REPORT = "normalize_report.json"
OUTPUT = "normalized.parquet"
SET_ASIDE = "set_aside.csv"


@dataclass
class NormalizeResult:
    """What normalize wrote, with counts and every per-table warning."""

    path: Path
    report_path: Path
    rows: int
    tables: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _table_order(path: Path) -> tuple[bool, int, str]:
    """``ingested/<table_id>.parquet`` by table id; any other name after them, by name."""
    digits = path.stem.isdigit()
    return (not digits, int(path.stem) if digits else 0, path.name)


def _inputs(work: Path) -> tuple[list[Path], dict[str, Any]]:
    report_path = work / "ingest_report.json"
    # In table_id order (ingest names each file by its table's id): 2 before 10.
    files = sorted((work / "ingested").glob("*.parquet"), key=_table_order)
    if report_path.is_file() and not files:
        # Ingest ran and read nothing: sending the user back to it would be no help.
        raise InputError(
            "no table of calls was read from the dump (the folder is empty, or none of its "
            "files is a table privguard reads)",
            where=str(report_path),
            fix="give the folder that holds the leaked or produced tables (CSV, TSV, JSON "
            "lines, Parquet, XLSX, SQLite, SQL dumps, or archives of them); the files that "
            "were skipped are listed under skipped_files in this report",
        )
    if not report_path.is_file() or not files:
        raise InputError(
            "no ingested tables found",
            where=str(work),
            fix="run 'privguard ingest' (or 'privguard audit') on the dump first",
        )
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            f"the ingest report cannot be read: {exc}",
            where=str(report_path),
            fix="run 'privguard ingest' again; the file is damaged",
        ) from None
    return files, report


def normalize(
    work: Path,
    *,
    settings: Settings | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> NormalizeResult:
    """Normalize every ingested row: E.164 numbers, UTC start times, durations in seconds.

    ``work`` is the work folder ingest wrote (``WORK/ingested/*.parquet`` and
    ``WORK/ingest_report.json``). Phone numbers go through a vectorized North American
    fast path in the engine and libphonenumber for the distinct values it cannot
    decide; invalid numbers are kept with the reason in ``number_status``. Start times
    become naive UTC: the zone comes from an offset in the text, a per-row zone column,
    the table's ``tz_hint``, or is inferred by aligning the table's calls with calls of
    tables whose zone is known; ambiguous inferences are reported as warnings in
    ``normalize_report.json``, never silently guessed. Durations become seconds
    (``duration_rounded`` marks billed minutes); accounts are normalized per facility,
    and a facility written by name in some tables and by code in others gets one code
    (tables sharing most (account, number) pairs), and one written only by name the code
    most of its account numbers carry as a prefix, or else the one code its files' folders
    name when the dump's other facilities show its folders are named by code; status
    becomes ``completed`` and the recorded flag a BOOLEAN (a recording reference means
    recorded).

    Returns a :class:`NormalizeResult`. Raises :class:`privguard.errors.InputError`
    when ``work`` holds no ingested tables.
    """
    work = Path(work)
    cfg = settings or Settings()
    progress = progress or NullProgress()
    files, ingest_report = _inputs(work)
    stage_path = work / "_normalize_stage.parquet"
    with session(executor) as ex:
        try:
            progress.start("normalize", total=5)
            ex.execute(nsql.ingested_view_sql("_pg_ing", [str(f) for f in files]))
            n_fallback = _numbers(ex, cfg)
            progress.advance("normalize")
            tables = _table_hints(ex, ingest_report)
            formats = clocks.choose_formats(
                ex, "_pg_ing", {t: e["rows"] for t, e in tables.items()}
            )
            raw_zones = ex.fetchall(nsql.start_zones_sql("_pg_ing"))
            ex.register_arrow("_pg_zones", clocks.zone_table([z[0] for z in raw_zones]))
            progress.advance("normalize")
            ex.copy_to_parquet(stage_sql("_pg_ing", tables, formats), stage_path)
            progress.advance("normalize")
            fac = facilities.resolve(ex, parquet_source(stage_path))
            ex.execute(
                "CREATE OR REPLACE TEMP VIEW _pg_stage AS "
                + facilities.canonical_view_sql(parquet_source(stage_path))
            )
            stage = "_pg_stage"
            guesses = zones.infer_zones(ex, stage, tables, cfg)
            progress.advance("normalize")
            zones.register_table_zones(ex, guesses)
            out = work / OUTPUT
            ex.execute(f"CREATE OR REPLACE TEMP VIEW _pg_final AS {final_sql(stage)}")
            ordered.write_kept(
                ex,
                "_pg_final",
                ", ".join(schema.NORMALIZED_COLUMNS),
                out,
                work / "_normalize_parts",
                rows_hint=sum(int(e["rows"]) for e in tables.values()),
                part_rows=cfg.part_rows,
            )
            write_safe_csv(
                ex, set_aside_sql("_pg_final"), work / SET_ASIDE, order_by=SET_ASIDE_ORDER
            )
            report = _report(ex, stage, tables, formats, guesses, n_fallback, ingest_report)
            report["facilities"] = fac
            progress.advance("normalize")
        finally:
            for name in ("_pg_final", "_pg_stage", "_pg_ing"):
                ex.execute(f"DROP VIEW IF EXISTS {name}")
            ex.execute("DROP TABLE IF EXISTS _pg_numbers")
            stage_path.unlink(missing_ok=True)
            progress.finish("normalize")
    report_path = work / REPORT
    report_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    for w in report["warnings"]:
        log.warning("%s", w)
    return NormalizeResult(
        out, report_path, report["totals"]["rows"], report["tables"], report["warnings"]
    )


def _numbers(ex: Executor, cfg: Settings) -> int:
    """Build ``_pg_numbers``: fast path in the engine, libphonenumber on undecided distincts.

    ``number_key`` is the valid number's E.164, else :func:`phones_sql.number_key` of the
    raw text: the same for every way one number is written, so copies of a call to a
    number that fails validation still match (issue #21)."""
    ex.execute(f"CREATE OR REPLACE TEMP TABLE _pg_numbers AS {numbers_sql('_pg_ing')}")
    undecided = [r[0] for r in ex.fetchall(nsql.undecided_numbers_sql("_pg_numbers"))]
    parsed = [phones.to_e164(raw, cfg.default_region) for raw in undecided]
    ex.register_arrow(
        "_pg_fallback",
        pa.table(
            {
                "raw": pa.array(undecided, pa.string()),
                "e164": pa.array([p.e164 for p in parsed], pa.string()),
                "status": pa.array([p.status for p in parsed], pa.string()),
                "extension": pa.array([p.extension for p in parsed], pa.string()),
            }
        ),
    )
    ex.execute(fallback_update_sql("_pg_numbers", "_pg_fallback"))
    log.info("phone numbers: %d distinct values needed libphonenumber", len(undecided))
    return len(undecided)


def _table_hints(ex: Executor, ingest_report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Per table: its zone hint (resolved), duration unit and where each came from."""
    rows = ex.fetchall(nsql.table_hints_sql("_pg_ing"))
    guesses = {r[0]: r[1:] for r in ex.fetchall(nsql.duration_unit_guess_sql("_pg_ing"))}
    meta = {t.get("table_id"): t for t in ingest_report.get("tables", [])}
    tables: dict[int, dict[str, Any]] = {}
    for table_id, hint, unit, n in rows:
        info = meta.get(table_id, {})
        iana, offset = clocks.resolve_zone(hint)
        source = _hint_source(info)
        entry: dict[str, Any] = {
            "table_id": table_id,
            "file": info.get("file"),
            "table": info.get("table"),
            "rows": n,
            "hint_zone": iana,
            "hint_offset": offset,
            "hint_method": source,
            "warnings": [],
        }
        if hint is not None and iana is None and offset is None:
            entry["warnings"].append(f"the zone hint {hint!r} is not a known zone; it was inferred")
        entry["duration_unit"], entry["duration_unit_from"] = _unit(unit, guesses.get(table_id))
        tables[table_id] = entry
    return tables


def _hint_source(info: dict[str, Any]) -> str:
    hints = info.get("hints") or {}
    src = hints.get("tz_hint_source") or hints.get("source")
    if isinstance(hints.get("tz_hint"), dict):
        src = hints["tz_hint"].get("source", src)
    if src in ("mapping", "header", "column"):
        return str(src)
    # Ingest sets a UTC hint from a header such as "start_utc"; otherwise it came from a mapping.
    start = (info.get("mapping") or {}).get("start") or []
    heads = [start] if isinstance(start, str) else list(start)
    if any(k in str(h).lower() for h in heads for k in ("utc", "gmt", "zulu")):
        return "header"
    return "mapping"


def _unit(hint: str | None, evidence: tuple[Any, ...] | None) -> tuple[str, str]:
    if hint in ("seconds", "minutes", "hms"):
        return hint, "hint"
    if not evidence:
        return "none", "no durations in the table"
    n_hms, n_num, p90, mx = evidence
    if n_hms > n_num:
        return "hms", "inferred"
    # Jail calls last up to about 15-60 minutes: as seconds most exceed 60, as minutes few do.
    if p90 is not None and p90 <= 60 and (mx or 0) <= 240:
        return "minutes", "inferred"
    return "seconds", "inferred"


def _report(
    ex: Executor,
    stage: str,
    tables: dict[int, dict[str, Any]],
    formats: dict[int, list[str]],
    guesses: dict[int, clocks.ZoneGuess],
    n_fallback: int,
    ingest_report: dict[str, Any],
) -> dict[str, Any]:
    stats = {r[0]: r for r in ex.fetchall(table_report_sql(stage))}
    out, warnings = [], []
    for t, entry in sorted(tables.items()):
        s = stats.get(t)
        methods = {d["m"]: d["n"] for d in s[1]} if s else {}
        g = guesses.get(t)
        zone = entry["hint_zone"] or (g.zone if g else None)
        if zone is None and entry["hint_offset"] is not None:
            off = entry["hint_offset"]
            zone = "UTC" if off == 0 else f"UTC{off // 60:+03d}:{abs(off) % 60:02d}"
        how = (
            entry["hint_method"] if entry["hint_zone"] or entry["hint_offset"] is not None else None
        )
        if g and not how:
            how = g.method
        if not how and methods:
            how = max(methods, key=lambda k: methods[k])
        item = {
            "table_id": t,
            "file": entry["file"],
            "table": entry["table"],
            "rows": entry["rows"],
            "zone": zone,
            "zone_from": how,
            "row_zone_methods": methods,
            "confidence": g.confidence if g else "given",
            "evidence": g.evidence if g else {},
            "time_formats": formats.get(t, []),
            "start_unparsed": s[2] if s else 0,
            "numbers_invalid": s[3] if s else 0,
            "duration_unit": entry["duration_unit"],
            "duration_unit_from": entry["duration_unit_from"],
            "duration_missing": s[4] if s else 0,
            "rows_set_aside": int(s[5] or 0) if s else 0,
            "warnings": list(entry["warnings"]) + ([g.warning] if g and g.warning else []),
        }
        if item["rows_set_aside"]:
            item["warnings"].append(
                f"{item['rows_set_aside']} row(s) had neither a usable dialed number nor a "
                f"readable start time; they were set aside as not calls (see {SET_ASIDE})"
            )
        if item["start_unparsed"]:
            item["warnings"].append(
                f"{item['start_unparsed']} start time(s) could not be read; they have no UTC start"
            )
        where = f"{entry['file']} [{entry['table']}]"
        warnings += [f"{where}: {w}" for w in item["warnings"]]
        out.append(item)
    total = sum(t["rows"] for t in out)
    set_aside = sum(t["rows_set_aside"] for t in out)
    return {
        "dump": ingest_report.get("dump"),
        "tables": out,
        "totals": {
            "rows": total - set_aside,
            "rows_set_aside": set_aside,
            "tables": len(out),
            "start_unparsed": sum(t["start_unparsed"] for t in out),
            "numbers_invalid": sum(t["numbers_invalid"] for t in out),
            "numbers_parsed_by_libphonenumber": n_fallback,
            "tables_zone_inferred": sum(1 for g in guesses.values() if g.method == "inferred"),
        },
        "warnings": warnings,
    }
