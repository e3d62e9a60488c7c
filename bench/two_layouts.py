"""A plain CSV dump where every call is stored twice, in two layouts (issue #21), with truth.

Run on purpose, not part of the tests:

    .venv/bin/python bench/two_layouts.py --calls 1000000 --out build/two_layouts
    .venv/bin/privguard audit build/two_layouts/dump --out build/two_layouts/audit
    .venv/bin/python bench/two_layouts.py --check build/two_layouts
    # the high-cardinality shape: nearly every call to a number of its own
    .venv/bin/python bench/two_layouts.py --calls 500000 --calls-per-number 0.05 --out build/hc

Writes ``OUT/dump/billing.csv`` (numbers as ``(AAA) BBB-CCCC``) and
``OUT/dump/recordings.csv`` (other column names, rows shuffled, numbers as
``+1AAABBBCCCC``): the same N calls in each. About 2 % of the calls go to numbers that
fail North American validation (an N11 area code or exchange, an area code or exchange
starting with 0 or 1). ``OUT/truth.json`` holds the true number of calls, of calls to
invalid numbers and their reasons, so an audit can be checked with ``--check``.

Calls to one (facility, number) are hours apart, so no two true calls can be taken for
copies of one call: a correct dedupe finds exactly N calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from privguard.internals.audit.paths import AuditPaths

FACILITIES = ("TX07", "TX12", "CA03", "FL21", "NY09")
# Reason (as number_status words) -> how to spoil a valid area code / exchange.
INVALID = (
    "area code is an N11 service code",
    "exchange is an N11 service code",
    "area code starts with 0 or 1",
    "exchange starts with 0 or 1",
)
EPOCH = np.datetime64("2012-01-01T00:00:00", "s")


def _nxx(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid NANP 3-digit codes: 200-999, not N11."""
    codes = rng.integers(200, 1000, n)
    n11 = codes % 100 == 11
    codes[n11] += 1  # 211 -> 212 ...
    return codes


def generate(
    calls: int, seed: int = 21, invalid_share: float = 0.02, calls_per_number: float = 5.0
) -> dict[str, object]:
    """Columns of the true calls (numpy arrays) and the truth counts.

    ``calls_per_number`` sets the shape: 5 (the default) is a realistic dump; 0.05 draws
    from 20 times more numbers than calls, so nearly every call goes to a number of its
    own (the high-cardinality shape of issue #20)."""
    rng = np.random.default_rng(seed)
    n_numbers = max(1, int(calls / calls_per_number))
    area, exch = _nxx(rng, n_numbers), _nxx(rng, n_numbers)
    line = rng.integers(0, 10000, n_numbers)
    # Spoil about invalid_share of the numbers, one reason each.
    kind = np.full(n_numbers, -1)
    bad = rng.random(n_numbers) < invalid_share
    kind[bad] = rng.integers(0, len(INVALID), int(bad.sum()))
    area = np.where(kind == 0, rng.integers(2, 10, n_numbers) * 100 + 11, area)
    exch = np.where(kind == 1, rng.integers(2, 10, n_numbers) * 100 + 11, exch)
    area = np.where(kind == 2, rng.integers(0, 200, n_numbers), area)
    exch = np.where(kind == 3, rng.integers(0, 200, n_numbers), exch)
    # Each call: a number; calls of one number are 6 h apart (+ up to 1 h jitter).
    number = np.sort(rng.integers(0, n_numbers, calls))
    first = np.searchsorted(number, number, side="left")
    rank = np.arange(calls) - first
    offset = rng.integers(0, 2 * 365 * 86400, n_numbers)
    start = EPOCH + (offset[number] + rank * 6 * 3600 + rng.integers(0, 3600, calls)).astype(
        "timedelta64[s]"
    )
    cols = {
        "facility": np.asarray(FACILITIES)[rng.integers(0, len(FACILITIES), calls)],
        "account": rng.integers(1, 20001, calls),
        "area": area[number],
        "exch": exch[number],
        "line": line[number],
        "start": start,
        "duration": rng.integers(20, 900, calls),
        "completed": rng.random(calls) < 0.85,
        "recorded": rng.random(calls) < 0.9,
        "kind": kind[number],
    }
    reasons = {r: int((cols["kind"] == i).sum()) for i, r in enumerate(INVALID)}
    truth = {
        "calls": calls,
        "calls_to_invalid_numbers": int((cols["kind"] >= 0).sum()),
        "invalid_number_reasons": {k: v for k, v in reasons.items() if v},
        "seed": seed,
        "layouts": {"billing.csv": "(AAA) BBB-CCCC", "recordings.csv": "+1AAABBBCCCC"},
    }
    return {"cols": cols, "truth": truth}


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width)


