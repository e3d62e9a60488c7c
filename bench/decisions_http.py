"""POST /v1/decisions under sustained load on a real service, with faults (issue 15).

Starts the service the way ``privguard serve`` runs it (its own ``serve()``: uvicorn, one
process, uvloop and httptools when installed) on a fresh data dir, registers
``--numbers`` numbers through the registry (a generated bar feed), then drives
``POST /v1/decisions`` at each ``--rates`` from the open-loop generator of
``_decisions_load.py`` (latency from each request's due time), optionally measures the
most the server answers with ``wrk`` (``--wrk-seconds``), and last runs one load with
the faults of ``_decisions_faults.py`` (database taken from writers, corrupted snapshot,
registry update), counting the decisions made under each.

    PYTHONPATH=src python bench/decisions_http.py --numbers 10000 --seconds 60 \
        --rates 500,1000,2000,4000 --wrk-seconds 30 --work /tmp/dhbench \
        --out /tmp/dhbench/result.json

``--workers N`` runs ``privguard serve --workers N`` (N uvicorn workers, one decision
writer process); ``--url`` a fresh PostgreSQL database; ``--private-pg`` a PostgreSQL
server of the bench's own (``_private_pg.py``), which the fault run kills with SIGKILL
and starts again (the shared server is never touched). wrk comes from
``make bench-tools``.

The machine's load average is read before and after each run: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _decisions_faults import SWITCH_ENV, by_phase, fault_plan, serve_child
from _decisions_load import drive, number, run_loop, summarize, wrk_run
from _timeline import TIMELINE_ENV


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def fsync_ms(folder: Path, n: int = 200) -> dict[str, float]:
    """The disk's fsync latency where the database lives: 4 KiB appended, then fsync, n
    times. A durable record=true waits for at least one (SQLite WAL, synchronous=FULL), so
    its p99 bounds the decisions' p99 from below."""
    path = folder / "fsync-probe.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t0 = time.perf_counter()
            os.fsync(fd)
            times.append(1000 * (time.perf_counter() - t0))
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return {q: round(times[min(n - 1, int(f * n))], 3) for q, f in (("p50", 0.5), ("p99", 0.99))}


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
            fh.write(f"Attorney {i // 3},B{i // 3:07d},{number(i)}\n")
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


def start_server(work: Path, data: str, url: str | None, workers: int = 1, switch_ms: float = 0,
                 timeline: str | None = None) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    here = Path(__file__).resolve().parent  # the workers import _decisions_faults too
    env = dict(os.environ, PYTHONPATH=f"{here.parent / 'src'}{os.pathsep}{here}")
    if switch_ms:  # the server's GIL switch interval (an experiment: see --switch-interval-ms)
        env[SWITCH_ENV] = str(switch_ms)
    if timeline:  # the server's own timeline of answers, commits and collections
        env[TIMELINE_ENV] = str(Path(timeline).resolve())
    out = (work / "server.log").open("ab")
    cmd = [sys.executable, __file__, "_serve", data, url or "", str(port), str(workers)]
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
    """CPU seconds of ``pid`` and its live descendants (workers and the decision writer)."""
    return sum(cpu_by_pid(pid).values())


def cpu_split(before: dict[int, float], after: dict[int, float], data: str,
              answers: int) -> dict[str, float]:  # fmt: skip
    """The CPU per decision (ms) of the decision writer process and of the rest of the
    service's processes (the answering ones), between two :func:`cpu_by_pid` readings."""
    from privguard.internals.prevention.decisions.writer import socket_path, writer_stats

    try:
        writer = int(writer_stats(socket_path(Path(data)))["pid"])  # type: ignore[call-overload]
    except OSError:
        writer = -1
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    mine = used.get(writer, 0.0)
    rest = sum(used.values()) - mine
    return {"writer_cpu_ms_per_decision": round(1000 * mine / max(1, answers), 3),
            "answering_cpu_ms_per_decision": round(1000 * rest / max(1, answers), 3)}  # fmt: skip


