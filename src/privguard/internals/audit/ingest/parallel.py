"""Per-table work on both cores: a few workers, each with its own engine connection.

Some staged tables live as temporary tables in the connection that read them (JSON), so
such a table is written by the same worker that staged it; every other table (delimited text
parsed when written, Parquet files) may be written by either. :meth:`Workers.spread` hands
items, largest first, to whichever worker is free and remembers who took each;
:meth:`Workers.pinned` runs pinned items on their worker and the rest on whichever is free.
Items are taken as workers free up, not dealt out in advance: a file's cost per byte differs
tenfold between formats, so sizes alone cannot share the work out evenly.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from privguard.internals.audit.engines import EngineOptions, Executor, connect

T = TypeVar("T")
R = TypeVar("R")


def _default_memory(workers: int) -> str:
    """Split 70% of the machine's memory between the workers' engines."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2GB"
    return f"{max(256, int(total * 0.7 / workers / 2**20))}MB"


_UNITS = {
    "KB": 2**10,
    "KIB": 2**10,
    "MB": 2**20,
    "MIB": 2**20,
    "GB": 2**30,
    "GIB": 2**30,
    "TB": 2**40,
    "TIB": 2**40,
}


def _share(limit: str, workers: int) -> str | None:
    """One worker's part of a memory limit such as "4GB"; None when it cannot be read."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", limit)
    if not m or m.group(2).upper() not in _UNITS:
        return None
    return f"{max(64, int(float(m.group(1)) * _UNITS[m.group(2).upper()] / workers / 2**20))}MB"


class Workers:
    """A fixed set of worker threads, each owning one engine connection."""

    def __init__(self, options: EngineOptions, scratch: Path, workers: int = 2) -> None:
        self.n = max(1, workers)
        self.executors: list[Executor] = []
        for k in range(self.n):
            # The workers share the caller's limit rather than each taking all of it.
            limit = _share(options.memory_limit, self.n) if options.memory_limit else None
            opts = replace(options, memory_limit=limit or _default_memory(self.n))
            # Spilled staging data goes under the workspace, never the current directory.
            base = opts.temp_directory or scratch
            opts = replace(opts, temp_directory=Path(base) / f"engine_{k}")
            ex = connect(opts)
            self.executors.append(ex)

    def _run(
        self,
        pinned: list[list[tuple[int, Any]]],
        shared: list[tuple[int, Any]],
        fn: Callable[[Executor, Any], Any],
    ) -> tuple[dict[int, Any], dict[int, int]]:
        """Run each worker's ``pinned`` items, then take ``shared`` items in order as it
        frees up. Returns the results and who ran each item, both by index."""
        results: dict[int, Any] = {}
        ran: dict[int, int] = {}
        errors: list[BaseException] = []
        lock = threading.Lock()
        queue = list(reversed(shared))  # popped from the end: in the given order

        def take(k: int) -> tuple[int, Any] | None:
            if pinned[k]:
                return pinned[k].pop(0)
            with lock:
                return queue.pop() if queue else None

        def work(k: int) -> None:
            while not errors and (job := take(k)) is not None:
                i, item = job
                ran[i] = k
                try:
                    results[i] = fn(self.executors[k], item)
                except BaseException as exc:  # re-raised in the calling thread
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=work, args=(k,)) for k in range(1, self.n)]
        for t in threads:
            t.start()
        work(0)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results, ran

    def spread(
        self, items: Sequence[T], size: Callable[[T], int], fn: Callable[[Executor, T], R]
    ) -> tuple[list[R], list[int]]:
        """``fn(executor, item)`` for every item; results in order, and who ran each.

        Items are taken largest first (by ``size``) by whichever worker is free.
        """
        order = sorted(range(len(items)), key=lambda i: (-size(items[i]), i))
        results, ran = self._run([[] for _ in range(self.n)], [(i, items[i]) for i in order], fn)
        return [results[i] for i in range(len(items))], [ran[i] for i in range(len(items))]

    def pinned(
        self,
        items: Sequence[T],
        owner: Sequence[int | None],
        fn: Callable[[Executor, T], R],
        size: Callable[[T], int] = lambda item: 0,
    ) -> list[R]:
        """``fn(executor, item)`` on the worker ``owner[i]`` for each item; an item whose
        owner is None runs on whichever worker is free, largest (``size``) first."""
        jobs: list[list[tuple[int, Any]]] = [[] for _ in range(self.n)]
        shared: list[tuple[int, Any]] = []
        for i, (item, k) in enumerate(zip(items, owner, strict=True)):
            (shared if k is None else jobs[k]).append((i, item))
        shared.sort(key=lambda job: (-size(job[1]), job[0]))
        results, _ = self._run(jobs, shared, fn)
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        """Close every worker connection (their temporary tables go with them)."""
        for ex in self.executors:
            ex.close()
        self.executors.clear()
