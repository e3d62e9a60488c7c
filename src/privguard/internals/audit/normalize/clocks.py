"""Clocks: which time format each table uses, and which zone its wall-clock times are in.

Formats are chosen per table from a small sample of each *shape* of start text,
scored by the engine (``try_strptime``), never by parsing rows in Python. Zones
come from a per-row column, the table's hint, or inference: the table's calls are
matched against calls of tables whose zone is known (same facility, account and
number, near in time) and every candidate IANA zone is tried; DST matters, so
zones are tested, not fixed offsets.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.normalize import sql as nsql
from privguard.internals.audit.sql import quote_literal

log = logging.getLogger(__name__)

# Rows per table whose start text is cleaned and shaped to choose its time formats: a
# day-first table shows a day above 12 in most rows, and shapes are few and common.
FORMAT_SAMPLE_ROWS = 2000

# Abbreviations name the offset in force (EST is winter, EDT summer): fixed minutes.
_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
    "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480,
    "HST": -600,
}  # fmt: skip
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")


@lru_cache(maxsize=4096)
def resolve_zone(raw: str | None) -> tuple[str | None, int | None]:
    """A zone text as written ("America/Chicago", "CST", "-05:00", "UTC-5") to (IANA, minutes).

    Exactly one of the two is set when the text is understood; (None, None) otherwise.
    """
    if raw is None or not str(raw).strip():
        return None, None
    text = str(raw).strip()
    if text.upper() in _ABBREVIATIONS:
        return None, _ABBREVIATIONS[text.upper()]
    m = _OFFSET.match(text.upper())
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return None, minutes if m.group(1) == "+" else -minutes
    if "/" in text or text.upper() == "UTC":
        try:
            ZoneInfo(text)
        except (ValueError, KeyError, OSError):
            return None, None
        return text, None
    return None, None


def zone_table(values: list[str | None]) -> pa.Table:
    """Distinct raw zone texts with their resolved IANA name and fixed offset (minutes)."""
    resolved = [resolve_zone(v) for v in values]
    return pa.table(
        {
            "zone_raw": pa.array(values, pa.string()),
            "zone_iana": pa.array([r[0] for r in resolved], pa.string()),
            "zone_offset": pa.array([r[1] for r in resolved], pa.int32()),
        }
    )


def sample_rates(rows: dict[int, int] | None, target: int = FORMAT_SAMPLE_ROWS) -> dict[int, int]:
    """Rows kept per million for each table bigger than ``target`` rows (about ``target`` kept)."""
    return {
        int(t): -(-target * 1_000_000 // n) for t, n in sorted((rows or {}).items()) if n > target
    }


def choose_formats(
    ex: Executor,
    source: str,
    sizes: dict[int, int] | None = None,
    sample_rows: int = FORMAT_SAMPLE_ROWS,
) -> dict[int, list[str]]:
    """Per table, the strptime formats that parse its start texts, in the order to try them.

    Month-first and day-first dates are decided per table: if any value only parses
    day-first (a day above 12 first), the whole table is day-first. ``sizes`` (table_id
    to row count) lets big tables be judged from a fixed hashed sample of about
    ``sample_rows`` rows instead of every row; ``source`` must then have
    ``src_row``.
    """
    fmts = nsql.time_formats()
    sample = nsql.start_sample_sql(source, sample_rates(sizes, sample_rows))
    ex.execute(f"CREATE OR REPLACE TEMP TABLE _pg_start_samples AS {sample}")
    rows = ex.fetchall(nsql.format_scores_sql("_pg_start_samples", [f for f, _, _ in fmts]))
    by_shape: dict[tuple[int, str], list[tuple[Any, ...]]] = {}
    for table_id, shape, tried, *parsed in rows:
        by_shape[(table_id, shape)] = [
            (table_id, shape, f, order, prio, n, tried)
            for (f, order, prio), n in zip(fmts, parsed, strict=True)
            if n > 0
        ]
    # A table is day-first when some shape parses fully day-first and not month-first.
    dmy_tables = set()
    for (table_id, _), cands in by_shape.items():
        full = {c[3] for c in cands if c[5] == c[6]}
        if "dmy" in full and "mdy" not in full:
            dmy_tables.add(table_id)
    chosen: dict[int, set[tuple[int, str]]] = {}
    for (table_id, _), cands in by_shape.items():
        banned = "mdy" if table_id in dmy_tables else "dmy"
        ok = [c for c in cands if c[3] != banned]
        if not ok:
            continue
        best = max(ok, key=lambda c: (c[5], -c[4]))
        chosen.setdefault(table_id, set()).add((best[4], best[2]))
    ex.execute("DROP TABLE IF EXISTS _pg_start_samples")
    return {t: [f for _, f in sorted(s)] for t, s in chosen.items()}


@dataclass
class ZoneGuess:
    """The zone inferred for one table, with its evidence."""

    table_id: int
    zone: str | None
    method: str
    confidence: str
    evidence: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None


def score_zones_sql(stage: str, known: str, tables: dict[int, int], cfg: Any) -> str:
    """Per unknown table and candidate zone: sample rows whose UTC start then aligns.

    ``tables`` maps each table to its row count; about ``infer_sample_rows`` rows of
    each are kept by hashing the row key (a sample without sorting the table). Each
    sampled row is converted once per zone (not once per matching pair) and reduced to
    its closest match per zone before counting, so no pair-by-zone product is built.
    """
    names = list(dict.fromkeys(cfg.zone_candidates))
    keep = ", ".join(
        f"({int(t)}, {min(1_000_000, -(-cfg.infer_sample_rows * 1_000_000 // max(n, 1)))})"
        for t, n in sorted(tables.items())
    )
    tol = int(cfg.infer_tolerance_s)
    cand = ", ".join(f"epoch({nsql.to_utc('s.local_ts', quote_literal(z))})" for z in names)
    gaps = ", ".join(f"min(abs(p.cand[{i}] - p.ku)) AS d{i}" for i in range(1, len(names) + 1))
    per_zone = " UNION ALL ".join(
        f"SELECT table_id, {quote_literal(z)} AS zone, count(*) FILTER (d{i} <= {tol}) AS aligned "
        f"FROM best GROUP BY table_id"
        for i, z in enumerate(names, start=1)
    )
    return f"""
    WITH t AS (
        SELECT s.table_id, s.row_key, s.facility, s.inmate_account, s.number_key, s.local_ts,
               [{cand}] AS cand
        FROM {stage} s JOIN (VALUES {keep}) v(table_id, per_million) USING (table_id)
        WHERE s.local_ts IS NOT NULL AND s.utc_fixed IS NULL AND s.row_zone IS NULL
          AND hash(s.row_key) % 1000000 < v.per_million),
    pairs AS (
        SELECT t.table_id, t.row_key, t.cand, epoch(k.utc) AS ku
        -- Matches lie within 15 h, so within the day before, of or after the local day:
        -- the day in the join key keeps a busy number's pairs to three days, not years.
        FROM (SELECT *, unnest([d - 1, d, d + 1]) AS day
              FROM (SELECT *, CAST(floor(epoch(local_ts) / 86400) AS BIGINT) AS d FROM t)) t
        JOIN (SELECT *, CAST(floor(epoch(utc) / 86400) AS BIGINT) AS day FROM {known}) k
          USING (facility, number_key, day)
        WHERE k.utc BETWEEN t.local_ts - INTERVAL 15 HOUR AND t.local_ts + INTERVAL 15 HOUR
          -- a table without accounts still matches on facility and number
          AND (t.inmate_account = k.inmate_account OR t.inmate_account IS NULL
               OR k.inmate_account IS NULL)),
    best AS (SELECT p.table_id, p.row_key, {gaps} FROM pairs p GROUP BY p.table_id, p.row_key),
    scored AS ({per_zone}),
    matched AS (SELECT table_id, count(*) AS matched FROM best GROUP BY table_id),
    sampled AS (SELECT table_id, count(*) AS sampled FROM t GROUP BY table_id)
    SELECT s.table_id, s.zone, s.aligned, coalesce(m.matched, 0), sa.sampled
    FROM scored s JOIN sampled sa USING (table_id) LEFT JOIN matched m USING (table_id)
    ORDER BY s.table_id, s.aligned DESC, s.zone"""


# Jail phones run in local daytime: a wall clock shows few calls from midnight to 6 am, a UTC
# clock of a US facility shows its evening calls there.
NIGHT_HOURS = (0, 6)


def night_calls_sql(stage: str, tables: dict[int, int], zones: list[str], sample_rows: int) -> str:
    """Per table: rows sampled, those at night on their own clock, and those at night in each
    zone when the table's clock is read as UTC (``tables`` maps table to row count)."""
    lo, hi = NIGHT_HOURS
    keep = ", ".join(
        f"({int(t)}, {min(1_000_000, -(-sample_rows * 1_000_000 // max(n, 1)))})"
        for t, n in sorted(tables.items())
    )
    night = [f"count(*) FILTER (hour(local_ts) >= {lo} AND hour(local_ts) < {hi})"]
    for z in zones:
        h = f"hour({nsql.from_utc('local_ts', quote_literal(z))})"
        night.append(f"count(*) FILTER ({h} >= {lo} AND {h} < {hi})")
    return f"""
    SELECT s.table_id, count(*), {", ".join(night)}
    FROM {stage} s JOIN (VALUES {keep}) v(table_id, per_million) USING (table_id)
    WHERE s.local_ts IS NOT NULL AND hash(s.row_key) % 1000000 < v.per_million
    GROUP BY s.table_id ORDER BY s.table_id"""


