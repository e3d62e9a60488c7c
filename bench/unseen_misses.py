"""Classify every privileged call where an unseen-layouts audit and the truth differ.

Run on purpose after ``bench/unseen_layouts.py`` (issue 11):

    PYTHONPATH=$PWD/src .venv/bin/python bench/unseen_misses.py ROOT/FAMILY_CALLS_SEED

For each true call to a listed attorney number that is recorded, a registry violation or
completed in the truth but not in the audit (or the other way round), it says why, from
what the dump holds:

* ``only corrupt rows``: every source row of the call is corrupt (a correct reader rejects
  exactly these), so no call could be built from it;
* ``in no audit call``: readable rows of it were set aside or lost (a bug);
* ``not privileged``: its audit call went to a number identify did not class as an
  attorney's (a bug, or a number the lists do not hold);
* ``no recording evidence``: none of its readable rows sits in a table with a recorded flag
  or a recording reference (from ``synth.json``'s columns; the standard family lists none,
  so its ingest mapping is used): the dump cannot show whether it was recorded;
* ``evidence not mapped``: such a table exists but the column was not given its role (a bug);
* ``evident``: the dump shows it and the audit still differs (a bug).

Completion differences are classed by what the audit made of the call instead
(``completion unknown in the audit``: no status, no recording, a duration within the
ring-out, see ``normalize.sql.RING_S``).

Then how many audit calls hold the rows of more than one true privileged call (a merge counts
them once, and the classes above cannot see it). Prints the counts per class; writes ``BASE/misses.parquet`` (one row per true privileged
call with the audit's view of it) for a closer look.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.truth.identify import _facility_zones

ATTORNEY = "('attorney', 'public_defender')"
CLASS = """CASE
  WHEN NOT coalesce(any_good, false) AND n_acalls = 0 THEN 'only corrupt rows'
  WHEN n_acalls = 0 THEN 'in no audit call'
  WHEN n_priv = 0 THEN 'not privileged'
  WHEN NOT coalesce(evident, false) THEN 'no recording evidence'
  WHEN NOT coalesce(evident_mapped, false) THEN 'evidence not mapped'
  ELSE 'evident (audit recorded ' || coalesce(CAST(a_rec AS VARCHAR), 'unknown') || ')' END"""
# Completion: no recording evidence matters less than what the audit made of the call.
COMPLETION = """CASE
  WHEN NOT coalesce(any_good, false) AND n_acalls = 0 THEN 'only corrupt rows'
  WHEN n_acalls = 0 THEN 'in no audit call'
  WHEN n_priv = 0 THEN 'not privileged'
  WHEN a_comp IS NULL THEN 'completion unknown in the audit'
  ELSE 'audit completed ' || CAST(a_comp AS VARCHAR) END"""


def _evidence(leak: Path, work: Path) -> list[tuple[str, str, bool, bool]]:
    """(file, table, can show recording, recording column mapped) per table of the dump."""
    meta = json.loads((leak / "synth.json").read_text())
    report = json.loads((work / "ingest_report.json").read_text())
    mapped = {(t["file"], t["table"]): t.get("mapping") or {} for t in report["tables"]}
    rows = []
    for t in meta["tables"]:
        m = mapped.get((t["file"], t["table"]), {})
        has_map = bool({"recorded", "recording_ref"} & set(m))
        kinds = {v.partition(":")[0] for v in (t.get("columns") or {}).values()}
        has = bool(kinds & {"recorded", "ref"}) if kinds else has_map
        rows.append((t["file"], t["table"], has, has_map))
    return rows


def build(base: Path) -> duckdb.DuckDBPyConnection:
    """Table ``j``: one row per true privileged call, with the audit calls that hold its rows."""
    leak, p = base / "leak", AuditPaths(base / "audit")
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (file VARCHAR, tbl VARCHAR, has BOOL, has_map BOOL)")
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)", _evidence(leak, p.work))
    con.execute("CREATE TABLE z (facility VARCHAR, zone VARCHAR)")
    con.executemany("INSERT INTO z VALUES (?, ?)", list(_facility_zones(leak).items()))
    con.execute(f"""
    CREATE TABLE tp AS
    WITH t AS (SELECT * FROM '{leak}/truth/numbers.parquet' WHERE kind IN {ATTORNEY}
               AND (coalesce(in_directory, false) OR coalesce(in_registry, false))),
    c AS (SELECT c.*, t.in_registry, t.registered_from, t.registered_until, t.registry_facility,
                 CAST(timezone(z.zone, c.start_utc AT TIME ZONE 'UTC') AS DATE) AS day
          FROM '{leak}/truth/calls.parquet' c JOIN t USING (number) LEFT JOIN z USING (facility))
    SELECT call_id, facility, number, completed, recorded,
           recorded AND coalesce(in_registry, false) AND day >= registered_from
             AND (registered_until IS NULL OR day < registered_until)
             AND (registry_facility IS NULL OR registry_facility = facility) AS viol
    FROM c""")
    con.execute(f"""
    CREATE TABLE m AS
    SELECT r.call_id AS tcall, a.acall, r.corrupt, coalesce(ev.has, false) AS has,
           coalesce(ev.has_map, false) AS has_map
    FROM '{leak}/truth/rows.parquet' r
    LEFT JOIN ev ON ev.file = r.file AND ev.tbl = r."table"
    LEFT JOIN (SELECT call_id AS acall, s.file, s."table", s."row"
               FROM (SELECT call_id, unnest(sources) AS s FROM '{p.calls}')) a
      ON a.file = r.file AND a."table" = r."table" AND a."row" = CAST(r."row" AS BIGINT)
    WHERE r.call_id IN (SELECT call_id FROM tp)""")
    con.execute(f"""
    CREATE TABLE j AS
    WITH per AS (
        SELECT tcall, count(DISTINCT acall) AS n_acalls, bool_or(NOT corrupt) AS any_good,
               bool_or(NOT corrupt AND has) AS evident,
               bool_or(NOT corrupt AND has_map) AS evident_mapped
        FROM m GROUP BY tcall),
    agg AS (
        SELECT pa.tcall, bool_or(f.recorded) AS a_rec, bool_or(f.registry_violation) AS a_viol,
               count(f.call_id) AS n_priv, bool_or(c.completed) AS a_comp,
               string_agg(DISTINCT f.recorded_from, ',') AS a_from
        FROM (SELECT DISTINCT tcall, acall FROM m WHERE acall IS NOT NULL) pa
        LEFT JOIN '{p.flags}' f ON f.call_id = pa.acall
        LEFT JOIN (SELECT call_id, completed FROM '{p.calls}') c ON c.call_id = pa.acall
        GROUP BY pa.tcall)
    SELECT tp.*, coalesce(per.n_acalls, 0) AS n_acalls, per.any_good, per.evident,
           per.evident_mapped, agg.a_rec, agg.a_viol, coalesce(agg.n_priv, 0) AS n_priv,
           agg.a_comp, agg.a_from
    FROM tp LEFT JOIN per ON per.tcall = tp.call_id LEFT JOIN agg ON agg.tcall = tp.call_id""")
    return con


CHECKS = {
    "recorded, audit not": "recorded AND NOT coalesce(a_rec, false)",
    "not recorded, audit recorded": "NOT recorded AND coalesce(a_rec, false)",
    "violation, audit not": "viol AND NOT coalesce(a_viol, false)",
    "no violation, audit one": "NOT viol AND coalesce(a_viol, false)",
    "completed, audit not": "completed AND NOT coalesce(a_comp, false)",
    "not completed, audit completed": "NOT completed AND coalesce(a_comp, false)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="ROOT/FAMILY_CALLS_SEED (leak/ and audit/)")
    a = ap.parse_args(argv)
    con = build(a.base)
    n = con.execute(
        "SELECT count(*), count(*) FILTER (recorded), count(*) FILTER (viol), "
        "count(*) FILTER (completed) FROM j"
    ).fetchall()[0]
    print(f"truth: {n[0]:,} privileged calls, {n[1]:,} recorded, {n[2]:,} violations, "
          f"{n[3]:,} completed")  # fmt: skip
    for title, where in CHECKS.items():
        why = COMPLETION if "completed" in title else CLASS
        rows = con.execute(
            f"SELECT {why} AS why, count(*) FROM j WHERE {where} GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        print(f"{title}: " + (", ".join(f"{k} {v:,}" for k, v in rows) or "none"))
    # Two true calls whose rows one audit call holds are counted once; the checks above trace
    # each true call to its audit call and so cannot see it (split 1 M, seed 9: two calls of
    # one inmate to one number 12 s apart, each 1,200 s long, each with one row).
    merged = con.execute(
        "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(n_rec), 0) FROM (SELECT m.acall, "
        "count(DISTINCT m.tcall) AS n, count(DISTINCT m.tcall) FILTER (tp.recorded) AS n_rec "
        "FROM m JOIN tp ON tp.call_id = m.tcall WHERE m.acall IS NOT NULL GROUP BY m.acall "
        "HAVING count(DISTINCT m.tcall) > 1)"
    ).fetchall()[0]
    print(f"one audit call for several true calls: {merged[0]:,} audit calls hold "
          f"{merged[1]:,} true privileged calls ({merged[2]:,} recorded)")  # fmt: skip
    con.execute(f"COPY j TO '{a.base / 'misses.parquet'}' (FORMAT parquet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
