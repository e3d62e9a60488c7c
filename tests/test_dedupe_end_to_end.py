"""synth -> ingest -> normalize -> dedupe -> evaluate at 20 k calls: the accuracy bar, end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from privguard.internals.audit.dedupe.api import dedupe
from privguard.internals.audit.engines import connect
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.truth.dedupe import evaluate

pytestmark = pytest.mark.slow

synth_api = pytest.importorskip("privguard.internals.synth.api")
ingest_api = pytest.importorskip("privguard.internals.audit.ingest.api")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("e2e")
    # Most tables on a local clock with no zone given: inference must carry them.
    synth_api.synth(base / "leak", calls=20_000, seed=7, no_zone_share=0.8)
    work = AuditPaths(base / "out").work  # where the pipeline puts it
    ex = connect()
    try:
        ingest_api.ingest(base / "leak" / "dump", work, executor=ex)
        normalize(work, executor=ex)
        dedupe(work, base / "out", executor=ex)
    finally:
        ex.close()
    return base / "out", base / "leak" / "truth"


def test_pairwise_f1_at_20k(audited: tuple[Path, Path]) -> None:
    out, truth = audited
    ev = evaluate(out, truth)
    assert ev.f1 >= 0.999, ev.to_dict()
    assert ev.rows_unknown == 0
    assert abs(ev.calls_out - ev.true_calls) <= 0.001 * ev.true_calls


def test_local_clocks_were_inferred_not_assumed(audited: tuple[Path, Path]) -> None:
    out, _ = audited
    report = json.loads((AuditPaths(out).work / "normalize_report.json").read_text())
    froms = [t["zone_from"] for t in report["tables"]]
    assert "inferred" in froms
    assert "assumed" not in froms
    inferred = [t for t in report["tables"] if t["zone_from"] == "inferred"]
    assert all(t["evidence"]["aligned_rows"] > 0 for t in inferred)


def test_rerun_is_byte_identical(audited: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = audited
    dedupe(AuditPaths(out).work, tmp_path)
    digest = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (AuditPaths(out).calls, AuditPaths(tmp_path).calls)
    ]
    assert digest[0] == digest[1]
