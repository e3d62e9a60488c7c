"""The end of `privguard audit`: the summary's lines and --open, on a made-up result."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from privguard.cli import cli
from privguard.cli._audit import summary_lines
from privguard.internals.audit.pipeline import AuditResult


def _result(tmp_path: Path, **summary: object) -> AuditResult:
    out = tmp_path / "out"
    letters = out / "shareable" / "letters"
    return AuditResult(
        out=out,
        summary={"headline": "12 recorded calls to 2 attorney numbers", "rows_rejected": 1,
                 "rows_set_aside": 3, **summary},
        report_html=out / "shareable" / "report.html",
        report_pdf=out / "shareable" / "report.pdf",
        public_key="ab" * 32,
        letters=[letters / "jane-roe.pdf"],
        exports=out / "shareable" / "exports",
        manifest=out / "manifest.json",
        manifest_sha256="cd" * 32,
        key_file=tmp_path / "case.key",
        signing_key_file=tmp_path / "case-signing.key",
    )  # fmt: skip


def test_summary_reads_as_sentences_with_right_plurals(tmp_path: Path) -> None:
    lines = summary_lines(_result(tmp_path, unread_files=[{"file": "x.zip"}]))
    assert lines[0] == "12 recorded calls to 2 attorney numbers"
    text = "\n".join(lines)
    assert "Letters:     1 letter to attorneys and offices in" in text
    assert (
        "Set aside:   1 unreadable row (restricted/work/rejects.csv), 3 rows that are not" in text
    )
    assert "Not read:    1 file (listed below)" in text
    assert f"Manifest:    {tmp_path / 'out' / 'manifest.json'}, SHA-256 {'cd' * 32}" in text
    assert f"case key (pseudonyms) {tmp_path / 'case.key'}" in text


def test_no_letters_without_lists_says_why(tmp_path: Path) -> None:
    result = _result(tmp_path)
    result.letters = []
    lines = summary_lines(result, lists_given=False)
    assert (
        "Letters:     none: no recorded call to an attorney number (no attorney number could "
        "be identified without a list)" in lines
    )


def test_open_launches_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import privguard.internals.audit.pipeline as pipeline

    launched: list[str] = []
    monkeypatch.setattr(pipeline, "audit", lambda *a, **k: _result(tmp_path))
    monkeypatch.setattr(click, "launch", lambda url, **k: launched.append(url) or 0)
    (tmp_path / "dump").mkdir()
    args = ["audit", str(tmp_path / "dump"), "--out", str(tmp_path / "out"), "--registry", "r.csv"]
    done = CliRunner().invoke(cli, [*args, "--open"])
    assert done.exit_code == 0, done.output
    assert launched == [str(tmp_path / "out" / "shareable" / "report.html")]
    launched.clear()
    assert CliRunner().invoke(cli, args).exit_code == 0 and launched == []
