"""The whole pipeline: synth -> audit -> verify, through the library and the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import privguard
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.schema import CALL_COLUMNS, SUMMARY_INT_KEYS


@pytest.fixture(scope="module")
def leak(synthetic_leak: Path) -> Path:
    return synthetic_leak


def _audit(leak: Path, out: Path) -> privguard.AuditResult:
    return privguard.audit(
        leak / "dump",
        out,
        directories=[
            leak / "directory" / "bar_directory.csv",
            leak / "directory" / "public_defenders.xlsx",
        ],
        registries=[leak / "registry" / "do_not_record.csv"],
    )


@pytest.fixture(scope="module")
def audited(leak: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    _audit(leak, out)
    return out


def test_summary_has_every_key_and_counts_add_up(audited: Path, leak: Path) -> None:
    summary = json.loads((AuditPaths(audited).summary).read_text())
    for key in SUMMARY_INT_KEYS:
        assert isinstance(summary[key], int), key
    truth_rows = pq.read_table(leak / "truth" / "rows.parquet").num_rows
    assert summary["rows_read"] == truth_rows
    calls = pq.read_table(AuditPaths(audited).calls)
    assert summary["calls"] == calls.num_rows
    assert set(CALL_COLUMNS) <= set(calls.column_names)
    # Every accepted row is in exactly one call's sources.
    sources = sum(len(s) for s in calls.column("sources").to_pylist())
    assert sources == summary["rows_read"] - summary["rows_rejected"]
    assert summary["privileged_calls_recorded"] <= summary["privileged_calls"]
    assert summary["registry_violations"] <= summary["privileged_calls_recorded"]
    assert summary["attorney_numbers"] > 0 and summary["registry_violations"] > 0


def test_rerun_is_byte_identical_and_verifies(audited: Path, leak: Path) -> None:
    # A sibling folder shares the case key (kept beside the output), as a re-run in a case does.
    again = audited.parent / (audited.name + "-again")
    _audit(leak, again)
    first = json.loads((audited / "manifest.json").read_text())
    second = json.loads((again / "manifest.json").read_text())
    assert first["outputs"] == second["outputs"]
    privguard.verify(again)


def test_cli_audit_prints_headline_and_report(leak: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "privguard",
            "audit",
            str(leak / "dump"),
            "--out",
            str(out),
            "--registry",
            str(leak / "registry" / "do_not_record.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    paths = AuditPaths(out)
    summary = json.loads(paths.summary.read_text())
    lines = proc.stdout.splitlines()
    # The end-of-run summary: headline first, then every output and what to open first.
    assert lines[0] == summary["headline"]
    assert (
        f"Open first:  {paths.report_html}  (the same report for print: {paths.report_pdf})"
        in lines
    )
    letters = sorted(paths.letters.glob("*.pdf"))
    assert (
        letters
        and f"Letters:     {len(letters):,} letters to attorneys and offices in {paths.letters}/ (each with a CSV of all its calls)"
        in lines
    )
    assert f"Exports:     {paths.exports}/ (CSV, XLSX, Parquet, findings.db)" in lines
    rejected, junk = summary["rows_rejected"], summary["rows_set_aside"]
    assert any(
        ln.startswith(f"Set aside:   {rejected:,} unreadable row") and f"{junk:,} row" in ln
        for ln in lines
    )
    assert "Not read:    none; every file given was read" in lines
    sha = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    assert f"Manifest:    {out / 'manifest.json'}, SHA-256 {sha}" in lines
    pub = json.loads((out / "manifest.sig").read_text())["public_key"]
    assert any(ln.startswith(f"Signed:      Ed25519. Public key: {pub}") for ln in lines)
    keys = f"Keys:        case key (pseudonyms) {tmp_path / 'case.key'}; signing key {tmp_path / 'case-signing.key'}: keep them with the case, never share them"
    assert keys in lines  # fmt: skip


def test_cli_audit_missing_inputs_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "privguard",
            "audit",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
            "--registry",
            str(tmp_path / "missing.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "the dump folder" in proc.stderr and "missing.csv" in proc.stderr
    assert "Fix:" in proc.stderr


def test_audit_dedupes_against_truth(audited: Path, leak: Path) -> None:
    """Copies of one call across tables, formats, clocks and account spellings become one call."""
    ev = privguard.evaluate(audited, leak / "truth")
    assert ev.f1 >= 0.999, (ev.precision, ev.recall)
    assert ev.rows_unknown == 0 and ev.rows_missing == 0
    assert abs(ev.calls_out - ev.true_calls) <= ev.true_calls * 0.001


def test_rerun_in_place_drops_stale_outputs(leak: Path, tmp_path: Path) -> None:
    """A file the earlier run wrote but this one does not must not be sealed again."""
    out = tmp_path / "case" / "out"
    _audit(leak, out)
    stale = AuditPaths(out).letters / "stale-letter.pdf"
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"].append(
        {"path": "shareable/letters/stale-letter.pdf", "sha256": "0", "bytes": 1}
    )
    (out / "manifest.json").write_text(json.dumps(manifest))
    stale.write_bytes(b"%PDF-old")
    note = out / "notes-by-the-case-team.txt"
    note.write_text("keep me")
    _audit(leak, out)
    assert not stale.exists()
    assert note.read_text() == "keep me"
    sealed = json.loads((out / "manifest.json").read_text())
    paths = {e["path"] for e in sealed["outputs"]}
    assert "shareable/letters/stale-letter.pdf" not in paths
    # The team's note is named, never sealed as an audit output.
    assert "notes-by-the-case-team.txt" not in paths
    assert sealed["foreign"] == ["notes-by-the-case-team.txt"]
    timings = json.loads((out / "timings.json").read_text())
    assert timings[0]["stage"] == "ingest" and timings[0]["extra"]["rows"] > 0
