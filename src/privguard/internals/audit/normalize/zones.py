"""Which zone each table's wall clock is in, when neither the rows nor the mapping say.

Passes: every table with a zone (given or already inferred) is evidence for the
others; a table is accepted once enough of its calls align under one candidate zone.
When a facility's tables all lack a zone, one of them (the pivot) is tried in every
candidate zone in turn and the others scored against it: only the true zone lets the
UTC-clocked and local-clocked tables align across DST changes. What stays unresolved
falls back to the facility's known zone, else UTC, always with a warning.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.normalize import clocks
from privguard.internals.audit.normalize import sql as nsql
from privguard.internals.audit.normalize.settings import Settings
from privguard.internals.audit.normalize.stage import known_utc_sql, unresolved_tables_sql

log = logging.getLogger(__name__)


def infer_zones(
    ex: Executor, stage: str, tables: dict[int, dict[str, Any]], cfg: Settings
) -> dict[int, clocks.ZoneGuess]:
    """Infer the zone of every table that needs it; returns one guess per such table."""
    pending = [r[0] for r in ex.fetchall(unresolved_tables_sql(stage))]
    guesses: dict[int, clocks.ZoneGuess] = {}
    register_table_zones(ex, guesses)
    ex.execute(f"CREATE OR REPLACE TEMP VIEW _pg_known AS {known_utc_sql(stage)}")
    tried_pivots = False
    try:
        while pending:
            # One scoring serves both passes: the low-confidence pass sees the same evidence.
            register_table_zones(ex, guesses)
            scored = _scores(ex, stage, tables, pending, cfg)
            new = _pass(ex, stage, guesses, pending, scored, cfg, accept_low=False)
            new = new or _pass(ex, stage, guesses, pending, scored, cfg, accept_low=True)
            if not new and not tried_pivots:
                tried_pivots = True
                new = _pivots(ex, stage, tables, guesses, pending, cfg)
            if not new:
                break
            guesses.update(new)
            pending = [t for t in pending if t not in new]
    finally:
        ex.execute("DROP VIEW IF EXISTS _pg_known")
    for t in pending:
        guesses[t] = _fallback(ex, stage, t)
    _rename_ties(ex, stage, guesses)
    return guesses


def _rename_ties(ex: Executor, stage: str, guesses: dict[int, clocks.ZoneGuess]) -> None:
    """A zone that tied with its runner-up (same UTC for every row) takes the facility's name."""
    prior = _facility_zones(ex, stage, guesses)
    fac_of = _facility_of(ex, stage, sorted(guesses))
    for t, g in guesses.items():
        p = prior.get(fac_of.get(t))
        ev = g.evidence
        if (
            p
            and g.zone != p
            and ev.get("runner_up") == p
            and ev.get("same_utc_as_runner_up", 0) >= 0.999
        ):
            ev["runner_up"], g.zone = g.zone, p
            ev["named_after_facility"] = True


def _scores(
    ex: Executor, stage: str, tables: dict[int, dict[str, Any]], pending: list[int], cfg: Settings
) -> tuple[dict[int, list[tuple[str, int]]], dict[int, tuple[int, int]]]:
    sizes = {t: tables[t]["rows"] for t in pending}
    ranked: dict[int, list[tuple[str, int]]] = {}
    counts: dict[int, tuple[int, int]] = {}
    for table_id, zone, aligned, matched, sampled in ex.fetchall(
        clocks.score_zones_sql(stage, "_pg_known", sizes, cfg)
    ):
        ranked.setdefault(table_id, []).append((zone, aligned))
        counts[table_id] = (matched, sampled)
    return ranked, counts


def _pass(
    ex: Executor,
    stage: str,
    guesses: dict[int, clocks.ZoneGuess],
    pending: list[int],
    scored: tuple[dict[int, list[tuple[str, int]]], dict[int, tuple[int, int]]],
    cfg: Settings,
    *,
    accept_low: bool,
) -> dict[int, clocks.ZoneGuess]:
    ranked, counts = scored
    prior = _facility_zones(ex, stage, guesses)
    fac_of = _facility_of(ex, stage, pending)
    new = {}
    for t in pending:
        # Zones that give the same alignment (Phoenix and Los Angeles in summer) tie; the
        # zone the facility's other tables use names the clock best.
        p = prior.get(fac_of.get(t))
        zs = sorted(ranked.get(t, []), key=lambda z: (-z[1], z[0] != p, z[0]))
        g = clocks.judge(ex, stage, t, zs, *counts.get(t, (0, 0)), cfg)
        if g is not None and (accept_low or g.confidence != "low"):
            new[t] = g
    return new