def write(
    out: Path, calls: int, seed: int = 21, calls_per_number: float = 5.0
) -> dict[str, object]:
    """Write the two CSV layouts and truth.json under ``out``; returns the truth."""
    g = generate(calls, seed, calls_per_number=calls_per_number)
    c, truth = g["cols"], g["truth"]
    assert isinstance(c, dict) and isinstance(truth, dict)
    a, e, ln = _digits(c["area"], 3), _digits(c["exch"], 3), _digits(c["line"], 4)
    starts = np.datetime_as_string(c["start"], unit="s")
    starts = np.char.replace(starts, "T", " ")
    ids = np.arange(1, calls + 1)
    (out / "dump").mkdir(parents=True, exist_ok=True)
    billing = pa.table(
        {
            "call_id": ids,
            "facility": c["facility"],
            "inmate_account": c["account"],
            "dialed_number": np.char.add(
                np.char.add(np.char.add("(", a), np.char.add(") ", e)), np.char.add("-", ln)
            ),
            "start_utc": starts,
            "duration_s": c["duration"],
            "status": np.where(c["completed"], "completed", "refused"),
        }
    )
    pcsv.write_csv(billing, out / "dump" / "billing.csv")
    order = np.random.default_rng(seed + 1).permutation(calls)
    recordings = pa.table(
        {
            "seq": np.char.add("R", ids.astype(str))[order],
            "site": c["facility"][order],
            "account": c["account"][order],
            "phone": np.char.add(np.char.add("+1", a), np.char.add(e, ln))[order],
            "call_start_utc": starts[order],
            "seconds": c["duration"][order],
            "recorded": np.where(c["recorded"], "Y", "N")[order],
        }
    )
    pcsv.write_csv(recordings, out / "dump" / "recordings.csv")
    _write_directory(out / "directory" / "bar_directory.csv", a, e, ln, seed)
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def _write_directory(
    path: Path, a: np.ndarray, e: np.ndarray, ln: np.ndarray, seed: int, share: float = 0.005
) -> None:
    """A bar list naming about ``share`` of the dialed numbers, so identify has work to do."""
    numbers = np.unique(np.char.add(np.char.add(a, e), ln))
    rng = np.random.default_rng(seed + 2)
    picked = numbers[rng.random(len(numbers)) < share]
    picked = picked if len(picked) else numbers[:1]
    n = len(picked)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "name": np.char.add("Attorney ", np.arange(1, n + 1).astype(str)),
            "bar_number": np.char.add("TX", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
            "firm": np.full(n, "Solo"),
            "phones": [f"({x[:3]}) {x[3:6]}-{x[6:]}" for x in picked.tolist()],
        }
    )
    pcsv.write_csv(table, path)


def check(root: Path, audit: Path | None = None) -> dict[str, object]:
    """Compare an audit's summary.json (default ``root/audit``) with ``root/truth.json``."""
    truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    summary_file = AuditPaths(audit or root / "audit").summary
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    keys = ("calls", "calls_to_invalid_numbers", "invalid_number_reasons")
    return {k: {"found": summary.get(k), "true": truth[k], "exact": summary.get(k) == truth[k]}
            for k in keys}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=1_000_000, help="true calls (each stored twice)")
    p.add_argument("--seed", type=int, default=21)
    p.add_argument(
        "--calls-per-number",
        type=float,
        default=5.0,
        help="calls per distinct number (0.05: nearly every call to its own number)",
    )
    p.add_argument("--out", type=Path, help="folder to write dump/ and truth.json into")
    p.add_argument("--check", type=Path, help="a folder written by --out, audited into audit/")
    args = p.parse_args(argv)
    if args.check:
        result = check(args.check)
        print(json.dumps(result, indent=2))
        return 0 if all(v["exact"] for v in result.values()) else 1
    if not args.out:
        p.error("give --out to write a dump or --check to check an audit")
    print(json.dumps(write(args.out, args.calls, args.seed, args.calls_per_number), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
