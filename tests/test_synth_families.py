"""Issue 11, item 6: exporter layout families, and the whole audit run on each of them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import privguard
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.synth.families import FAMILIES


def test_a_family_renames_and_drops_columns_but_keeps_the_calls(tmp_path: Path) -> None:
    privguard.synth(tmp_path / "std", calls=300, seed=4)
    privguard.synth(tmp_path / "gen", calls=300, seed=4, layouts="generic")
    privguard.synth(tmp_path / "sparse", calls=300, seed=4, layouts="sparse")
    std = json.loads((tmp_path / "std" / "synth.json").read_text())
    gen = json.loads((tmp_path / "gen" / "synth.json").read_text())
    assert "columns" not in std["tables"][0] and "layouts" not in std["parameters"]
    assert gen["parameters"]["layouts"] == "generic"
    assert [t["file"] for t in gen["tables"]] == [t["file"] for t in std["tables"]]
    for t in gen["tables"]:
        assert list(t["columns"]) == [f"col{i}" for i in range(1, len(t["columns"]) + 1)]
    sparse = json.loads((tmp_path / "sparse" / "synth.json").read_text())
    kinds = {v.split(":")[0] for t in sparse["tables"] for v in t["columns"].values()}
    assert "status" not in kinds and "name" not in kinds
    truth = [(tmp_path / d / "truth" / "calls.parquet").read_bytes() for d in ("std", "gen")]
    assert truth[0] == truth[1]  # same seed, same calls: only the layouts differ


def test_an_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(privguard.PrivguardError, match="unknown layout family"):
        privguard.synth(tmp_path / "x", calls=300, layouts="klingon")


def _audit(tmp_path: Path, family: str) -> tuple[dict[str, int], int, dict[str, object]]:
    leak, out = tmp_path / "leak", tmp_path / "out"
    privguard.synth(leak, calls=3000, seed=5, layouts=family)
    privguard.audit(leak / "dump", out)
    summary = json.loads(AuditPaths(out).summary.read_text())
    true = duckdb.sql(f"SELECT count(*) FROM '{leak}/truth/calls.parquet'").fetchall()[0][0]
    report = json.loads((AuditPaths(out).work / "ingest_report.json").read_text())
    return summary, int(true), report


@pytest.mark.parametrize(
    "family",
    [pytest.param(f, marks=() if f in ("generic", "sparse") else pytest.mark.slow)
     for f in FAMILIES if f != "standard"],
)  # fmt: skip
def test_the_whole_audit_reads_every_family(tmp_path: Path, family: str) -> None:
    summary, true, report = _audit(tmp_path, family)
    assert summary["rows_rejected"] == report["totals"]["rows_rejected"]
    # Copies merge: facility and account are found even with col1..colN headers. The
    # clocks of a header-blind facility cannot always be told apart (docs/benchmarks.md).
    assert abs(summary["calls"] - true) <= 0.05 * true, (summary["calls"], true)
    for t in report["tables"]:
        if t["status"] == "ingested":
            assert {"dialed_number", "start"} <= set(t["roles"]), t["file"]
