"""Every CSV an audit writes is formula-safe (issue 12, item 5), checked end to end."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

from privguard.internals.audit.sql import DANGEROUS

EVIL = ('=HYPERLINK("http://x")', "@SUM(A1)")


def _poison(path: Path, column: str) -> None:
    """Give every attorney in a list one of the two hostile names."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):
        row[column] = EVIL[i % 2]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_hostile_attorney_names_are_neutralized_in_every_csv(
    tmp_path: Path, synthetic_leak: Path
) -> None:
    leak = tmp_path / "leak"
    shutil.copytree(synthetic_leak, leak)  # the lists are poisoned below
    bar = leak / "directory" / "bar_directory.csv"
    dnr = leak / "registry" / "do_not_record.csv"
    _poison(bar, "name")
    _poison(dnr, "attorney_name")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "privguard", "audit", str(leak / "dump")]
    cmd += ["--directory", str(bar), "--registry", str(dnr), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p for p in out.rglob("*.csv") if "ingested" not in p.parts)
    names = {p.name for p in written}
    assert {"privileged_calls.csv", "attorney_numbers.csv", "review.csv"} <= names
    seen: dict[str, int] = {}
    for path in written:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(DANGEROUS), (path.relative_to(out), cell)
                    for evil in EVIL:
                        if cell == "'" + evil:
                            seen[path.name] = seen.get(path.name, 0) + 1
    # The names did reach the files (so the check above could fail), apostrophe first.
    assert seen.get("privileged_calls.csv") and seen.get("attorney_numbers.csv"), seen
