"""Audit outputs stay byte-identical unless a change means to alter them.

A small synthetic leak is audited with a fixed case key and inputs named relative to the
working folder (so paths are spelled the same everywhere), and the SHA-256 of every sealed
output is compared with tests/golden/audit_small.json. A refactor must leave them all
equal. A change that means to alter outputs regenerates the file on purpose with
`make golden`, and the diff of the JSON shows reviewers exactly which outputs moved.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import privguard
from privguard.internals.audit.report.custody import software_versions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from compare_outputs import compare, digests  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "audit_small.json"
PARAMS = {"calls": 3000, "seed": 7}
KEY = "5eed" * 16  # a fixed case key: pseudonyms are part of the outputs
SIGNING_KEY = "5167" * 16  # a fixed signing key: the report's cover names its public half


def _audit(work: Path) -> dict[str, str]:
    privguard.synth(work / "leak", **PARAMS)
    (work / "case.key").write_text(KEY + "\n", encoding="ascii")
    (work / "case-signing.key").write_text(SIGNING_KEY + "\n", encoding="ascii")
    privguard.audit(
        Path("leak/dump"),
        Path("out"),
        directories=[
            Path("leak/directory/bar_directory.csv"),
            Path("leak/directory/public_defenders.xlsx"),
        ],
        registries=[Path("leak/registry/do_not_record.csv")],
    )
    return digests(work / "out")


def test_outputs_match_the_golden_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = _audit(tmp_path)
    versions = software_versions()
    if os.environ.get("PRIVGUARD_UPDATE_GOLDEN"):
        GOLDEN.write_text(
            json.dumps({"params": PARAMS, "versions": versions, "files": got}, indent=1) + "\n"
        )
    golden = json.loads(GOLDEN.read_text())
    if golden["versions"] != versions:
        # Library versions shape bytes (Parquet writer, PDF producer): only compare like
        # with like, and say how to bring the digests up to date.
        pytest.skip(f"golden made with {golden['versions']}, now {versions}: run make golden")
    assert compare(golden["files"], got) == []


def test_the_comparison_can_fail(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "summary.json").write_text("{}")
    (tmp_path / "a" / "timings.json").write_text("1")
    before = digests(tmp_path / "a")
    (tmp_path / "a" / "summary.json").write_text("{ }")
    (tmp_path / "a" / "timings.json").write_text("2")
    (tmp_path / "a" / "new.csv").write_text("x")
    assert compare(before, digests(tmp_path / "a")) == [
        "only after:  new.csv",
        "differs:     summary.json",
    ]
