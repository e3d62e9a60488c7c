"""An audit folder made before recording was inferred from a facility's practice (issue 11)
can still have its report re-rendered: nothing is inferred, and the report says so."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pyarrow.parquet as pq

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.api import report
from privguard.internals.common.classes import INFERRED_BASIS
from test_report_fixture import build_audit_out

# What findings wrote before issue 11: the flags file's columns and the summary's keys.
OLD_FLAG_COLUMNS = ["call_id", "registered_at_call", "registry_violation"]
NEW_SUMMARY_KEYS = (
    "privileged_calls_recorded_shown",
    "privileged_calls_recorded_inferred",
    "registry_violations_shown",
    "registry_violations_inferred",
    "recording_practice",
)


def _older_audit(root: Path) -> tuple[dict[str, Path], dict[str, object]]:
    """The fixture audit folder, its flags file and summary written as findings did then."""
    paths = build_audit_out(root)
    p = AuditPaths(paths["out"])
    pq.write_table(pq.read_table(p.flags, columns=OLD_FLAG_COLUMNS), p.flags)
    summary = json.loads(p.summary.read_text())
    for key in NEW_SUMMARY_KEYS:
        summary.pop(key, None)
    p.summary.write_text(json.dumps(summary, indent=2))
    return paths, summary


def test_an_older_audit_is_re_rendered_with_nothing_inferred(tmp_path: Path) -> None:
    paths, summary = _older_audit(tmp_path)
    out = paths["out"]
    result = report(out, inputs=[paths["dump"]], parameters={})
    # The figures are the records' own, and agree with the older summary.
    assert result.figures["recorded"] == summary["privileged_calls_recorded"]
    assert result.figures["violations"] == summary["registry_violations"]
    # The report says why nothing is inferred, naming the file and the remedy.
    (note,) = [w for w in result.warnings if "earlier privguard" in w]
    assert "restricted/work/privileged_flags.parquet" in note and "recorded_from" in note
    assert "run the audit again" in note
    assert html.escape(note) in AuditPaths(out).report_html.read_text()
    # Each call's recording source is the records' (never the facility's practice), with
    # the words a current audit uses, and the calls table decides which.
    calls = pq.read_table(AuditPaths(out).calls, columns=["call_id", "recorded", "recording_ref"])
    by_id = {r["call_id"]: r for r in calls.to_pylist()}
    with open(AuditPaths(out).exports / "privileged_calls.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["privileged_calls"]
    for r in rows:
        call = by_id[int(r["call_id"])]
        expected = "recording reference" if call["recording_ref"] else "recorded flag"
        assert r["recorded_from"] == expected != INFERRED_BASIS


def test_a_current_audit_has_no_such_note(tmp_path: Path) -> None:
    paths = build_audit_out(tmp_path)
    result = report(paths["out"], inputs=[paths["dump"]], parameters={})
    assert not [w for w in result.warnings if "earlier privguard" in w]
