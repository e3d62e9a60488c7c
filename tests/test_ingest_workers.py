"""Ingest writes the same bytes however many workers share the tables, and in any order."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from privguard.internals.audit.engines import EngineOptions
from privguard.internals.audit.ingest import api
from privguard.internals.audit.ingest.parallel import Workers


def _digests(work: Path) -> dict[str, str]:
    files = [*sorted((work / "ingested").glob("*.parquet")), work / "rejects.csv"]
    files.append(work / "ingest_report.json")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_one_two_and_three_workers_write_identical_bytes(
    synthetic_leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    formats = {p.suffix for p in (synthetic_leak / "dump").rglob("*") if p.is_file()}
    assert len(formats) >= 4, formats  # several readers, so the queue mixes their tables
    seen = {}
    for n in (1, 2, 3):
        monkeypatch.setattr(api, "WORKERS", n)
        api.ingest(synthetic_leak / "dump", tmp_path / f"w{n}")
        seen[n] = _digests(tmp_path / f"w{n}")
    assert len(seen[1]) > 3
    assert seen[1] == seen[2] == seen[3]


def test_pinned_items_stay_on_their_worker_and_free_items_run_once(tmp_path: Path) -> None:
    workers = Workers(EngineOptions(), tmp_path, 2)
    ran: list[tuple[int, int]] = []
    lock = threading.Lock()

    def job(ex: object, item: int) -> int:
        with lock:
            ran.append((item, workers.executors.index(ex)))  # type: ignore[arg-type]
        return item * 10

    try:
        items = list(range(12))
        owner = [0 if i % 4 == 0 else 1 if i % 4 == 1 else None for i in items]
        out = workers.pinned(items, owner, job, size=lambda i: i)
        spread, who = workers.spread(items, lambda i: i, job)
    finally:
        workers.close()
    assert out == spread == [i * 10 for i in items]  # results in the items' order
    pinned_runs = ran[: len(items)]
    assert sorted(i for i, _ in pinned_runs) == items  # each item once
    for i, k in pinned_runs:
        if owner[i] is not None:
            assert k == owner[i]
    assert set(who) <= {0, 1} and len(who) == len(items)
