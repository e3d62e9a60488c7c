"""Measure identify (and findings) against a synthetic leak's ground truth.

The true calls (``SYNTH/truth/calls.parquet``) are turned into a call table that follows
the ``OUT/calls.parquet`` contract, so the figures measure identify alone, not dedupe.
Then identify runs with the synthetic directories and registry, findings counts, and the
result is compared with ``SYNTH/truth/numbers.parquet``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.audit.engines import Executor, connect
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import parquet_source, quote_literal

log = logging.getLogger(__name__)

ATTORNEY_KINDS = ("attorney", "public_defender")


def truth_calls_sql(truth_calls: Path) -> str:
    """The true calls in the ``OUT/calls.parquet`` shape (one source: the truth row)."""
    return f"""
SELECT call_id::BIGINT AS call_id, facility::VARCHAR AS facility,
       inmate_id::VARCHAR AS inmate_account, NULL::VARCHAR AS inmate_name,
       number::VARCHAR AS dialed_number,
       CASE WHEN number IS NULL THEN 'invalid: empty' ELSE 'valid' END AS number_status,
       start_utc::TIMESTAMP AS start_utc,
       duration_s::INTEGER AS duration_s, false AS duration_rounded, completed,
       'status' AS completed_from, recorded,
       NULL::VARCHAR AS recording_ref, 'single' AS merge_rule, 1 AS n_sources,
       [{{'file': 'truth/calls.parquet', 'table': 'calls', 'row': call_id::BIGINT}}] AS sources
FROM {parquet_source(truth_calls)} ORDER BY call_id"""


def _metrics_sql(out: Path, truth_numbers: Path, use_lists: bool) -> str:
    kinds = ", ".join(quote_literal(k) for k in ATTORNEY_KINDS)
    # Without lists nothing is "listed": every attorney number must come from its calls.
    listed = "(in_dir OR in_reg)" if use_lists else "false"
    return f"""
WITH t AS (SELECT * FROM {parquet_source(truth_numbers)}),
n AS (SELECT number, classification FROM {parquet_source(AuditPaths(out).numbers)}),
j AS (SELECT n.*, t.kind, coalesce(t.in_directory, false) AS in_dir,
             coalesce(t.in_registry, false) AS in_reg, t.kind IN ({kinds}) AS attorney
      FROM n LEFT JOIN t USING (number))
SELECT
  count(*) FILTER (WHERE attorney AND {listed}) AS listed_called,
  count(*) FILTER (WHERE attorney AND {listed}
                   AND classification IN ('registered', 'directory_attorney')) AS listed_found,
  count(*) FILTER (WHERE attorney AND NOT {listed}) AS unlisted_called,
  count(*) FILTER (WHERE attorney AND NOT {listed}
                   AND classification = 'candidate') AS unlisted_found,
  count(*) FILTER (WHERE classification = 'candidate') AS candidates,
  count(*) FILTER (WHERE NOT attorney AND classification IN
                   ('registered', 'directory_attorney')) AS listed_non_attorneys
FROM j"""


def _false_candidates_sql(out: Path, truth_numbers: Path) -> str:
    return f"""
SELECT coalesce(t.kind, '(unknown)'), count(*)
FROM {parquet_source(AuditPaths(out).numbers)} n
LEFT JOIN {parquet_source(truth_numbers)} t USING (number)
WHERE n.classification = 'candidate' AND coalesce(t.kind, '') NOT IN
      ({", ".join(quote_literal(k) for k in ATTORNEY_KINDS)})
GROUP BY 1 ORDER BY 2 DESC"""


def _truth_counts_sql(
    truth_calls: Path, truth_numbers: Path, zones: dict[str, str], facility_col: str | None
) -> str:
    """Truth restricted to listed attorney numbers: recorded calls and registry violations."""
    kinds = ", ".join(quote_literal(k) for k in ATTORNEY_KINDS)
    zone_rows = ", ".join(f"({quote_literal(f)}, {quote_literal(z)})" for f, z in zones.items())
    zone_cte = (
        f"z(facility, zone) AS (VALUES {zone_rows})"
        if zones
        else "z AS (SELECT NULL::VARCHAR AS facility, NULL::VARCHAR AS zone WHERE false)"
    )
    return f"""
WITH {zone_cte},
t AS (SELECT * FROM {parquet_source(truth_numbers)}
      WHERE kind IN ({kinds}) AND (coalesce(in_directory, false) OR coalesce(in_registry, false))),
c AS (SELECT c.*, t.in_registry, t.registered_from, t.registered_until,
             {("t." + facility_col) if facility_col else "NULL::VARCHAR"} AS registry_facility,
             CAST(CASE WHEN z.zone IS NULL THEN c.start_utc
                       ELSE timezone(z.zone, c.start_utc AT TIME ZONE 'UTC') END AS DATE) AS day
      FROM {parquet_source(truth_calls)} c JOIN t USING (number)
      LEFT JOIN z USING (facility))
SELECT count(*) AS privileged_calls,
       count(*) FILTER (WHERE recorded) AS privileged_calls_recorded,
       count(*) FILTER (WHERE recorded AND in_registry AND day >= registered_from
                        AND (registered_until IS NULL OR day < registered_until)
                        AND (registry_facility IS NULL OR registry_facility = facility))
           AS registry_violations
