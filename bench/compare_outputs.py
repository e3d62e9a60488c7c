"""Compare two audit output folders file by file (SHA-256), as the layout refactors require.

    python bench/compare_outputs.py BEFORE_OUT AFTER_OUT

Exit 0 when every sealed file is byte-identical; otherwise lists what differs. Timings,
scratch files and the manifest's signature are ignored, as the manifest seals none of
them. Both runs must share one case key (the folders' parents hold the same case.key)
and spell their inputs the same way.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

# What the manifest lists as unsealed: timings differ between identical runs, scratch is
# scratch, and manifest.sig is signed with the case's own signing key (`privguard verify`
# checks it; two cases never share one), so only the manifest it signs is compared.
IGNORED_FILES = {"timings.json", "manifest.sig"}
IGNORED_DIRS = ("work/tmp/", "restricted/work/tmp/")


def digests(out: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file an audit seals under ``out``."""
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if path.name in IGNORED_FILES or rel.startswith(IGNORED_DIRS):
            continue
        with open(path, "rb") as fh:
            found[rel] = hashlib.file_digest(fh, "sha256").hexdigest()
    return found


def compare(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Every difference between two digest maps, one line each."""
    lines = [f"only before: {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"only after:  {p}" for p in sorted(after.keys() - before.keys())]
    lines += [
        f"differs:     {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]
    ]
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    before, after = (digests(Path(a)) for a in argv)
    problems = compare(before, after)
    for line in problems:
        print(line)
    print(f"{len(before)} files before, {len(after)} after, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
