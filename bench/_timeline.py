"""A timeline of the bench's server, to find what its slow answers waited for (issue 15).

``decisions_http.py --timeline`` sets :data:`TIMELINE_ENV` for the server; the server then
records, in memory, with ``time.perf_counter()`` stamps:

* ``req``: each decision answered by the fast path: start, end, whether it was a
  ``record=true`` (which waited for its group commit);
* ``batch``: each group commit of the decision log (``DecisionLog.write``): start, end,
  size; only where the log commits in the server process (an app without a writer
  process: since ``privguard serve`` always starts one, the bench's server records none);
* ``gc``: each collection of the cyclic garbage collector: start, end, generation;
* ``lag``: the event loop's lateness, sampled by a task that sleeps 1 ms (a late wake-up
  means the loop was busy or could not get the GIL).

and writes them as JSON lines to the file named by the variable when it stops.
:func:`summarize` reads them back: the slowest answers, and what overlapped them.
The instrument wraps library methods from outside (the bench reaches in, as its fault
hooks do); nothing here is library code.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

TIMELINE_ENV = "PRIVGUARD_BENCH_TIMELINE"

_events: list[tuple[Any, ...]] = []


def install() -> None:
    """Wrap the fast path, the log's writes and the collector (see the module doc)."""
    path = os.environ.get(TIMELINE_ENV)
    if not path:
        return
    from privguard.internals.prevention.decisions import fastpath
    from privguard.internals.prevention.decisions.log import DecisionLog

    clock = time.perf_counter
    add = _events.append
    answer = fastpath._answer
    probe: list[asyncio.Task[None]] = []

    async def timed_answer(scope: dict[str, Any], body: bytes, app: Any) -> bytes | None:
        if not probe:
            probe.append(asyncio.get_running_loop().create_task(lag_probe()))
        t0 = clock()
        out = await answer(scope, body, app)
        add(("req", t0, clock(), out is not None and b'"record":true' in out))
        return out

    fastpath._answer = timed_answer  # type: ignore[assignment]
    write = DecisionLog.write

    def timed_write(self: Any, batch: list[Any]) -> bool:
        t0 = clock()
        try:
            return write(self, batch)
        finally:
            add(("batch", t0, clock(), len(batch)))

    DecisionLog.write = timed_write  # type: ignore[method-assign]
    started: list[float] = []

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(clock())
        elif started:
            add(("gc", started.pop(), clock(), info["generation"]))

    gc.callbacks.append(collected)
    atexit.register(lambda: _dump(Path(path)))


async def lag_probe() -> None:
    """Sample the event loop's lateness every ~1 ms (run as a task on the server's loop)."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.001)
        late = time.perf_counter() - t0 - 0.001
        if late > 0.002:
            _events.append(("lag", t0 + 0.001, t0 + 0.001 + late, 0))


def _dump(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for ev in _events:
            fh.write(json.dumps(ev) + "\n")


def summarize(path: Path, slowest: int = 40) -> dict[str, Any]:
    """The slowest answers and, for each, what overlapped it (gc, batches, loop lag)."""
    events = [tuple(json.loads(line)) for line in path.open(encoding="utf-8")]
    reqs = sorted((e for e in events if e[0] == "req"), key=lambda e: e[2] - e[1])
    others = [e for e in events if e[0] != "req"]
    ms = [1000 * (e[2] - e[1]) for e in reqs]

    def q(f: float) -> float:
        return round(ms[min(len(ms) - 1, int(f * len(ms)))], 2) if ms else 0.0

    gcs = [e for e in events if e[0] == "gc"]
    batches = [e for e in events if e[0] == "batch"]
    bms = sorted(1000 * (e[2] - e[1]) for e in batches)
    out: dict[str, Any] = {
        "answers": len(reqs),
        "server_ms": {"p50": q(0.5), "p99": q(0.99), "p99.9": q(0.999)},
        "gc_by_gen": dict(Counter(e[3] for e in gcs)),
        "gc_ms_max_by_gen": {
            g: round(max(1000 * (e[2] - e[1]) for e in gcs if e[3] == g), 2)
            for g in sorted({e[3] for e in gcs})
        },
        "batches": len(batches),
        "batch_ms": {
            "p50": round(bms[len(bms) // 2], 2) if bms else None,
            "p99": round(bms[int(0.99 * len(bms))], 2) if bms else None,
            "max": round(bms[-1], 2) if bms else None,
        },
        "lag_events_over_2ms": sum(1 for e in events if e[0] == "lag"),
        "slowest": [],
    }
    for r in reqs[-slowest:]:
        over = [
            f"{e[0]}{e[3]}:{1000 * (e[2] - e[1]):.1f}ms@{1000 * (e[1] - r[1]):+.1f}"
            for e in others
            if e[1] < r[2] and e[2] > r[1] and (e[0] != "batch" or e[2] - e[1] > 0.002)
        ]
        out["slowest"].append(f"{1000 * (r[2] - r[1]):.1f}ms rec={r[3]} | " + " ".join(over))
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(summarize(Path(sys.argv[1])), indent=1))
