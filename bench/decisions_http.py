"""POST /v1/decisions under sustained load on a real service, with faults (issue 15).

Starts the service the way ``privguard serve`` runs it (its own ``serve()``: uvicorn, one
process) on a fresh data dir, registers ``--numbers`` numbers through the registry (a
generated bar feed), then drives ``POST /v1/decisions`` from a loopback open-loop load
generator: requests are due at fixed times (``rate`` per second) on a pool of keep-alive
connections, and each latency is measured from the time the request was due, so a
server that falls behind shows it (no coordinated omission). Half the calls dial a
registered number, half an unregistered one; ``record=true`` for a registered number
must never happen.

A fault run then injects, during one load run: the database taken away from writers
(SQLite: another process holds its write lock; PostgreSQL: the decisions table locked),
a corrupted snapshot delivered to the checker (a signal to the server swaps its snapshot
source for one that alters the text), and a registry update arriving (an attorney's
request approved over HTTP; the bench measures how long until decisions refuse to
record that number).

    PYTHONPATH=src python bench/decisions_http.py --numbers 10000 --seconds 60 \
        --rates 500,1000,2000,4000 --work /tmp/dhbench --out /tmp/dhbench/result.json

The machine's load average is read before and after each run: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

FACILITY = "MAIN-JAIL"
NEW_NUMBER = "+15125550100"  # registered during the fault run


def _number(i: int) -> str:  # as bench/registry.py: +1 512 2xx xxxx
    return f"+1{512 + i // 800_000}{200 + (i // 10_000) % 80:03d}{i % 10_000:04d}"


def _unregistered(i: int) -> str:
    return f"+1737{200 + (i // 10_000) % 80:03d}{i % 10_000:04d}"


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


# -- setup: registry and users, before the server starts ----------------------------------


def setup(work: Path, url: str | None, numbers: int) -> dict[str, Any]:
    from privguard.internals.prevention.db import transaction
    from privguard.internals.prevention.registry import api
    from privguard.internals.prevention.registry import workflow as W
    from privguard.internals.prevention.service.auth import create_user, issue_token
    from privguard.internals.prevention.settings import ServiceSettings

    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    settings = ServiceSettings(data_dir=data, database_url=url)
    reg = api.Registry.open(settings)
    feed = work / "feed.csv"
    with feed.open("w", encoding="utf-8") as fh:
        fh.write("Name,Bar Number,Phone\n")
        for i in range(numbers):
            fh.write(f"Attorney {i // 3},B{i // 3:07d},{_number(i)}\n")
    t0 = time.perf_counter()
    result = api.feed(reg, feed, source="bar_feed")
    seconds = time.perf_counter() - t0
    tokens: dict[str, str] = {}
    with transaction(reg.factory) as s:
        aid = W.add_attorney(s, reg.ledger, "Bench Attorney", actor="bench", bar_number="X1")
        for role, extra in (
            ("facility_system", {}),
            ("registrar", {}),
            ("attorney", {"attorney_id": aid}),
        ):
            user = create_user(s, f"bench-{role}", role, password="bench password 1", **extra)
            tokens[role] = issue_token(s, user, "bench").token
    reg.factory.kw["bind"].dispose()
    return {
        "data": str(data),
        "tokens": tokens,
        "registered": result.added,
        "feed_seconds": round(seconds, 1),
    }


# -- the server, as `privguard serve` runs it, plus a fault hook --------------------------


def serve_child(data: str, url: str, port: int) -> None:
    """`privguard serve`'s own code path; SIGUSR1/SIGUSR2 start/stop a corrupted delivery."""
    from privguard.internals.prevention.service import app as service_app
    from privguard.internals.prevention.settings import ServiceSettings

    apps: list[Any] = []
    made = service_app.create_app

    def create(settings: Any) -> Any:
        apps.append(made(settings))
        return apps[-1]

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
    service_app.create_app = create  # type: ignore[assignment]
    settings = ServiceSettings(data_dir=Path(data), database_url=url or None, port=port)
    service_app.serve(settings)


def start_server(work: Path, data: str, url: str | None) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    out = (work / "server.log").open("ab")
    cmd = [sys.executable, __file__, "_serve", data, url or "", str(port)]
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped; see {work / 'server.log'}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, port
        time.sleep(0.2)
    raise SystemExit("the server did not start within 120 s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the open-loop load generator ------------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection (hand-rolled: the generator must be cheap)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, body: dict[str, Any], token: str | None = None
    ) -> tuple[int, Any]:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer {token or self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")  # fmt: skip
        try:
            self.w.write(head.encode() + data)
            assert self.r is not None
            header = await self.r.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await self.r.readexactly(length)
            return status, json.loads(payload) if length else None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.w.close()
            self.w = None
            raise


def percentile(sorted_ms: list[float], q: float) -> float | None:
    if not sorted_ms:
        return None
    return round(sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))], 2)


