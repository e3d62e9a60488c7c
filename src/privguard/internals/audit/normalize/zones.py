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
    tried: set[int] = set()
    register_table_zones(ex, guesses)
    ex.execute(f"CREATE OR REPLACE TEMP VIEW _pg_known AS {known_utc_sql(stage)}")
    try:
        while pending:
            # One scoring serves both passes: the low-confidence pass sees the same evidence.
            register_table_zones(ex, guesses)
            scored = _scores(ex, stage, tables, pending, cfg)
            new = _pass(ex, stage, guesses, pending, scored, cfg, accept_low=False)
            new = new or _pass(ex, stage, guesses, pending, scored, cfg, accept_low=True)
            # Pivots again whenever the passes stall: each round settles at least one table
            # or ends the loop, and a group's pivot is tried once (it failed, or it is solved).
            new = new or _pivots(ex, stage, tables, guesses, pending, cfg, tried)
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
    if accept_low:
        # Weak guesses one per facility, the best evidenced first: a guess accepted becomes
        # evidence for its copies, which then need no weak guess of their own (issue 11:
        # two copies of one half-year, 5,000 calls in common, each judged on the 6-12 calls
        # it shared with other tables, in one pass; one took Honolulu for UTC).
        best: dict[Any, int] = {}
        for t, g in new.items():
            f, b = fac_of.get(t), best.get(fac_of.get(t))
            if b is None or g.evidence.get("aligned_rows", 0) > new[b].evidence.get(
                "aligned_rows", 0
            ):
                best[f] = t
        new = {t: new[t] for t in best.values()}
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
    tried: set[int],
) -> dict[int, clocks.ZoneGuess]:
    """Per group of tables with no zone at all: try its largest table in every candidate zone.

    A group is a facility's pending tables whose dates overlap: exports split by year
    share no call across years, so each year needs a pivot of its own (issue 11: a
    facility whose only sign of a UTC clock was a header left every other year UTC)."""
    groups = _overlap_groups(ex, stage, pending)
    pivots = {
        g: max(ts, key=lambda t: (tables[t]["rows"], -t))
        for g, ts in groups.items()
        if len(ts) > 1 and not tried.intersection(ts)
    }
    if not pivots:
        return {}
    tried.update(pivots.values())
    fac_of = {t: g for g, ts in groups.items() for t in ts}
    others = [t for t in pending if t not in pivots.values()]
    totals: dict[Any, dict[str, int]] = {f: {} for f in pivots}
    # Per group and trial zone, the zone each table takes: the pivot's, and the others' best.
    assigned: dict[Any, dict[str, dict[int, str]]] = {f: {} for f in pivots}
    for zone in cfg.zone_candidates:
        trial = dict(guesses)
        for g, p in pivots.items():
            trial[p] = clocks.ZoneGuess(p, zone, "trial", "none")
            assigned[g][zone] = {p: zone}
        register_table_zones(ex, trial)
        ranked, _ = _scores(ex, stage, tables, others, cfg)
        for t, zs in ranked.items():
            f = fac_of.get(t)
            if f in totals and zs:
                totals[f][zone] = totals[f].get(zone, 0) + zs[0][1]
                if zs[0][1] > 0:
                    assigned[f][zone][t] = zs[0][0]
    new = {}
    for f, p in sorted(pivots.items(), key=lambda kv: kv[1]):
        ranked_z = sorted(totals[f].items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked_z or ranked_z[0][1] == 0:
            continue
        evidence: dict[str, Any] = {
            "method": "pivot: the other tables of the facility scored under each zone",
            "aligned_rows_by_zone": dict(ranked_z),
        }
        near = [z for z, n in ranked_z if n >= 0.9 * ranked_z[0][1]]
        by_night = _by_night(ex, stage, tables, {z: assigned[f][z] for z in near}, cfg)
        if by_night is not None:
            # Only the difference between the clocks is seen (no DST change in the period):
            # the assignment whose wall clocks stay quiet at night is the true one.
            ranked_z = [(z, totals[f][z]) for z in by_night] + [
                (z, n) for z, n in ranked_z if z not in by_night
            ]
            evidence["night_share_by_zone"] = by_night
        (best, score), runner = ranked_z[0], (ranked_z[1] if len(ranked_z) > 1 else ("", 0))
        warning = None
        confidence = "medium"
        if runner[1] >= 0.9 * score and not _night_decides(by_night):
            confidence = "low"
            warning = (
                f"no table of this facility states its zone, and the tables align about as well "
                f"with {best} ({score} calls) as with {runner[0]} ({runner[1]}); {best} was "
                "used. Set the zone in the mapping file if you know it."
            )
        new[p] = clocks.ZoneGuess(p, best, "inferred", confidence, evidence, warning)
        log.info("zone of table %s inferred by pivot: %s (%s)", p, best, ranked_z[:3])
    return new


# A wall clock must show clearly fewer night calls than the next reading to decide a tie.
NIGHT_MARGIN = 0.5


def _by_night(
    ex: Executor,
    stage: str,
    tables: dict[int, dict[str, Any]],
    readings: dict[str, dict[int, str]],
    cfg: Settings,
) -> dict[str, float] | None:
    """Near-tied readings of a group (trial zone -> each table's zone), ordered by the share
    of calls their wall clocks place at night; None when there is no tie to break."""
    if len(readings) < 2:
        return None
    ids = sorted({t for r in readings.values() for t in r})
    zones = sorted({z for r in readings.values() for z in r.values() if z != "UTC"})
    counts = {
        int(t): (n, raw, dict(zip(zones, by_zone, strict=True)))
        for t, n, raw, *by_zone in ex.fetchall(
            clocks.night_calls_sql(
                stage, {t: tables[t]["rows"] for t in ids}, zones, cfg.infer_sample_rows
            )
        )
    }
    shares = {}
    for trial, reading in readings.items():
        local = sorted(z for z in reading.values() if z != "UTC")
        home = max(local, key=local.count) if local else None  # the facility's wall clock
        rows = night = 0
        for t, z in reading.items():
            n, raw, by_zone = counts.get(t, (0, 0, {}))
            rows += n
            night += raw if z != "UTC" or home is None else by_zone[home]
        shares[trial] = round(night / rows, 4) if rows else 1.0
    return dict(sorted(shares.items(), key=lambda kv: (kv[1], kv[0])))


def _night_decides(by_night: dict[str, float] | None) -> bool:
    """The quietest reading's night share is well below the next one's."""
    if not by_night:
        return False
    first, second = list(by_night.values())[:2]
    return first <= NIGHT_MARGIN * second and second - first >= 0.05


def _overlap_groups(
    ex: Executor, stage: str, pending: list[int]
) -> dict[tuple[Any, int], list[int]]:
    """Pending tables grouped by facility, then into runs whose date spans overlap."""
    groups: dict[tuple[Any, int], list[int]] = {}
    if not pending:
        return groups
    spans = sorted(
        ex.fetchall(nsql.table_spans_sql(stage, pending)), key=lambda r: (str(r[1]), r[2], r[0])
    )
    fac, run, end = object(), -1, 0
    for t, f, lo, hi in spans:
        if f != fac or lo > end + 1:  # a day's slack: local and UTC dates straddle midnight
            run = run + 1 if f == fac else 0
            fac, end = f, hi
        end = max(end, hi)
        groups.setdefault((f, run), []).append(t)
    return groups


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
