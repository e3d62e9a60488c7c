"""Every input of an audit is checked before any stage runs; every problem at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from privguard.errors import InputError
from privguard.internals.audit.preflight import check_inputs


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "case.toml").write_text('[case]\ndate = "soon"\n[colour]\nx = 1\n')
    (tmp_path / "lists").mkdir()
    (tmp_path / "dnr.csv").write_text("name,added\nJane Roe,2013-01-01\n")
    (tmp_path / "review.csv").write_text("number,decision\n+15125550101,maybe\n")
    (tmp_path / "out").write_text("a file, not a folder")
    return {"case": tmp_path / "case.toml", "lists": tmp_path / "lists",
            "dnr": tmp_path / "dnr.csv", "review": tmp_path / "review.csv",
            "out": tmp_path / "out", "dump": tmp_path / "no-dump"}  # fmt: skip


def test_every_bad_input_is_reported_at_once_before_anything_runs(tmp_path: Path) -> None:
    p = _bad_inputs(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "privguard", "audit", str(p["dump"]), "--out", str(p["out"]),
         "--config", str(p["case"]), "--directory", str(p["lists"]), "--registry", str(p["dnr"]),
         "--labels", str(p["review"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert "problems with the inputs; nothing was run" in err
    for want in (
        f"the case file {p['case']}: unknown section [colour]",
        f"the case file {p['case']}: [case] date 'soon' is not a date",
        f"the dump folder {p['dump']} does not exist",
        f"the directory file {p['lists']} is a folder: give the file inside it",
        f"the registry file {p['dnr']}",
        f"the labels file {p['review']}",
        "'maybe' is neither 'confirm' nor 'reject'",
        f"the output folder {p['out']} is an existing file",
    ):
        assert want in err, want
    assert "Traceback" not in err
    assert p["out"].read_text() == "a file, not a folder"  # nothing was written


def test_a_clean_set_of_inputs_passes_and_returns_the_settings(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "calls.csv").write_text("x\n1\n")
    (tmp_path / "bar.csv").write_text("name,phone\nJane Roe,+1 512 555 0101\n")
    settings = check_inputs(tmp_path / "dump", tmp_path / "out", directories=[tmp_path / "bar.csv"])
    assert settings.case.name is None
    assert not (tmp_path / "out").exists()


def test_an_empty_dump_and_a_full_foreign_out_folder_are_named(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(InputError) as err:
        check_inputs(tmp_path / "dump", tmp_path / "out")
    assert err.value.problems == [
        f"the dump folder {tmp_path / 'dump'} is empty, so no table of calls was read from the "
        "dump: copy the call records into it",
        f"the output folder {tmp_path / 'out'} is not empty and holds no privguard audit (1 "
        "file(s) in it): give --out a new or empty folder, or pass --overwrite to write "
        "privguard's files into it (no other file is deleted)",
    ]