def _facility_of(ex: Executor, stage: str, ids: list[int]) -> dict[int, Any]:
    """The (most common) facility of each table."""
    if not ids:
        return {}
    return dict(ex.fetchall(nsql.facility_of_sql(stage, ids)))


def _facility_zones(
    ex: Executor, stage: str, guesses: dict[int, clocks.ZoneGuess]
) -> dict[Any, str]:
    """Per facility, the local zone its tables name (row zones and decisive inferences)."""
    votes: dict[Any, dict[str, int]] = {}
    for fac, zone, n in ex.fetchall(nsql.facility_zone_votes_sql(stage)):
        votes.setdefault(fac, {})[zone] = votes.get(fac, {}).get(zone, 0) + n
    decisive = [
        g for g in guesses.values()
        if g.zone and g.zone != "UTC" and g.evidence.get("same_utc_as_runner_up", 0) < 0.999
    ]  # fmt: skip
    for table_id, fac in _facility_of(ex, stage, [g.table_id for g in decisive]).items():
        zone = str(guesses[table_id].zone)
        votes.setdefault(fac, {})[zone] = votes.get(fac, {}).get(zone, 0) + 1
    return {f: max(v, key=lambda z: (v[z], z)) for f, v in votes.items()}


def _pivots(
    ex: Executor,
    stage: str,
    tables: dict[int, dict[str, Any]],
    guesses: dict[int, clocks.ZoneGuess],
    pending: list[int],
    cfg: Settings,
) -> dict[int, clocks.ZoneGuess]:
    """Per facility with no zone at all: try its largest table in every candidate zone."""
    fac_of = _facility_of(ex, stage, pending)
    by_fac: dict[Any, list[int]] = {}
    for t in pending:
        by_fac.setdefault(fac_of.get(t), []).append(t)
    pivots = {
        f: max(ts, key=lambda t: (tables[t]["rows"], -t)) for f, ts in by_fac.items() if len(ts) > 1
    }
    if not pivots:
        return {}
    others = [t for t in pending if t not in pivots.values()]
    totals: dict[Any, dict[str, int]] = {f: {} for f in pivots}
    for zone in cfg.zone_candidates:
        trial = dict(guesses)
        for p in pivots.values():
            trial[p] = clocks.ZoneGuess(p, zone, "trial", "none")
        register_table_zones(ex, trial)
        ranked, _ = _scores(ex, stage, tables, others, cfg)
        for t, zs in ranked.items():
            f = fac_of.get(t)
            if f in totals and zs:
                totals[f][zone] = totals[f].get(zone, 0) + zs[0][1]
    new = {}
    for f, p in pivots.items():
        ranked_z = sorted(totals[f].items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked_z or ranked_z[0][1] == 0:
            continue
        (best, score), runner = ranked_z[0], (ranked_z[1] if len(ranked_z) > 1 else ("", 0))
        evidence = {
            "method": "pivot: the other tables of the facility scored under each zone",
            "aligned_rows_by_zone": dict(ranked_z),
        }
        warning = None
        confidence = "medium"
        if runner[1] >= 0.9 * score:
            confidence = "low"
            warning = (
                f"no table of this facility states its zone, and the tables align about as well "
                f"with {best} ({score} calls) as with {runner[0]} ({runner[1]}); {best} was "
                "used. Set the zone in the mapping file if you know it."
            )
        new[p] = clocks.ZoneGuess(p, best, "inferred", confidence, evidence, warning)
        log.info("zone of table %s inferred by pivot: %s (%s)", p, best, ranked_z[:3])
    return new


def _fallback(ex: Executor, stage: str, table_id: int) -> clocks.ZoneGuess:
    """No overlapping calls: use the zone other tables of the same facility use, else UTC."""
    rows = ex.fetchall(nsql.facility_fallback_zone_sql(stage, table_id))
    if rows:
        zone = rows[0][0]
        return clocks.ZoneGuess(
            table_id, zone, "facility", "low", {"facility_zone_rows": rows[0][1]},
            f"no call in this table overlaps a table with a known zone; {zone}, the zone other "
            "tables of the same facility use, was assumed. Set the zone in the mapping file.",
        )  # fmt: skip
    return clocks.ZoneGuess(
        table_id, "UTC", "assumed", "none", {},
        "no evidence at all for this table's clock zone; UTC was assumed. "
        "Set the zone in the mapping file.",
    )  # fmt: skip


def register_table_zones(ex: Executor, guesses: dict[int, clocks.ZoneGuess]) -> None:
    """Register ``_pg_table_zones`` (table_id, zone) for the guesses so far."""
    ids = sorted(guesses)
    ex.register_arrow(
        "_pg_table_zones",
        pa.table(
            {
                "table_id": pa.array(ids, pa.int32()),
                "zone": pa.array([guesses[t].zone for t in ids], pa.string()),
            }
        ),
    )
