"""The long run of the readers' fuzz test: random CSV-like files for a given time.

Usage: python bench/fuzz_readers.py [--minutes M] [--seed S] [--keep DIR]

Prints runs, clean errors by kind, tracebacks and accounting mismatches (both must be 0),
rows not numbered exactly 1..rows_read and tables whose positions are approximate (both
reported apart) and the seed; every such case is saved under --keep with what it found.
File i is made from random.Random(f"{seed}:{i}"), so a run is replayed from its seed.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz_helpers import make_case, run_case


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=Path("build/fuzz"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    run_seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    end = time.monotonic() + args.minutes * 60
    counts: collections.Counter[str] = collections.Counter()
    i = 0
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < end:
            case = make_case(random.Random(f"{run_seed}:{i}"))
            outcome = run_case(case, Path(tmp) / "run")
            counts["runs"] += 1
            if outcome.error:
                counts[f"clean error: {outcome.error}"] += 1
            found = [
                ("traceback", outcome.traceback),
                ("mismatch", outcome.mismatch),
                ("position", outcome.position),
                ("approximate", outcome.approximate),
            ]
            for kind, text in found:
                if text:
                    counts[kind] += 1
                    keep = args.keep / f"{run_seed}-{i}"
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / case.name).write_bytes(case.data)
                    (keep / f"{kind}.txt").write_text(f"skip={case.skip}\n{text}")
            i += 1
    result = {
        "seed": run_seed,
        "minutes": args.minutes,
        "runs": counts["runs"],
        "tracebacks": counts["traceback"],
        "mismatches": counts["mismatch"],
        # rows not numbered exactly 1..rows_read (counts right): see tests/fuzz_helpers.py
        "position_mismatches": counts["position"],
        # tables whose rejects DuckDB placed inconsistently, put in order and said so
        "positions_approximate": counts["approximate"],
        "clean_errors": {k[13:]: v for k, v in sorted(counts.items()) if k.startswith("clean")},
    }
    print(json.dumps(result, indent=2))
    return 1 if result["tracebacks"] or result["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
