"""The faults of bench/decisions_http.py, injected during one load run.

The database taken away from writers (SQLite: another process holds its write lock;
PostgreSQL: the decisions table locked), a corrupted snapshot delivered to the checker (a
signal to the server swaps its snapshot source for one that alters the text), and a
registry update arriving (an attorney's request approved over HTTP; the bench measures
how long until decisions refuse to record that number).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import _timeline
from _decisions_load import FACILITY, Conn, summarize

NEW_NUMBER = "+15125550100"  # registered during the fault run


def _corrupting(apps: list[Any]) -> None:
    """SIGUSR1/SIGUSR2 start/stop a corrupted delivery to ``apps[0]``'s checker."""
    saved: list[Any] = []

    def corrupt(signum: int, frame: Any) -> None:
        checker = apps[0].state.decision_checker
        good = checker._source  # the bench reaches in: no fault hook in library code
        saved.append(good)
        checker._source = lambda: good().replace(b"\ncount ", b"\ncount 9", 1)

    def restore(signum: int, frame: Any) -> None:
        if saved:
            apps[0].state.decision_checker._source = saved.pop()

    signal.signal(signal.SIGUSR1, corrupt)
    signal.signal(signal.SIGUSR2, restore)


def bench_worker_app() -> Any:
    """A `serve --workers N` worker's app, with the corrupted-delivery signals installed;
    its pid is written to $BENCH_WORKER_PIDS so the parent can forward them."""
    from privguard.internals.prevention.service import app as service_app

    app = service_app.worker_app()
    _corrupting([app])
    folder = Path(os.environ["BENCH_WORKER_PIDS"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    return app


SWITCH_ENV = "PRIVGUARD_BENCH_SWITCH_MS"  # decisions_http.py --switch-interval-ms


def serve_child(data: str, url: str, port: int, workers: int = 1) -> None:
    """`privguard serve`'s own code path; SIGUSR1/SIGUSR2 start/stop a corrupted delivery
    (forwarded to every worker with ``workers`` > 1)."""
    from privguard.internals.prevention.service import app as service_app
    from privguard.internals.prevention.settings import ServiceSettings

    settings = ServiceSettings(data_dir=Path(data), database_url=url or None, port=port)
    _timeline.install()  # only with decisions_http.py --timeline
    if os.environ.get(SWITCH_ENV):
        sys.setswitchinterval(float(os.environ[SWITCH_ENV]) / 1000)
    if workers > 1:
        folder = Path(data) / "bench-worker-pids"
        os.environ["BENCH_WORKER_PIDS"] = str(folder)

        def forward(signum: int, frame: Any) -> None:
            for pid in folder.glob("*"):
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid.name), signum)

        signal.signal(signal.SIGUSR1, forward)
        signal.signal(signal.SIGUSR2, forward)
        service_app.serve(settings, workers, factory="_decisions_faults:bench_worker_app")
        return

    apps: list[Any] = []
    made = service_app.create_app

    def create(settings: Any, **kw: Any) -> Any:
        apps.append(made(settings, **kw))
        return apps[-1]

    _corrupting(apps)
    service_app.create_app = create  # type: ignore[assignment]
    service_app.serve(settings)


def hold_db_lock(url: str | None, data: str, seconds: float) -> str:
    """Take the database away from writers for ``seconds`` (see the module doc)."""
    if url and url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(text("LOCK TABLE decisions IN ACCESS EXCLUSIVE MODE"))
            time.sleep(seconds)
            tx.rollback()
        engine.dispose()
        return "decisions table locked (ACCESS EXCLUSIVE)"
    import sqlite3

    conn = sqlite3.connect(str(Path(data) / "privguard.db"), timeout=30, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()
    return "SQLite write lock held by another process"


def fault_plan(proc: Any, port: int, tokens: dict[str, str], url: str | None, data: str,
               seconds: float, pg: Any = None) -> Any:  # fmt: skip
    """The faults' coroutine. With ``pg`` (a :class:`_private_pg.PrivatePostgres`) the
    database fault is the server itself SIGKILLed and started again, not a lock."""

    async def until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))

    async def faults(t0: float) -> dict[str, Any]:
        report: dict[str, Any] = {}
        span = 0.15 * seconds
        await until(t0 + 0.15 * seconds)
        a = time.perf_counter()
        if pg is not None:
            killed = await asyncio.to_thread(pg.kill)
            await asyncio.sleep(span)
            b = time.perf_counter()
            await asyncio.to_thread(pg.start)
            how = (f"PostgreSQL killed (SIGKILL to the postmaster and {killed - 1} backends), "
                   f"started again after {span:.1f} s; recovery took "
                   f"{time.perf_counter() - b:.2f} s")  # fmt: skip
            report["db_killed"] = {"from_s": a - t0, "to_s": time.perf_counter() - t0, "how": how}
        else:
            how = await asyncio.to_thread(hold_db_lock, url, data, span)
            report["db_down"] = {"from_s": a - t0, "to_s": time.perf_counter() - t0, "how": how}
        await until(t0 + 0.45 * seconds)
        a = time.perf_counter()
        os.kill(proc.pid, signal.SIGUSR1)
        await asyncio.sleep(span)
        os.kill(proc.pid, signal.SIGUSR2)
        report["corrupted"] = {"from_s": a - t0, "to_s": time.perf_counter() - t0}
        await until(t0 + 0.75 * seconds)
        report["registry_update"] = await registry_update(port, tokens)
        return report

    return faults


async def registry_update(port: int, tokens: dict[str, str]) -> dict[str, Any]:
    """Approve a new number over HTTP; probe until decisions refuse to record it."""
    conn, probe = Conn(port, tokens["attorney"]), Conn(port, tokens["facility_system"])
    status, req = await conn.post("/v1/registry/requests", {"numbers": [NEW_NUMBER]})
    assert status == 201, req
    sent = time.perf_counter()
    path = f"/v1/registry/requests/{req['id']}/approve"
    status, out = await conn.post(path, {"reason": "bench"}, token=tokens["registrar"])
    assert status == 200, out
    answered = time.perf_counter()
    body = {"facility": FACILITY, "inmate_account": "P1", "dialed_number": NEW_NUMBER}
    true_after, probes, seen = 0, 0, None
    while time.perf_counter() < answered + 30:
        status, ans = await probe.post("/v1/decisions", body)
        probes += 1
        if status == 200 and ans["reason"] == "REGISTERED_NUMBER":
            seen = time.perf_counter()
            break
        true_after += status == 200 and ans["record"] is True
        await asyncio.sleep(0.005)
    return {
        "approve_ms": round((answered - sent) * 1000, 1),
        # the approval committed after `sent`: this bounds the delay from above
        "visible_within_ms": None if seen is None else round((seen - sent) * 1000, 1),
        "visible_after_approval_answered_ms": None
        if seen is None
        else round((seen - answered) * 1000, 1),
        "probes": probes,
        "record_true_after_approval_answered": true_after,
    }


def by_phase(result: dict[str, Any]) -> dict[str, Any]:
    windows = {k: v for k, v in (result["faults"] or {}).items() if "from_s" in v}
    groups: dict[str, list[Any]] = {}
    for row in result["rows"]:
        at = row[0] - result["t0"]
        name = next((k for k, w in windows.items() if w["from_s"] <= at < w["to_s"]), "normal")
        groups.setdefault(name, []).append(row)
    return {
        k: summarize(v, {}, result["elapsed"]) | {"achieved_per_s": None} for k, v in groups.items()
    }
