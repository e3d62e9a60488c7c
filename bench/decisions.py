"""Recording-decision benchmarks (run on purpose: python bench/decisions.py [--numbers N]).

In-process: p50/p99/p99.9 of Checker.decide over N registered numbers (default 1 M), for
a mix of registered and unregistered numbers, half as E.164 and half formatted as a switch
dials them; then the same decisions through a DecisionLog on a SQLite file (group commit;
a record=True waits for its commit). Under faults: a corrupted snapshot delivered and a
registry update arriving mid-run, counting record=True answers for registered numbers
(must be 0).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from privguard.internals.prevention.db import make_engine, sessions, upgrade
from privguard.internals.prevention.decisions import (
    Checker,
    Checkpoint,
    Reason,
    RegistryEntry,
    RegistryState,
    SnapshotRejected,
    Verified,
    build_state,
)
from privguard.internals.prevention.decisions.log import DecisionLog


def _numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        area, exch = rng.randint(200, 999), rng.randint(200, 999)
        out.add(f"+1{area}{exch}{rng.randint(0, 9999):04d}")
    return sorted(out)


def _pct(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)

    def at(q: float) -> float:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6, 2)

    return {
        "n": len(xs),
        "p50_us": at(0.5),
        "p99_us": at(0.99),
        "p999_us": at(0.999),
        "mean_us": round(statistics.fmean(xs) * 1e6, 2),
    }


def _fixed(state: RegistryState) -> Checker:
    def verify(data: bytes, last: object | None, now: dt.datetime) -> Verified:
        return Verified(state, state.checkpoint)

    return Checker(verify, timeout_s=1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--numbers", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--logged", type=int, default=20_000)
    args = ap.parse_args()
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    registered = _numbers(args.numbers, 1)
    reg_set = set(registered)
    state = build_state(
        [RegistryEntry(n, ref=str(i)) for i, n in enumerate(registered)],
        Checkpoint(args.numbers, "aa" * 32),
        now + dt.timedelta(days=1),
    )
    build_s = time.perf_counter() - t0
    rng = random.Random(2)
    others = [n for n in _numbers(60_000, 3) if n not in reg_set][:50_000]
    calls: list[tuple[str, str]] = []  # (as dialed, E.164)
    for i in range(args.decisions):
        n = rng.choice(registered) if i % 2 else rng.choice(others)
        dialed = f"({n[2:5]}) {n[5:8]}-{n[8:]}" if i % 4 >= 2 else n
        calls.append((dialed, n))

    checker = _fixed(state)
    checker.load(b"snapshot")
    perf = time.perf_counter

    def timed(clock: Callable[[], float] = perf) -> tuple[list[float], int]:
        lat: list[float] = []
        bad = 0
        gc.collect()
        for dialed, n in calls:
            a = clock()
            d = checker.decide("MAIN", "A1", dialed)
            lat.append(clock() - a)
            bad += d.record and n in reg_set
        return lat, bad

    load_before = os.getloadavg()
    lat, bad = timed()
    # The same after gc.freeze(): the 1 M-entry state is millions of objects the cyclic
    # collector walks on each full collection; an embedding platform freezes them once
    # loaded (they are immutable), and the decisions' own garbage stays young.
    gc.freeze()
    frozen, bad_frozen = timed()
    # CPU time per decision (this thread's): the code's own cost, whatever the scheduler
    # does to wall time on a shared machine.
    cpu, _ = timed(time.thread_time)
    gc.unfreeze()
    result: dict[str, object] = {
        "registered_numbers": args.numbers,
        "state_build_s": round(build_s, 2),
        "in_process": _pct(lat),
        "in_process_gc_frozen": _pct(frozen),
        "in_process_cpu_time": _pct(cpu),
        "record_true_for_registered": bad + bad_frozen,
        "load_average_before": load_before,
    }
    lat = []

    # Faults while deciding: a corrupted snapshot at 5,000, a good update at 10,000.
    update_numbers = set(registered[:1000] + others[:1000])
    update = build_state(
        [RegistryEntry(n) for n in sorted(update_numbers)],
        Checkpoint(args.numbers + 1, "bb" * 32),
        now + dt.timedelta(days=1),
    )

    def verify(data: bytes, last: object | None, when: dt.datetime) -> Verified:
        if data == b"corrupt":
            raise SnapshotRejected("corrupted", reason=Reason.BAD_SIGNATURE)
        s = state if data == b"first" else update
        return Verified(s, s.checkpoint)

    faulty = Checker(verify, timeout_s=1.0)
    faulty.load(b"first")
    fault_true = fault_n = refused_corrupt = 0
    for i, (dialed, n) in enumerate(calls[:20_000]):
        if i == 5_000:
            with contextlib.suppress(SnapshotRejected):
                faulty.load(b"corrupt")
        if i == 10_000:
            faulty.load(b"update")
        d = faulty.decide("MAIN", "A1", dialed)
        fault_n += 1
        refused_corrupt += d.reason == Reason.BAD_SIGNATURE
        registered_now = n in reg_set if i < 10_000 else n in update_numbers
        fault_true += d.record and registered_now
    result["faults"] = {
        "decisions": fault_n,
        "refused_while_corrupt": refused_corrupt,
        "record_true_for_registered": fault_true,
    }

    # Logged decisions, one caller (every record=True waits for its own commit).
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{tmp}/b.db")
        upgrade(eng)
        dlog = DecisionLog(sessions(eng), b"k" * 32, Path(tmp) / "spill.jsonl").start()
        logged = _fixed(state)
        logged._log = dlog  # the same checker, now with the log
        logged.load(b"snapshot")
        lat = []
        for dialed, _ in calls[: args.logged]:
            a = perf()
            logged.decide("MAIN", "A1", dialed)
            lat.append(perf() - a)
        dlog.close()
        result["logged_sqlite_one_caller"] = _pct(lat)
    result["load_average"] = os.getloadavg()
    result["cpus"] = os.cpu_count()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