def cpu_by_pid(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its live descendants, by pid."""
    stats: dict[int, list[str]] = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            stats[int(path.parent.name)] = path.read_text().rsplit(")", 1)[1].split()
    tree = {pid}
    for other in sorted(stats):  # children have larger pids than parents, mostly
        if int(stats[other][1]) in tree:
            tree.add(other)
    tick = os.sysconf("SC_CLK_TCK")
    return {
        member: (int(stats[member][11]) + int(stats[member][12])) / tick
        for member in tree
        if member in stats
    }


# -- main ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pg = None
    if args.private_pg:  # a server of our own, which the fault run kills
        from _private_pg import PrivatePostgres

        pg = PrivatePostgres()
        args.url = pg.url
    try:
        return _run(args, work, pg)
    finally:
        if pg is not None:
            pg.stop()


def _run(args: argparse.Namespace, work: Path, pg: Any) -> dict[str, Any]:
    made = setup(work, args.url, args.numbers)
    made["fsync_ms"] = fsync_ms(Path(made["data"]))
    args.data = made["data"]
    print(json.dumps({k: v for k, v in made.items() if k != "tokens"}), flush=True)
    proc, port = start_server(
        work, made["data"], args.url, args.workers, args.switch_interval_ms, args.timeline
    )
    tokens = made["tokens"]
    out: dict[str, Any] = {"numbers": args.numbers, "setup": {k: v for k, v in made.items() if k != "tokens"},
                           "cpus": os.cpu_count(), "workers": args.workers,
                           "database": "postgresql" if args.url else "sqlite", "runs": []}  # fmt: skip
    try:
        ready = run_loop(drive(port, tokens["facility_system"], 50, 2, args.numbers, 4))
        assert ready["rows"] and ready["rows"][-1][5] != "NOTHING_LOADED", ready["rows"][-1:]
        for rate in [float(r) for r in args.rates.split(",") if r]:
            if args.generator == "wrk":
                out["runs"].append(wrk_one(args, proc, port, tokens, rate, args.seconds))
            else:
                out["runs"].append(one_run(args, proc, port, tokens, rate, args.seconds, None))
        if args.wrk_seconds:
            before, cpu0 = loadavg(), cpu_seconds(proc.pid)
            got = wrk_run(
                port, tokens["facility_system"], args.numbers, args.wrk_seconds, args.wrk_conns
            )
            cpu = cpu_seconds(proc.pid) - cpu0
            got |= {"server_cpu_pct": round(100 * cpu / args.wrk_seconds, 1),
                    "server_cpu_ms_per_decision": round(1000 * cpu / max(1, got.get("requests", 0)), 3),
                    "loadavg_before": before, "loadavg_after": loadavg()}  # fmt: skip
            print(json.dumps({"wrk": got}), flush=True)
            out["wrk"] = got
        if not args.skip_faults:
            faults = fault_plan(proc, port, tokens, args.url, made["data"], args.fault_seconds, pg)
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
    before, cpu0 = loadavg(), cpu_by_pid(proc.pid)
    result = run_loop(
        drive(port, tokens["facility_system"], rate, seconds, args.numbers, args.conns, faults)
    )
    cpu1 = cpu_by_pid(proc.pid)
    cpu = sum(cpu1.values()) - sum(cpu0.values())
    summary = {"rate": rate, "seconds": seconds, "connections": args.conns}
    summary |= summarize(result["rows"], result["errors"], result["elapsed"])
    per = 1000 * cpu / max(1, summary["answers"])  # the server's CPU per decision, in ms
    summary |= {"server_cpu_pct": round(100 * cpu / result["elapsed"], 1),
                "server_cpu_ms_per_decision": round(per, 3),
                "loadavg_before": before, "loadavg_after": loadavg()}  # fmt: skip
    summary |= cpu_split(cpu0, cpu1, args.data, summary["answers"])
    if faults:
        summary["faults"] = result["faults"]
        summary["phases"] = by_phase(result)
    print(json.dumps(summary), flush=True)
    return summary


def wrk_one(args: argparse.Namespace, proc: Any, port: int, tokens: dict[str, str], rate: float,
            seconds: float) -> dict[str, Any]:  # fmt: skip
    """One paced wrk run at ``rate`` (see _decisions_load.wrk_run)."""
    before, cpu0 = loadavg(), cpu_by_pid(proc.pid)
    got = wrk_run(port, tokens["facility_system"], args.numbers, seconds, args.conns, rate)
    cpu1 = cpu_by_pid(proc.pid)
    cpu = sum(cpu1.values()) - sum(cpu0.values())
    answers = max(1, got.get("requests", 0))
    got |= cpu_split(cpu0, cpu1, args.data, answers)
    got |= {"rate": rate, "generator": "wrk (paced, closed loop)",
            "server_cpu_pct": round(100 * cpu / seconds, 1),
            "server_cpu_ms_per_decision": round(1000 * cpu / answers, 3),
            "loadavg_before": before, "loadavg_after": loadavg()}  # fmt: skip
    print(json.dumps(got), flush=True)
    return got


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
        serve_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
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
    p.add_argument("--generator", choices=("python", "wrk"), default="python",
                   help="the rate runs' generator: open-loop Python, or wrk paced")  # fmt: skip
    p.add_argument("--wrk-seconds", type=float, default=0, help="a wrk capacity run (0: none)")
    p.add_argument("--wrk-conns", type=int, default=32, help="wrk's connections")
    p.add_argument("--url", default=None,
                   help="a fresh (empty) PostgreSQL database instead of SQLite")  # fmt: skip
    p.add_argument("--private-pg", action="store_true",
                   help="start a private PostgreSQL server (initdb, own port) and use it; the "
                   "fault run then KILLS it (SIGKILL) and starts it again")  # fmt: skip
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn workers (`privguard serve --workers N`: one decision writer)",
    )
    p.add_argument("--switch-interval-ms", type=float, default=0,
                   help="set the server's sys.setswitchinterval (ms; default: Python's 5 ms) to "
                   "measure whether the GIL hand-over between the event loop and the decision "
                   "log's writer thread is in the tail (--workers 1 only)")  # fmt: skip
    p.add_argument("--timeline", default=None,
                   help="the server writes a timeline of its answers, group commits, garbage "
                   "collections and event-loop lag here as it stops (_timeline.py; "
                   "--workers 1; read it with `python bench/_timeline.py FILE`)")  # fmt: skip
    p.add_argument("--work", default="/tmp/decisions-http-bench")
    p.add_argument("--out", default=None, help="write every figure as JSON here")
    args = p.parse_args()
    result = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
