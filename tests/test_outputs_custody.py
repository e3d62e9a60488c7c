"""Issue 12 items 6-7: a signed manifest, a verify that a court can use, a CLI that never
destroys a person's files, the review loop end to end, workers that die with the audit."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import privguard
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.common.custody import sha256_file


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(privguard.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "privguard", *args],
        capture_output=True, text=True, check=False, cwd=cwd, env=env,
    )  # fmt: skip


def _lists(leak: Path) -> list[str]:
    return ["--directory", str(leak / "directory" / "bar_directory.csv"),
            "--registry", str(leak / "registry" / "do_not_record.csv")]  # fmt: skip


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """case/leak (a small synthetic leak) and case/out (its audit)."""
    root = tmp_path_factory.mktemp("case")
    privguard.synth(root / "leak", calls=2000, seed=3)  # has a candidate
    done = _cli("audit", str(root / "leak" / "dump"), *_lists(root / "leak"),
                "--out", str(root / "out"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Public key: " in done.stdout
    return root


def _copy(case: Path, tmp: Path) -> Path:
    shutil.copytree(case, tmp / "c", symlinks=True)
    return tmp / "c"


def _pub(case: Path) -> str:
    return str(json.loads((case / "out" / "manifest.sig").read_text())["public_key"])


def test_signing_key_is_outside_out_and_pinned_key_verifies(case: Path) -> None:
    assert (case / "case-signing.key").is_file()
    assert not list((case / "out").rglob("*.key"))
    ok = _cli("verify", str(case / "out"), "--key", _pub(case))
    assert ok.returncode == 0, ok.stderr
    assert "by the key you gave" in ok.stdout
    loose = _cli("verify", str(case / "out"))
    assert loose.returncode == 0 and "stored beside the outputs" in loose.stdout
    wrong = _cli("verify", str(case / "out"), "--key", "ab" * 32)
    assert wrong.returncode == 3 and "another key" in wrong.stderr


def test_rewritten_hash_in_manifest_breaks_the_signature(case: Path, tmp_path: Path) -> None:
    c = _copy(case, tmp_path)
    summary = AuditPaths(c / "out").summary
    summary.write_text(summary.read_text().replace('"calls"', '"calls" ', 1))
    manifest = json.loads((c / "out" / "manifest.json").read_text())
    for e in manifest["outputs"]:
        if e["path"] == "shareable/summary.json":
            e["sha256"] = sha256_file(summary)
            e["bytes"] = summary.stat().st_size
    (c / "out" / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    bad = _cli("verify", str(c / "out"))
    assert bad.returncode == 3 and "does not match its signature" in bad.stderr


@pytest.mark.parametrize(
    "text", ["", "{}", '{"format": "privguard-manifest/2", "inputs": [], "outputs": []}',
             '{"format": "privguard-manifest/2", "inputs": [], "outputs": [{"path": 3}]}', "[1]"],
)  # fmt: skip
def test_empty_or_malformed_manifest_is_refused_cleanly(
    case: Path, tmp_path: Path, text: str
) -> None:
    c = _copy(case, tmp_path)
    (c / "out" / "manifest.json").write_text(text)
    bad = _cli("verify", str(c / "out"))
    assert bad.returncode == 3, bad.stderr
    assert "Traceback" not in bad.stderr and "manifest.json is damaged" in bad.stderr


def test_file_added_to_the_dump_is_noticed_litter_is_not(case: Path, tmp_path: Path) -> None:
    c = _copy(case, tmp_path)
    (c / "leak" / "dump" / "late_calls.csv").write_text("a,b\n1,2\n")
    (c / "leak" / "dump" / ".DS_Store").write_bytes(b"\0\1")
    (c / "out" / "shareable" / "exports" / "~$findings.xlsx").write_bytes(b"lock")
    (c / "out" / "Thumbs.db").write_bytes(b"x")
    bad = _cli("verify", str(c / "out"))
    assert bad.returncode == 3
    assert "added to the input folder since the audit: dump/late_calls.csv" in bad.stderr
    assert ".DS_Store" not in bad.stderr and "~$" not in bad.stderr
    (c / "leak" / "dump" / "late_calls.csv").unlink()
    ok = _cli("verify", str(c / "out"))
    assert ok.returncode == 0, ok.stderr
    assert "Ignored" in ok.stdout and "Thumbs.db" in ok.stdout and "dump/.DS_Store" in ok.stdout


def test_outputs_only_and_moved_inputs(case: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "out"
    shutil.copytree(case / "out", copy)
    whole = _cli("verify", str(copy))
    assert whole.returncode == 3 and "missing input" in whole.stderr
    assert "--outputs-only" in whole.stderr
    only = _cli("verify", str(copy), "--outputs-only", "--key", _pub(case))
    assert only.returncode == 0, only.stderr
    assert "outputs only" in only.stdout
    moved = tmp_path / "moved"
    shutil.copytree(case / "leak", moved)
    found = _cli("verify", str(copy), "--inputs", str(moved))
    assert found.returncode == 0, found.stderr
    (moved / "dump" / "extra.csv").write_text("x\n")
    assert "dump/extra.csv" in _cli("verify", str(copy), "--inputs", str(moved)).stderr


def test_manifest_does_not_depend_on_path_spelling(case: Path, tmp_path: Path) -> None:
    leak = tmp_path / "leak"
    shutil.copytree(case / "leak", leak)
    shutil.copy(case / "case.key", tmp_path / "case.key")
    shutil.copy(case / "case-signing.key", tmp_path / "case-signing.key")
    manifests = []
    for i, dump in enumerate(["./leak/dump", "leak/dump/", str(leak / "dump")]):
        out = f"out{i}"
        done = _cli("audit", dump, *_lists(Path("leak")), "--out", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        text = (tmp_path / out / "manifest.json").read_text()
        manifests.append(json.loads(text)["inputs"])
        manifests[-1].append(json.loads(text)["parameters"])
        outputs = json.loads(text)["outputs"]
        manifests[-1].append(outputs)
    assert manifests[0] == manifests[1] == manifests[2]


def test_out_that_is_a_file_or_a_foreign_folder_is_refused(case: Path, tmp_path: Path) -> None:
    dump = str(case / "leak" / "dump")
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    bad = _cli("audit", dump, "--out", str(target))
    assert bad.returncode == 2 and "existing file" in bad.stderr and "Traceback" not in bad.stderr
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "brief.docx").write_text("my brief")
    bad = _cli("audit", dump, "--out", str(folder))
    assert bad.returncode == 2 and "--overwrite" in bad.stderr and "empty folder" in bad.stderr
    assert (folder / "brief.docx").read_text() == "my brief"
    ok = _cli("audit", dump, "--out", str(folder), "--overwrite")
    assert ok.returncode == 0, ok.stderr
    assert (folder / "brief.docx").read_text() == "my brief"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "brief.docx" in manifest["foreign"]
    assert "brief.docx" not in {e["path"] for e in manifest["outputs"]}


def test_rerun_keeps_a_persons_notes_and_does_not_seal_them(case: Path, tmp_path: Path) -> None:
    c = _copy(case, tmp_path)
    out = c / "out"
    note = AuditPaths(out).exports / "my-notes.txt"
    draft = AuditPaths(out).letters / "draft-to-judge.docx"
    note.write_text("call the PD office")
    draft.write_text("Your Honor,")
    done = _cli("audit", str(c / "leak" / "dump"), *_lists(c / "leak"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert note.read_text() == "call the PD office" and draft.read_text() == "Your Honor,"
    manifest = json.loads((out / "manifest.json").read_text())
    sealed = {e["path"] for e in manifest["outputs"]}
    assert "shareable/exports/my-notes.txt" not in sealed
    assert "shareable/exports/my-notes.txt" in manifest["foreign"]
    ok = _cli("verify", str(out))
    assert ok.returncode == 0, ok.stderr and "my-notes.txt" in ok.stdout


def test_review_loop_as_documented(case: Path, tmp_path: Path) -> None:
    c = _copy(case, tmp_path)
    out = c / "out"
    shown = _cli("review", str(out))
    assert shown.returncode == 0, shown.stderr
    sheet = AuditPaths(out).review
    assert f"--labels {sheet} --out {out}" in shown.stdout
    with sheet.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "the synthetic leak has candidates to review"
    # The audit pseudonymizes: the sheet names each number as the report does.
    assert all(r["Pseudonym in the report"].startswith("phone-") for r in rows)
    report = AuditPaths(out).report_html.read_text(encoding="utf-8")
    assert rows[0]["Pseudonym in the report"] in report
    rows[0]["Decision"] = "confirm"
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    again = _cli("audit", str(c / "leak" / "dump"), *_lists(c / "leak"),
                 "--labels", str(sheet), "--out", str(out))  # fmt: skip
    assert again.returncode == 0, again.stderr
    numbers = pq.read_table(AuditPaths(out).numbers).to_pylist()
    number = rows[0]["Number"].lstrip("'")
    assert [n["classification"] for n in numbers if n["number"] == number] == ["confirmed"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["labels"]["path"].endswith("restricted/work/labels/review.csv")
    assert _cli("verify", str(out)).returncode == 0


def test_letter_worker_dies_with_its_parent(tmp_path: Path) -> None:
    parent = (
        "import subprocess, sys, os, time\n"
        "code = ('import time, os; from privguard.internals.audit.report.parallel import "
        "die_with_parent; die_with_parent(%d); print(\\'armed\\', flush=True); time.sleep(60)'"
        " % os.getpid())\n"
        "child = subprocess.Popen([sys.executable, '-c', code])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(privguard.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    # The child says when its parent-death signal is armed (it shares this pipe), so a
    # slow import on a loaded machine cannot make the test kill the parent too early.
    assert proc.stdout.readline().strip() == b"armed"
    os.kill(child, 0)  # alive while the parent lives
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 60  # generous: it returns as soon as the child is gone
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the worker outlived its parent")