def same_utc_share_sql(stage: str, table_id: int, a: str, b: str) -> str:
    """Share of a table's rows for which two zones give the same UTC time."""
    return f"""
    SELECT avg(CASE WHEN {nsql.to_utc("local_ts", quote_literal(a))}
                       = {nsql.to_utc("local_ts", quote_literal(b))} THEN 1.0 ELSE 0.0 END)
    FROM {stage} WHERE table_id = {int(table_id)} AND local_ts IS NOT NULL"""


def judge(
    ex: Executor, stage: str, table_id: int, ranked: list[tuple[str, int]], matched: int,
    sampled: int, cfg: Any,
) -> ZoneGuess | None:  # fmt: skip
    """Decide one table's zone from its ranked (zone, aligned) list; None = no evidence yet."""
    if not ranked or matched == 0 or ranked[0][1] == 0:
        return None
    (best, aligned), (runner, runner_aligned) = (
        ranked[0],
        (ranked[1] if len(ranked) > 1 else ("", 0)),
    )
    share = aligned / matched
    evidence = {
        "sampled_rows": sampled,
        "matched_rows": matched,
        "aligned_rows": aligned,
        "share_aligned": round(share, 4),
        "runner_up": runner or None,
        "runner_up_aligned": runner_aligned,
    }
    warning = None
    # Rows where the two zones disagree decide; few decisive rows means ambiguous.
    if runner and aligned - runner_aligned < max(5, 0.05 * aligned):
        same = ex.fetchall(same_utc_share_sql(stage, table_id, best, runner))[0][0] or 0.0
        evidence["same_utc_as_runner_up"] = round(float(same), 4)
        if same < 0.999:
            warning = (
                f"the clock zone of this table is ambiguous: {best} aligns {aligned} of "
                f"{matched} matched calls, {runner} aligns {runner_aligned}; {best} was used. "
                f"Set the zone in the mapping file if you know it."
            )
    if aligned < cfg.infer_min_matches or share < 0.5:
        confidence = "low"
        warning = warning or (
            f"little evidence for this table's clock zone: {aligned} of {matched} matched calls "
            f"align with {best}; {best} was used. Set the zone in the mapping file if you know it."
        )
    elif warning:
        confidence = "low"
    else:
        confidence = "high" if share >= 0.8 and aligned >= 5 * cfg.infer_min_matches else "medium"
    return ZoneGuess(table_id, best, "inferred", confidence, evidence, warning)
