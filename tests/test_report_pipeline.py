"""The report on a real small run: synth -> audit (every stage) -> report -> verify."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.custody import verify
from privguard.internals.audit.report.letters import slug
from privguard.internals.audit.schema import ATTORNEY_CLASSES
from test_report_html import _check_figures, parse


def _audit(root: Path, leak: Path | None = None, calls: int = 2500, seed: int = 11) -> Path:
    from privguard.internals.audit.pipeline import audit
    from privguard.internals.synth.api import synth

    syn = leak or root / "syn"
    if not syn.exists():
        synth(syn, calls=calls, seed=seed)
    audit(
        syn / "dump",
        root / "case" / "out",
        directories=sorted((syn / "directory").iterdir()),
        registries=sorted((syn / "registry").iterdir()),
    )
    return root / "case" / "out"


@pytest.fixture(scope="module")
def real_out(tmp_path_factory: pytest.TempPathFactory, synthetic_leak: Path) -> Path:
    return _audit(tmp_path_factory.mktemp("pipeline"), synthetic_leak)


def test_real_run_verifies(real_out: Path) -> None:
    result = verify(real_out)
    assert result.ok and result.inputs_checked > 10
    assert (real_out / "timings.json").exists()  # written after the manifest, not sealed


def test_real_run_html_matches_summary(real_out: Path) -> None:
    page = parse((AuditPaths(real_out).report_html).read_text())
    _check_figures(page, json.loads((AuditPaths(real_out).summary).read_text()))


def test_real_run_exports_agree_with_findings(real_out: Path) -> None:
    summary = json.loads((AuditPaths(real_out).summary).read_text())
    calls = pq.read_table(AuditPaths(real_out).exports / "privileged_calls.parquet")
    assert calls.num_rows == summary["privileged_calls"]
    assert pc.sum(calls["completed"]).as_py() == summary["completed_privileged_calls"]
    assert pc.sum(calls["recorded"]).as_py() == summary["privileged_calls_recorded"]
    violations = pc.and_(calls["recorded"], calls["registered_then"])
    assert pc.sum(violations).as_py() == summary["registry_violations"]


def test_real_run_one_letter_per_attorney(real_out: Path) -> None:
    numbers = pq.read_table(AuditPaths(real_out).numbers).to_pylist()
    names = {
        n["number"]: n["attorney_name"] or f"Attorney or office at {n['number']}"
        for n in numbers
        if n["classification"] in ATTORNEY_CLASSES
    }
    recorded = pq.read_table(AuditPaths(real_out).calls, columns=["dialed_number", "recorded"])
    called = {
        r["dialed_number"]
        for r in recorded.to_pylist()
        if r["recorded"] and r["dialed_number"] in names
    }
    recipients = {names[n] for n in called}
    got = {p.stem for p in (AuditPaths(real_out).letters).glob("*.pdf")}
    assert len(got) == len(recipients) > 0
    for name in recipients:
        assert slug(name) in got or any(g.startswith(slug(name) + "-") for g in got), name


@pytest.mark.services
def test_real_run_in_chromium(real_out: Path, tmp_path: Path) -> None:
    from test_report_html import _chromium

    res = _chromium(tmp_path, "--dump-dom", (AuditPaths(real_out).report_html).as_uri())
    _check_figures(parse(res.stdout), json.loads((AuditPaths(real_out).summary).read_text()))


@pytest.mark.slow
def test_real_audit_rerun_is_byte_identical(tmp_path: Path) -> None:
    out = _audit(tmp_path)
    first = (out / "manifest.json").read_bytes()
    _audit(tmp_path)
    assert (out / "manifest.json").read_bytes() == first
    verify(out)
