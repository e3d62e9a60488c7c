"""Ledger throughput: appends, checkpoints, proofs, receipts and ``verify`` at one size.

Run on purpose, not part of the tests:

    PYTHONPATH=src .venv/bin/python bench/ledger.py --entries 100000 --batch 1000

Appends ``--entries`` registry-like entries (a phone number and a few fields each) to one
log in transactions of ``--batch``, on a fresh SQLite file (or ``--url``, e.g. a
PostgreSQL database; its ledger tables must be empty). Then times at that size: a signed
checkpoint, ``--proofs`` inclusion proofs at random indexes and as many consistency proofs
from random old sizes (with the 256-leaf node cache, and a few without it for comparison),
receipts, one offline receipt check, and a full ``verify``. Prints a summary and, with
``--out``, writes it as JSON. The machine's load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from privguard.internals.prevention.db import make_engine, sessions, transaction, upgrade
from privguard.internals.prevention.ledger import Ledger, Signer, merkle, verify_receipt


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "max_ms": round(ms[-1], 2),
    }


def run(url: str, entries: int, batch: int, proofs: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    factory = sessions(engine)
    signer = Signer.generate("privguard.bench/registry")
    ledger = Ledger(log="registry", signer=signer)
    out: dict[str, Any] = {
        "url": engine.url.render_as_string(hide_password=True),
        "entries": entries,
        "batch": batch,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }

    batch_times = []
    start = time.perf_counter()
    for lo in range(0, entries, batch):
        t0 = time.perf_counter()
        with transaction(factory) as s:
            for i in range(lo, min(entries, lo + batch)):
                ledger.append(
                    s,
                    actor="registrar:bench",
                    action="number.registered",
                    reason="bar directory match",
                    payload={"number": f"+1512{i:07d}", "attorney": i % 5000, "scope": "all"},
                )
        batch_times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    out["append_s"] = round(total, 2)
    out["append_per_s"] = round(entries / total)
    out["append_batch"] = _stats(batch_times)

    with transaction(factory) as s:
        secs, cp = _timed(ledger.checkpoint, s)
        out["checkpoint_ms"] = round(secs * 1000, 1)
        n = cp.size
        incl = []
        for _ in range(proofs):
            i = rng.randrange(n)
            secs, proof = _timed(ledger.inclusion_proof, s, i, n)
            incl.append(secs)
        out["inclusion_proof"] = _stats(incl)
        cons = []
        for _ in range(proofs):
            old = rng.randrange(1, n + 1)
            secs, _proof = _timed(ledger.consistency_proof, s, old, n)
            cons.append(secs)
        out["consistency_proof"] = _stats(cons)

        # Without the node cache every proof streams all n leaves (what the cache saves).
        def _uncached(lo: int, hi: int) -> bytes:
            return merkle.root(ledger._leaves(s, lo, hi))

        plain = [
            _timed(merkle.inclusion_proof, rng.randrange(n), n, _uncached)[0] for _ in range(5)
        ]
        out["inclusion_proof_no_cache"] = _stats(plain)

        receipts = []
        for _ in range(max(1, proofs // 4)):
            secs, text = _timed(ledger.receipt, s, rng.randrange(n))
            receipts.append(secs)
        out["receipt"] = _stats(receipts)
        secs, check = _timed(verify_receipt, text, signer.verifier())
        assert check.ok, check.problems
        out["verify_receipt_ms"] = round(secs * 1000, 2)
        out["receipt_bytes"] = len(text.encode())

        secs, report = _timed(ledger.verify, s, signer.verifier())
        assert report.ok, report.problems
        out["verify_s"] = round(secs, 2)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        out["db_bytes"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--proofs", type=int, default=200)
    ap.add_argument("--url", help="database URL (default: a fresh SQLite file in a temp dir)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="privguard-ledger-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        result = run(url, args.entries, args.batch, args.proofs, args.seed)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
