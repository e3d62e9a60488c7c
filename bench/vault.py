"""Vault benchmarks: storing (encryption), access, quarantine, production and purge at scale.

Run on purpose, not part of the tests:

    PYTHONPATH=src .venv/bin/python bench/vault.py --recordings 100000 --out bench/results/vault.json

Synthetic recordings: ``--size`` random bytes each (default 8 kB, far smaller than real
audio, so the figures weigh the vault's own work: keys, database, log, files), for
``--inmates`` inmates calling numbers from a pool, on a fresh SQLite file in a temporary
data directory (or ``--url`` for PostgreSQL, whose tables must be empty). Each phase runs
in its own process so that its peak memory (ru_maxrss) is its own:

* setup: migrate, and one committed record=true decision row per recording (bulk insert);
* store: every recording through ``Vault.store`` one by one, as the gate would (decision
  check, AES-256-GCM, key wrap, blob fsync, metadata and access-log entry committed);
* access: ``--reads`` plays at random, each admitted and logged before it is returned;
* quarantine: ``--registered`` numbers registered, then one sweep over every recording;
* produce: ``--productions`` privilege-filtered productions of one inmate's whole range;
* purge: ``--purge`` quarantined recordings crypto-shredded with one certificate;
* verify: the whole access log recomputed and checked (``Ledger.verify``).

Prints a JSON summary (and writes it with ``--out``), with disk use and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path
from typing import Any

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
FACILITY = "BENCH"
AREAS = (206, 212, 303, 312, 404, 415, 503, 512, 617, 713)


def _numbers(n: int, seed: int) -> list[str]:
    from privguard.internals.common.phones import to_e164

    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        raw = f"+1{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if to_e164(raw).e164 == raw:  # valid numbers only, as the gate would see them
            out.add(raw)
    return sorted(out)


def _plan(args: argparse.Namespace) -> list[tuple[str, str, dt.datetime]]:
    """(inmate, number, start) of every recording, reproducibly from the seed."""
    rng = random.Random(args.seed)
    pool = _numbers(args.pool, args.seed)
    out = []
    for i in range(args.recordings):
        inmate = f"I{i % args.inmates:05d}"
        out.append((inmate, rng.choice(pool), T0 + dt.timedelta(minutes=7 * i)))
    return out


def _settings(args: argparse.Namespace) -> Any:
    from privguard.internals.prevention.settings import load_service_settings

    return load_service_settings(data_dir=Path(args.dir), database_url=args.url)


def _vault(args: argparse.Namespace) -> Any:
    from privguard.internals.prevention.vault import DEFAULT_POLICY, RolePolicy, Vault

    policy = dict(DEFAULT_POLICY)
    for role in ("investigator", "records_officer"):  # the volume limit is not what is timed
        policy[role] = RolePolicy(DEFAULT_POLICY[role].actions, 10**9)
    return Vault.open(_settings(args), migrate=False, policy=policy)


def _stats(xs: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in xs)
    pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 3)  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(ms[-1], 3),
            "mean_ms": round(statistics.fmean(ms), 3)}  # fmt: skip


def phase_setup(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import insert

    from privguard.internals.prevention import db
    from privguard.internals.prevention.decisions.models import DecisionRow

    s = _settings(args)
    (s.data_dir / "keys").mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    # Hex text, as the decision log writes and reads it (common.keys.load_key).
    (s.data_dir / "keys" / "decisions.hmac").write_text(key.hex() + "\n", encoding="ascii")
    engine = db.make_engine(s.url)
    db.upgrade(engine)
    _vault(args)  # creates the vault's keys
    rows = [
        {"decision_id": f"bench{i:012d}", "at": when, "facility": FACILITY,
         "number_hmac": hmac.new(key, f"number:{number}".encode(), sha256).hexdigest(),
         "account_hmac": "", "record": True, "reason": "NOT_REGISTERED",
         "private_call_declared": False, "entry_ref": "", "checkpoint_size": None,
         "checkpoint_root": "", "supersedes": "", "ledger_index": None}
        for i, (_, number, when) in enumerate(_plan(args))
    ]  # fmt: skip
    start = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(DecisionRow), rows[i : i + 5000])
    return {"decisions_inserted": len(rows), "wall_s": round(time.perf_counter() - start, 2)}


def phase_store(args: argparse.Namespace) -> dict[str, Any]:
    from privguard.internals.prevention.vault import AccessContext

    vault = _vault(args)
    ctx = AccessContext("facility_system:gate", "facility_system", source="bench")
    data = os.urandom(args.size)
    times = []
    start = time.perf_counter()
    for i, (inmate, number, when) in enumerate(_plan(args)):
        t = time.perf_counter()
        vault.store(ctx, f"bench{i:012d}", data[i % 64 :] + data[: i % 64], facility=FACILITY,
                    inmate_account=inmate, dialed_number=number, started_at=when)  # fmt: skip
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    return {"recordings": len(times), "wall_s": round(wall, 1),
            "per_s": round(len(times) / wall, 1), **_stats(times)}  # fmt: skip


def _ids(vault: Any) -> list[str]:
    from sqlalchemy import select

    from privguard.internals.prevention.vault.models import Recording

    with vault.factory() as s:
        return list(s.scalars(select(Recording.id).order_by(Recording.id)))


def phase_access(args: argparse.Namespace) -> dict[str, Any]:
    from privguard.internals.prevention.vault import AccessContext

    vault = _vault(args)
    ids = _ids(vault)
    rng = random.Random(args.seed + 1)
    times = []
    for i in range(args.reads):
        ctx = AccessContext(f"investigator:i{i % 20}", "investigator", "CR-2024-1",
                            "benchmark of logged access", "bench")  # fmt: skip
        t = time.perf_counter()
        vault.read(ctx, rng.choice(ids), "play")
        times.append(time.perf_counter() - t)
    return {"reads": len(times), "wall_s": round(sum(times), 2), **_stats(times)}


def phase_quarantine(args: argparse.Namespace) -> dict[str, Any]:
    from privguard.internals.prevention import db
    from privguard.internals.prevention.registry.models import Attorney, PrivilegedNumber
    from privguard.internals.prevention.vault import AccessContext
    from privguard.internals.prevention.vault.protect import sweep

    vault = _vault(args)
    pool = _numbers(args.pool, args.seed)
    chosen = random.Random(args.seed + 2).sample(pool, args.registered)
    with db.transaction(vault.factory) as s:
        att = Attorney(kind="attorney", name="Bench Counsel")
        s.add(att)
        s.flush()
        for n in chosen:
            s.add(PrivilegedNumber(number=n, extension="", attorney_id=att.id, facilities="*",
                                   effective_from=T0.date(), source="staff_entry"))  # fmt: skip
    ctx = AccessContext("registrar:bench", "registrar", reason="bench registrations")
    start = time.perf_counter()
    done = sweep(vault, ctx)
    return {"registered_numbers": len(chosen), "quarantined": len(done),
            "wall_s": round(time.perf_counter() - start, 2)}  # fmt: skip


def phase_produce(args: argparse.Namespace) -> dict[str, Any]:
    from privguard.internals.prevention.vault import AccessContext
    from privguard.internals.prevention.vault.production import produce

    vault = _vault(args)
    ctx = AccessContext("records_officer:bench", "records_officer", "SUBP-1",
                        "benchmark subpoena production", "bench")  # fmt: skip
    out = Path(args.dir) / "productions"
    times, included, withheld = [], 0, 0
    for k in range(args.productions):
        inmate = f"I{(k * 37) % args.inmates:05d}"
        t = time.perf_counter()
        p = produce(vault, ctx, inmate, T0, T0 + dt.timedelta(days=3650), out / f"p{k}")
        times.append(time.perf_counter() - t)
        included, withheld = included + p.included, withheld + p.withheld
        shutil.rmtree(out / f"p{k}")
    return {"productions": len(times), "calls_per_production": args.recordings // args.inmates,
            "included": included, "withheld": withheld, "wall_s": round(sum(times), 2),
            **_stats(times)}  # fmt: skip


def phase_purge(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import select

    from privguard.internals.prevention.vault import AccessContext
    from privguard.internals.prevention.vault.models import Recording
    from privguard.internals.prevention.vault.protect import purge

    vault = _vault(args)
    with vault.factory() as s:
        ids = list(s.scalars(select(Recording.id).where(Recording.state == "quarantined")
                             .order_by(Recording.id).limit(args.purge)))  # fmt: skip
    ctx = AccessContext("admin:bench", "admin", "ORDER-1", "benchmark purge order", "bench")
    start = time.perf_counter()
    cert = purge(vault, ctx, ids, authority="bench order")
    return {"purged": len(ids), "wall_s": round(time.perf_counter() - start, 2),
            "certificate_bytes": len(cert)}  # fmt: skip


def phase_verify(args: argparse.Namespace) -> dict[str, Any]:
    from privguard.internals.prevention import db
    from privguard.internals.prevention.vault.access import ACCESS_ORIGIN

    vault = _vault(args)
    start = time.perf_counter()
    with db.transaction(vault.factory) as s:
        vault.ledger.checkpoint(s)
        report = vault.ledger.verify(s, vault.signer.for_name(ACCESS_ORIGIN).verifiers())
    return {
        "entries": report.size,
        "ok": report.ok,
        "wall_s": round(time.perf_counter() - start, 2),
    }


PHASES = ("setup", "store", "access", "quarantine", "produce", "purge", "verify")


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--recordings", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=8192, help="bytes per synthetic recording")
    ap.add_argument("--inmates", type=int, default=1000)
    ap.add_argument("--pool", type=int, default=20_000, help="distinct numbers called")
    ap.add_argument("--registered", type=int, default=200)
    ap.add_argument("--reads", type=int, default=2000)
    ap.add_argument("--productions", type=int, default=20)
    ap.add_argument("--purge", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", default=None, help="database URL (default: SQLite in --dir)")
    ap.add_argument("--dir", default=None, help="data directory (default: a temporary one)")
    ap.add_argument("--phase", choices=PHASES, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.phase:  # a child: one phase, its result and its own peak memory as JSON
        result = globals()[f"phase_{args.phase}"](args)
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result))
        return
    tmp = None
    if args.dir is None:
        tmp = tempfile.mkdtemp(prefix="vault-bench-")
        args.dir = tmp
    summary: dict[str, Any] = {
        "command": " ".join(sys.argv), "recordings": args.recordings, "size": args.size,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "load_avg_before": [round(x, 2) for x in os.getloadavg()], "phases": {},
    }  # fmt: skip
    try:
        for phase in PHASES:
            cmd = [sys.executable, __file__, "--phase", phase, "--dir", args.dir]
            for k in ("recordings", "size", "inmates", "pool", "registered", "reads",
                      "productions", "purge", "seed", "url"):  # fmt: skip
                if getattr(args, k) is not None:
                    cmd += [f"--{k}", str(getattr(args, k))]
            load = os.getloadavg()[0]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["load_avg_1m_at_start"] = round(load, 2)
            summary["phases"][phase] = result
            print(phase, json.dumps(result), file=sys.stderr, flush=True)
        root = Path(args.dir)
        summary["disk_mb"] = {
            "blobs": round(_du(root / "vault") / 2**20, 1),
            "database": round(sum(_du(p) if p.is_dir() else p.stat().st_size
                                  for p in root.glob("privguard.db*")) / 2**20, 1),
        }  # fmt: skip
        if args.url and args.url.startswith("postgresql"):
            from sqlalchemy import create_engine, text

            engine = create_engine(args.url)
            with engine.connect() as conn:
                size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            engine.dispose()
            summary["disk_mb"]["database"] = round(int(size or 0) / 2**20, 1)
        summary["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
