"""Chain of custody: the manifest, byte-identical reruns, and verify catching one byte."""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from privguard.errors import InputError, IntegrityError
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.api import report
from privguard.internals.audit.report.custody import verify
from test_report_fixture import build_audit_out, run_report

_REF: Path | None = None


def _reference() -> Path:
    """One finished audit folder, built once per session (its file list parametrizes tests)."""
    global _REF
    if _REF is None:
        root = Path(tempfile.mkdtemp(prefix="pg-custody-"))
        atexit.register(shutil.rmtree, root, True)
        run_report(root)
        _REF = root
    return _REF


def _manifest_files() -> list[str]:
    manifest = json.loads((_reference() / "out" / "manifest.json").read_text())
    return [f"input:{e['path']}" for e in manifest["inputs"]] + [
        f"output:{e['path']}" for e in manifest["outputs"]
    ]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "case"
    shutil.copytree(_reference(), root)
    return root


def _hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_manifest_lists_everything_but_the_key() -> None:
    out = _reference() / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {e["path"] for e in manifest["outputs"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json", "manifest.sig"}
    assert {
        "shareable/report.html",
        "shareable/report.pdf",
        "shareable/exports/findings.db",
        "restricted/calls.parquet",
        "README.txt",
    } <= listed
    assert any(p.startswith("shareable/letters/") for p in listed)
    assert {e["path"] for e in manifest["inputs"]} >= {"dump/site_a/calls_2013.csv", "registry.csv"}
    assert {"python", "privguard", "duckdb", "pyarrow", "fpdf2"} <= set(manifest["software"])
    assert manifest["parameters"]["command"][0] == "audit"
    for name in ("case.key", "case-signing.key"):
        key = (_reference() / name).read_text().strip()
        assert key not in (out / "manifest.json").read_text()
        assert key not in (out / "manifest.sig").read_text()


def test_verify_passes_on_untouched_folder() -> None:
    result = verify(_reference() / "out")
    assert result.ok and result.inputs_checked == 4 and result.outputs_checked > 20


@pytest.mark.parametrize("which", _manifest_files())
def test_one_changed_byte_is_detected(tmp_path: Path, which: str) -> None:
    root = _copy(tmp_path)
    kind, rel = which.split(":", 1)
    path = (root / rel) if kind == "input" else (root / "out" / rel)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as info:
        verify(root / "out")
    assert info.value.exit_code == 3
    assert len(info.value.problems) == 1
    assert rel in info.value.problems[0] and "changed" in info.value.problems[0]


def test_missing_and_extra_files_are_all_listed(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (AuditPaths(root / "out").report_pdf).unlink()
    (root / "dump" / "site_b" / "export.xlsx").unlink()
    (AuditPaths(root / "out").letters / "planted.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(IntegrityError) as info:
        verify(root / "out")
    text = info.value.render()
    assert "missing output: shareable/report.pdf" in text
    assert "missing input: dump/site_b/export.xlsx" in text
    assert "extra output not in the manifest: shareable/letters/planted.pdf" in text
    assert len(info.value.problems) == 3


def test_missing_manifest_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        verify(tmp_path)


def test_rerun_in_place_is_byte_identical() -> None:
    root = Path(tempfile.mkdtemp(prefix="pg-rerun-"))
    try:
        paths, _ = run_report(root)
        first = _hashes(paths["out"])
        report(paths["out"], inputs=[paths["dump"], paths["registry"]],
               parameters={"command": ["audit", "dump", "--out", "out"], "settings": {}})  # fmt: skip
        assert _hashes(paths["out"]) == first
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_two_case_folders_same_key_identical_hashes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    b.mkdir()
    shutil.copy(_reference() / "case.key", b / "case.key")
    # Ed25519 is deterministic: the same signing key gives the same manifest.sig too.
    shutil.copy(_reference() / "case-signing.key", b / "case-signing.key")
    shutil.copytree(_reference(), a)
    paths_b, _ = run_report(b)
    assert _hashes(paths_b["out"]) == _hashes(a / "out")


def test_other_key_changes_pseudonyms_only(tmp_path: Path) -> None:
    paths, _ = run_report(tmp_path)  # a fresh key
    mine, ref = _hashes(paths["out"]), _hashes(_reference() / "out")
    assert mine["restricted/calls.parquet"] == ref["restricted/calls.parquet"]
    assert (
        mine["shareable/exports/attorney_numbers.csv"]
        == ref["shareable/exports/attorney_numbers.csv"]
    )
    assert (
        mine["shareable/exports/privileged_calls.csv"]
        != ref["shareable/exports/privileged_calls.csv"]
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from privguard.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_cli_verify_ok_and_tampered(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    ok = _cli("verify", str(root / "out"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 4 input file(s)")
    digest = hashlib.sha256((root / "out" / "manifest.json").read_bytes()).hexdigest()
    assert f"Manifest SHA-256: {digest}" in ok.stdout
    with open(AuditPaths(root / "out").summary, "a") as fh:
        fh.write(" ")
    bad = _cli("verify", str(root / "out"))
    assert bad.returncode == 3
    assert "changed output: shareable/summary.json" in bad.stderr
    assert bad.stderr.startswith("Error: ")


def test_cli_verify_without_manifest(tmp_path: Path) -> None:
    res = _cli("verify", str(tmp_path))
    assert res.returncode == 2
    assert "no manifest.json" in res.stderr and "Fix:" in res.stderr


def test_report_needs_the_audit_outputs(tmp_path: Path) -> None:
    paths = build_audit_out(tmp_path)
    (AuditPaths(paths["out"]).numbers).unlink()
    with pytest.raises(InputError) as info:
        report(paths["out"], inputs=[], parameters={})
    assert "numbers.parquet" in info.value.render()
