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
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import count_sql, parquet_source
from privguard.internals.truth import sql as S

log = logging.getLogger(__name__)


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
    numbers, truth = AuditPaths(out).numbers, parquet_source(truth_numbers)
    with session(executor) as ex:
        calls = int(ex.fetchall(count_sql(parquet_source(truth_calls)))[0][0])
        m = ex.fetchall(S.metrics_sql(numbers, truth_numbers, use_lists))[0]
        false = dict(ex.fetchall(S.false_candidates_sql(numbers, truth_numbers)))
        cols = {r[0] for r in ex.fetchall(S.columns_sql(truth))}
        fac_col = next((c for c in ("registry_facility", "facility") if c in cols), None)
        zones = _facility_zones(synth)
        t = ex.fetchall(S.truth_counts_sql(truth_calls, truth_numbers, zones, fac_col))[0]
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
    paths = AuditPaths(out)
    with session(executor) as ex:
        paths.work.mkdir(parents=True, exist_ok=True)
        ex.copy_to_parquet(S.truth_calls_sql(truth_calls), paths.calls)
        calls = int(ex.fetchall(count_sql(parquet_source(truth_calls)))[0][0])
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