async def drive(port: int, token: str, rate: float, seconds: float, numbers: int,
                conns: int, faults: Any = None) -> dict[str, Any]:  # fmt: skip
    total = int(rate * seconds)
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    rows: list[
        tuple[float, float, bool, int, bool | None, str]
    ] = []  # due, latency, registered, status, record, reason
    errors: Counter[str] = Counter()

    async def worker() -> None:
        conn = Conn(port, token)
        while (job := await due.get()) is not None:
            i, at = job
            registered = i % 2 == 0
            number = _number((i // 2) % numbers) if registered else _unregistered(i // 2)
            body = {"facility": FACILITY, "inmate_account": f"A{i % 500}", "dialed_number": number}
            try:
                status, answer = await conn.post("/v1/decisions", body)
            except Exception as exc:
                errors[type(exc).__name__] += 1
                continue
            done = time.perf_counter()
            ok = status == 200 and isinstance(answer, dict)
            rec = answer.get("record") if ok else None
            reason = str(answer.get("reason")) if ok else f"HTTP_{status}"
            rows.append((at, (done - at) * 1000, registered, status, rec, reason))

    tasks = [asyncio.create_task(worker()) for _ in range(conns)]
    t0 = time.perf_counter() + 0.05
    fault_task = asyncio.create_task(faults(t0)) if faults else None
    sent = 0
    while sent < total:
        now = time.perf_counter()
        upto = min(total, int((now - t0) * rate) + 1) if now >= t0 else 0
        for i in range(sent, upto):
            due.put_nowait((i, t0 + i / rate))
        sent = max(sent, upto)
        await asyncio.sleep(0.0005)
    for _ in tasks:
        due.put_nowait(None)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    fault_report = await fault_task if fault_task else None
    return {
        "t0": t0,
        "rows": rows,
        "errors": dict(errors),
        "elapsed": elapsed,
        "faults": fault_report,
    }


def summarize(rows: list[Any], errors: dict[str, int], elapsed: float) -> dict[str, Any]:
    lat = sorted(r[1] for r in rows)
    return {
        "answers": len(rows),
        "achieved_per_s": round(len(rows) / elapsed, 1),
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "p99_9_ms": percentile(lat, 0.999),
        "max_ms": round(lat[-1], 2) if lat else None,
        "errors": sum(errors.values()) + sum(1 for r in rows if r[3] != 200),
        "error_kinds": errors,
        "record_true_registered": sum(1 for r in rows if r[2] and r[4] is True),
        "record_true_unregistered": sum(1 for r in rows if not r[2] and r[4] is True),
        "reasons": dict(Counter(r[5] for r in rows)),
    }


# -- faults ----------------------------------------------------------------------------


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
               seconds: float) -> Any:  # fmt: skip
    async def until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))

    async def faults(t0: float) -> dict[str, Any]:
        report: dict[str, Any] = {}
        span = 0.15 * seconds
        await until(t0 + 0.15 * seconds)
        a = time.perf_counter()
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


# -- main ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    made = setup(work, args.url, args.numbers)
    print(json.dumps({k: v for k, v in made.items() if k != "tokens"}), flush=True)
    proc, port = start_server(work, made["data"], args.url)
    tokens = made["tokens"]
    out: dict[str, Any] = {"numbers": args.numbers, "setup": {k: v for k, v in made.items() if k != "tokens"},
                           "cpus": os.cpu_count(), "runs": []}  # fmt: skip
    try:
        ready = asyncio.run(drive(port, tokens["facility_system"], 50, 2, args.numbers, 4))
        assert ready["rows"] and ready["rows"][-1][5] != "NOTHING_LOADED", ready["rows"][-1:]
        for rate in [float(r) for r in args.rates.split(",") if r]:
            out["runs"].append(one_run(args, proc, port, tokens, rate, args.seconds, None))
        if not args.skip_faults:
            faults = fault_plan(proc, port, tokens, args.url, made["data"], args.fault_seconds)
            out["fault_run"] = one_run(
                args, proc, port, tokens, args.fault_rate, args.fault_seconds, faults
            )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    out["decision_rows"], out["spill_files"] = logged(args.url, Path(made["data"]))
    return out


def one_run(args: argparse.Namespace, proc: Any, port: int, tokens: dict[str, str], rate: float,
            seconds: float, faults: Any) -> dict[str, Any]:  # fmt: skip
    before, cpu0 = loadavg(), cpu_seconds(proc.pid)
    result = asyncio.run(
        drive(port, tokens["facility_system"], rate, seconds, args.numbers, args.conns, faults)
    )
    cpu = cpu_seconds(proc.pid) - cpu0
    summary = {"rate": rate, "seconds": seconds, "connections": args.conns}
    summary |= summarize(result["rows"], result["errors"], result["elapsed"])
    summary |= {"server_cpu_pct": round(100 * cpu / result["elapsed"], 1),
                "loadavg_before": before, "loadavg_after": loadavg()}  # fmt: skip
    if faults:
        summary["faults"] = result["faults"]
        summary["phases"] = by_phase(result)
    print(json.dumps(summary), flush=True)
    return summary


def logged(url: str | None, data: Path) -> tuple[int, list[str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url or f"sqlite:///{data / 'privguard.db'}")
    with engine.connect() as conn:
        rows = int(conn.execute(text("SELECT count(*) FROM decisions")).scalar_one())
    engine.dispose()
    spills = sorted(p.name for p in (data / "decisions").glob("spill*"))
    return rows, spills


def main() -> None:
    if sys.argv[1:2] == ["_serve"]:
        serve_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--numbers", type=int, default=10_000, help="numbers registered (a feed)")
    p.add_argument("--rates", default="500,1000,2000,4000", help="decisions/s, comma-separated")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each rate's run")
    p.add_argument("--fault-rate", type=float, default=1000.0)
    p.add_argument("--fault-seconds", type=float, default=60.0)
    p.add_argument("--skip-faults", action="store_true")
    p.add_argument("--conns", type=int, default=64, help="keep-alive connections of the generator")
    p.add_argument("--url", default=None, help="a fresh PostgreSQL database instead of SQLite")
    p.add_argument("--work", default="/tmp/decisions-http-bench")
    p.add_argument("--out", default=None, help="write every figure as JSON here")
    args = p.parse_args()
    result = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
