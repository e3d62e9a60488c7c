"""The registry at scale: N numbers built from a feed, snapshotted, imported elsewhere, verified.

Each step runs in a fresh process so that its peak memory (max RSS) is its own. The feed is
generated here (CSV, three numbers per attorney) and never committed.

    PYTHONPATH=src python bench/registry.py --numbers 100000 --work /tmp/regbench
    PYTHONPATH=src python bench/registry.py --numbers 100000 --work /tmp/regbench \
        --database-url postgresql+psycopg://privguard:privguard@127.0.0.1:5432/regbench
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any


def _number(i: int) -> str:
    return f"+1{512 + i // 800_000}{200 + (i // 10_000) % 80:03d}{i % 10_000:04d}"


def write_feed(path: Path, n: int) -> None:
    """A bar list of ``n`` numbers, three per attorney."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Name,Bar Number,Phone\n")
        for i in range(n):
            fh.write(f"Attorney {i // 3},B{i // 3:07d},{_number(i)}\n")


def _open(url: str, data_dir: Path) -> Any:
    from privguard.internals.prevention.registry.api import Registry
    from privguard.internals.prevention.settings import ServiceSettings

    return Registry.open(ServiceSettings(data_dir=data_dir, database_url=url))


def _step(name: str, args: dict[str, Any]) -> dict[str, Any]:
    from privguard.internals.prevention.registry import api

    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if name in ("import-feed", "re-import-feed"):
        r = api.feed(_open(args["url"], args["data"]), args["feed"], source="bar_feed")
        out = {"added": r.added, "unchanged": r.unchanged, "ledger_entries": r.ledger_entries}
    elif name == "snapshot":
        issued = api.snapshot(_open(args["url"], args["data"]), "MAIN-JAIL", args["snap"])
        out = {"numbers": len(issued.snapshot.entries), "bytes": args["snap"].stat().st_size}
    elif name == "import-snapshot":
        key = args["vkey"]
        r2 = api.import_snapshot_file(_open(args["site_url"], args["site"]), args["snap"], key)
        out = {"numbers": len(r2.snapshot.entries)}
    elif name == "verify":
        rep = api.verify(_open(args["url"], args["data"]))
        out = {"ok": rep.ok, "entries": rep.ledger_size, "rows": rep.rows_checked}
    elif name == "diff":
        d = api.diff(
            _open(args["url"], args["data"]),
            "registry",
            str(args["snap"]),
            facility="MAIN-JAIL",
            on=args["on"],
        )
        out = {"same": d.same, "missing": len(d.missing), "extra": len(d.extra)}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _child(name: str, args: dict[str, Any], q: Any) -> None:
    q.put(_step(name, args))


def run_step(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one step in a fresh process; returns its figures."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(name, args, q))
    p.start()
    result: dict[str, Any] = q.get()
    p.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--database-url", default=None, help="default: SQLite in --work")
    a = parser.parse_args(argv)
    if a.work.exists():
        shutil.rmtree(a.work)
    a.work.mkdir(parents=True)
    data, site = a.work / "registry", a.work / "site"
    url = a.database_url or f"sqlite:///{(data / 'privguard.db').resolve()}"
    args: dict[str, Any] = {
        "url": url,
        "data": data,
        "feed": a.work / "bar.csv",
        "snap": a.work / "main.snapshot",
        "site": site,
        "site_url": f"sqlite:///{(site / 'privguard.db').resolve()}",
    }
    t0 = time.perf_counter()
    write_feed(args["feed"], a.numbers)
    figures: dict[str, Any] = {
        "numbers": a.numbers,
        "engine": url.split(":", 1)[0],
        "feed": {
            "seconds": round(time.perf_counter() - t0, 2),
            "bytes": args["feed"].stat().st_size,
        },
    }
    for step in ("import-feed", "re-import-feed", "snapshot"):
        figures[step] = run_step(step, args)
        print(step, figures[step], file=sys.stderr, flush=True)
    args["vkey"] = str(_open(url, data).signer.verifier())
    import datetime as dt

    from privguard.internals.prevention.registry.exports import next_monday

    args["on"] = next_monday(dt.datetime.now(dt.UTC).date())
    for step in ("import-snapshot", "verify", "diff"):
        figures[step] = run_step(step, args)
        print(step, figures[step], file=sys.stderr, flush=True)
    if url.startswith("sqlite"):
        figures["registry_db_bytes"] = (data / "privguard.db").stat().st_size
    figures["site_db_bytes"] = (site / "privguard.db").stat().st_size
    print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
