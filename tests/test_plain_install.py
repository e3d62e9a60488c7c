"""A plain install (``pip install privguard``, no extras) audits with DuckDB.

pyspark and sqlglot are the optional ``privguard[spark]`` dependencies. ``make demo``
installs only ``.[dev]``, and it broke when the audit's settings started importing the
Spark executor (and so sqlglot) on every run. Here both modules are made unimportable in
a fresh interpreter, as on a machine without the extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOCKED = "import sys; sys.modules['sqlglot'] = None; sys.modules['pyspark'] = None"


def _privguard(*args: str | Path) -> subprocess.CompletedProcess[str]:
    code = (
        f"{BLOCKED}; import runpy; sys.argv = ['privguard', *sys.argv[1:]]; "
        "runpy.run_module('privguard', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_an_audit_runs_without_the_spark_extra_and_spark_says_what_to_install(
    tmp_path: Path,
) -> None:
    made = _privguard("synth", tmp_path / "leak", "--calls", "300", "--seed", "3")
    assert made.returncode == 0, made.stderr
    audit = _privguard("audit", tmp_path / "leak" / "dump", "--out", tmp_path / "out")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert (tmp_path / "out" / "shareable" / "summary.json").is_file()

    spark = _privguard(
        "audit", tmp_path / "leak" / "dump", "--out", tmp_path / "out2", "--engine", "spark"
    )
    assert spark.returncode != 0
    assert "pip install 'privguard[spark]'" in spark.stderr + spark.stdout
    assert "Traceback" not in spark.stderr + spark.stdout
