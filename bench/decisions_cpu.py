"""CPU per decision of the HTTP decision path's parts, in one process (issue 15).

Latency on a shared machine says little; CPU time per decision does not depend much on
the load. This measures, with ``time.process_time`` (every thread of the process):

* ``log_write``: the decision log's group commit (:meth:`DecisionLog.write`) on a fresh
  SQLite file (or ``--url``): rows, ledger leaves, inserts and the commit, per decision,
  for batches of ``--batches`` sizes;
* ``asgi``: the service app answering ``POST /v1/decisions`` through its ASGI stack (the
  fast path, token cache, validation, the decision, the log's wait, the JSON answer), with
  no socket: what uvicorn adds on top is the rest of ``bench/decisions_http.py``'s
  ``server_cpu_ms_per_decision``.

    PYTHONPATH=src python bench/decisions_cpu.py [--decisions 20000] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from privguard.internals.prevention.db import make_engine, sessions, upgrade
from privguard.internals.prevention.decisions.decide import Decision, Reason, new_decision_id
from privguard.internals.prevention.decisions.log import LEDGER_LOG, DecisionLog, _Item
from privguard.internals.prevention.ledger import Ledger, Signer


def log_write(url: str, folder: Path, n: int, batch: int) -> dict[str, Any]:
    """CPU and wall per decision of DecisionLog.write for n decisions in batches of ``batch``."""
    engine = make_engine(url)
    upgrade(engine)
    signer = Signer.load_or_create(folder / "key", name="privguard/decisions")
    dlog = DecisionLog(sessions(engine), b"k" * 32, folder / "spill.jsonl",
                       ledger=Ledger(log=LEDGER_LOG, signer=signer))  # fmt: skip
    now = dt.datetime.now(dt.UTC)

    def item(i: int) -> _Item:
        d = Decision(i % 2 == 0, Reason.NOT_REGISTERED_RECORDING_ALLOWED if i % 2 == 0 else Reason.REGISTERED_NUMBER,
                     new_decision_id(), "FAC-1", f"+1202555{i % 10000:04d}", now,
                     inmate_account=f"A{i}")  # fmt: skip
        return dlog._item(d)

    dlog.write([item(i) for i in range(batch)])  # warm-up: statement caches
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, n, batch):
        dlog.write([item(i) for i in range(start, min(n, start + batch))])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    engine.dispose()
    return {"part": "log_write", "batch": batch, "decisions": n,
            "cpu_ms_per_decision": round(1000 * cpu / n, 4),
            "wall_ms_per_batch": round(1000 * wall / -(-n // batch), 3)}  # fmt: skip


def asgi(folder: Path, n: int, url: str | None) -> dict[str, Any]:
    """CPU per decision of the app's ASGI call for POST /v1/decisions (no socket)."""
    from privguard.internals.prevention.db import transaction
    from privguard.internals.prevention.service.app import create_app
    from privguard.internals.prevention.service.auth import create_user, issue_token
    from privguard.internals.prevention.settings import ServiceSettings

    # A long deadline: under load, refusals (TIMEOUT) would change what is measured.
    settings = ServiceSettings(
        data_dir=folder / "data", database_url=url, decision_timeout_ms=10000
    )
    app = create_app(settings)

    async def main() -> dict[str, Any]:
        async with app.router.lifespan_context(app):
            with transaction(app.state.sessions) as s:
                user = create_user(s, "gate", "facility_system", password="bench password 1")
                token = issue_token(s, user, "bench").token
            headers = [(b"content-type", b"application/json"),
                       (b"authorization", f"Bearer {token}".encode())]  # fmt: skip

            async def one(i: int) -> int:
                body = json.dumps({"facility": "FAC-1", "inmate_account": f"A{i}",
                                   "dialed_number": f"(202) 555-{i % 10000:04d}"}).encode()  # fmt: skip
                scope = {"type": "http", "method": "POST", "path": "/v1/decisions",
                         "raw_path": b"/v1/decisions", "query_string": b"", "headers": headers,
                         "scheme": "http", "http_version": "1.1", "root_path": "",
                         "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app}  # fmt: skip
                sent: list[dict[str, Any]] = []

                async def receive() -> dict[str, Any]:
                    return {"type": "http.request", "body": body, "more_body": False}

                async def send(message: dict[str, Any]) -> None:
                    sent.append(message)

                await app(scope, receive, send)
                return int(sent[0]["status"])

            for i in range(200):  # warm-up: the checker's first snapshot, caches
                await one(i)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            statuses: list[int] = []
            for start in range(0, n, 64):  # 64 in flight, like the HTTP bench's connections
                statuses += await asyncio.gather(
                    *(one(i) for i in range(start, min(n, start + 64)))
                )
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            bad = sum(s != 200 for s in statuses)
            return {"part": "asgi", "decisions": n, "non_200": bad,
                    "cpu_ms_per_decision": round(1000 * cpu / n, 4),
                    "per_s_wall": round(n / wall, 1)}  # fmt: skip

    return asyncio.run(main())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--decisions", type=int, default=20_000)
    p.add_argument("--batches", default="1,8,64", help="group-commit sizes, comma-separated")
    p.add_argument("--url", default=None, help="a fresh PostgreSQL database instead of SQLite")
    p.add_argument("--parts", default="log_write,asgi")
    args = p.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps({"loadavg": load, "python": sys.version.split()[0]}), flush=True)
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory(prefix="decisions-cpu-") as tmp:
        folder = Path(tmp)
        if "log_write" in parts:
            for b in (int(x) for x in args.batches.split(",")):
                sub = folder / f"w{b}"
                sub.mkdir()
                url = args.url or f"sqlite:///{sub / 'log.db'}"
                print(json.dumps(log_write(url, sub, args.decisions, b)), flush=True)
        if "asgi" in parts:
            print(json.dumps(asgi(folder / "asgi", args.decisions, args.url)), flush=True)


if __name__ == "__main__":
    main()