FROM c"""


@dataclass
class TruthEvaluation:
    """Identify and findings measured against ground truth."""

    calls: int = 0
    listed_called: int = 0
    listed_found: int = 0
    listed_non_attorneys: int = 0
    unlisted_called: int = 0
    unlisted_found: int = 0
    candidates: int = 0
    precision: float = 0.0
    recall: float = 0.0
    false_candidates: dict[str, int] = field(default_factory=dict)
    privileged_calls: tuple[int, int] = (0, 0)  # (found, truth)
    privileged_calls_recorded: tuple[int, int] = (0, 0)
    registry_violations: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _facility_zones(synth: Path) -> dict[str, str]:
    """Facility code -> IANA zone from ``synth.json`` when it lists them."""
    path = synth / "synth.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    facs = data.get("facilities") or []
    if isinstance(facs, dict):
        return {str(k): str(v.get("zone")) for k, v in facs.items() if isinstance(v, dict)}
    return {str(f["code"]): str(f["zone"]) for f in facs if isinstance(f, dict) and "zone" in f}


def _truth_paths(synth: Path) -> tuple[Path, Path]:
    paths = (synth / "truth" / "calls.parquet", synth / "truth" / "numbers.parquet")
    for path in paths:
        if not path.is_file():
            raise InputError(
                "this is not a synthetic leak with ground truth",
                where=str(path),
                fix="run 'privguard synth OUT' and pass its folder",
            )
    return paths


def score_against_truth(
    out: Path, synth: Path, *, use_lists: bool = True, executor: Executor | None = None
) -> TruthEvaluation:
    """Score an audit folder (``numbers.parquet``, ``summary.json``) against the truth.

    Works on any audit of a synthetic leak: on the true calls (see :func:`evaluate_truth`)
    it measures identify alone; on a full ``privguard audit`` it measures the pipeline.
    """
    out, synth = Path(out), Path(synth)
    truth_calls, truth_numbers = _truth_paths(synth)
    summary = json.loads(AuditPaths(out).summary.read_text(encoding="utf-8"))
    own = executor is None
    ex = executor or connect()
    try:
        calls = int(ex.fetchall(f"SELECT count(*) FROM {parquet_source(truth_calls)}")[0][0])
        m = ex.fetchall(_metrics_sql(out, truth_numbers, use_lists))[0]
        false = dict(ex.fetchall(_false_candidates_sql(out, truth_numbers)))
        cols = {
            r[0] for r in ex.fetchall(f"DESCRIBE SELECT * FROM {parquet_source(truth_numbers)}")
        }
        fac_col = next((c for c in ("registry_facility", "facility") if c in cols), None)
        zones = _facility_zones(synth)
        t = ex.fetchall(_truth_counts_sql(truth_calls, truth_numbers, zones, fac_col))[0]
    finally:
        if own:
            ex.close()
    ev = TruthEvaluation(
        calls=calls,
        listed_called=int(m[0]),
        listed_found=int(m[1]),
        unlisted_called=int(m[2]),
        unlisted_found=int(m[3]),
        candidates=int(m[4]),
        listed_non_attorneys=int(m[5]),
        false_candidates={str(k): int(v) for k, v in false.items()},
        privileged_calls=(int(summary["privileged_calls"]), int(t[0])),
        privileged_calls_recorded=(int(summary["privileged_calls_recorded"]), int(t[1])),
        registry_violations=(int(summary["registry_violations"]), int(t[2])),
    )
    ev.precision = ev.unlisted_found / ev.candidates if ev.candidates else 1.0
    ev.recall = ev.unlisted_found / ev.unlisted_called if ev.unlisted_called else 1.0
    log.info("identify against truth: %s", ev.to_dict())
    return ev


def evaluate_truth(
    synth: Path,
    out: Path,
    *,
    use_lists: bool = True,
    executor: Executor | None = None,
    settings: Any = None,
) -> TruthEvaluation:
    """Run identify and findings on the true calls of a synthetic leak and score them.

    ``synth`` is the folder written by ``privguard synth`` (``truth/``, ``directory/``,
    ``registry/``); ``out`` receives ``calls.parquet`` (from the truth), the identify
    outputs and the findings. With ``use_lists=False`` the directories and registry are
    left out (a journalist with only the leak): every attorney number must then be found
    from its calls, and findings count nothing as privileged. Returns the figures the
    identify issue asks for.
    """
    from privguard.internals.audit.findings.api import findings
    from privguard.internals.audit.identify.api import identify

    synth, out = Path(synth), Path(out)
    truth_calls, _ = _truth_paths(synth)
    own = executor is None
    ex = executor or connect()
    try:
        paths = AuditPaths(out)
        paths.work.mkdir(parents=True, exist_ok=True)
        ex.copy_to_parquet(truth_calls_sql(truth_calls), paths.calls)
        calls = int(ex.fetchall(f"SELECT count(*) FROM {parquet_source(truth_calls)}")[0][0])
        paths.ingest_report.write_text(
            json.dumps({"dump": "truth", "tables": [{"rows_read": calls, "rows_rejected": 0}]})
        )
        directories = sorted((synth / "directory").glob("*.*")) if use_lists else []
        registries = sorted((synth / "registry").glob("*.*")) if use_lists else []
        identify(
            out, directories=directories, registries=registries, settings=settings, executor=ex
        )
        findings(out, executor=ex)
        return score_against_truth(out, synth, use_lists=use_lists, executor=ex)
    finally:
        if own:
            ex.close()
