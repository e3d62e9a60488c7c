"""No input ends in a Python traceback (issue 12, item 2): each reproduction runs the real
command in a subprocess and reads what a person would read."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

CSV = b"facility,inmate,dialed_number,start,duration\nF1,A1,+1 212 555 1000,2020-01-01 10:00,60\n"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
    )


def _clean(run: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert run.returncode == code, run.stderr
    assert "Error: " in run.stderr and "Fix: " in run.stderr, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


def _dump(tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.csv").write_bytes(CSV)
    return dump


def test_out_is_an_existing_file(tmp_path: Path) -> None:
    dump, afile = _dump(tmp_path), tmp_path / "afile"
    afile.write_text("a note\n")
    _clean(_cli("audit", str(dump), "--out", str(afile)), 2, str(afile))
    _clean(_cli("audit", str(dump), "--out", str(afile / "sub")), 2, "sub")
    _clean(_cli("ingest", str(dump), "--out", str(afile)), 2, "afile")
    assert afile.read_text() == "a note\n"


def test_500_nested_zips(tmp_path: Path) -> None:
    data, name = CSV, "calls.csv"
    for level in range(500):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / name).write_bytes(data)
    run = _cli("audit", str(dump), "--out", str(tmp_path / "out"))
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-2000:]
    assert run.returncode == 2, run.stderr[-2000:]
    assert "nested" in run.stderr and "Fix: " in run.stderr


def test_an_unexpected_error_is_a_message_with_a_fix(tmp_path: Path) -> None:
    """The last net: whatever escapes the library is still a message and an exit code."""
    script = (
        "import privguard.cli._synth as m\n"
        "def boom(*a, **k):\n    raise ValueError('x')\n"
        "m.synth.callback = boom\n"
        "from privguard.cli import main; main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    run = subprocess.run(
        [sys.executable, "-c", script, "synth", str(tmp_path / "x"), "--calls", "10"],
        capture_output=True,
        text=True,
        env=env,
    )
    _clean(run, 1, "ValueError", "report this as a bug")
