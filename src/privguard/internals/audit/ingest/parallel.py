"""Per-table work on both cores: a few workers, each with its own engine connection.

Staged tables live as temporary tables in the connection that read them, so a table is
written by the same worker that staged it: :meth:`Workers.spread` hands items to whichever
worker is free and remembers who took each; :meth:`Workers.pinned` runs items on the worker
that staged them.
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
        self, jobs: list[list[tuple[int, Any]]], fn: Callable[[Executor, Any], Any]
    ) -> dict[int, Any]:
        results: dict[int, Any] = {}
        errors: list[BaseException] = []

        def work(k: int) -> None:
            for i, item in jobs[k]:
                if errors:
                    return
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
        return results

    def spread(
        self, items: Sequence[T], size: Callable[[T], int], fn: Callable[[Executor, T], R]
    ) -> tuple[list[R], list[int]]:
        """``fn(executor, item)`` for every item; results in order, and who ran each."""
        # Largest first, each to the least loaded worker: the work ends at about the same time.
        load = [0] * self.n
        jobs: list[list[tuple[int, Any]]] = [[] for _ in range(self.n)]
        owner = [0] * len(items)
        for i in sorted(range(len(items)), key=lambda i: -size(items[i])):
            k = load.index(min(load))
            load[k] += size(items[i]) + 4096  # a per-item cost, so tiny items spread too
            jobs[k].append((i, items[i]))
            owner[i] = k
        for j in jobs:
            j.sort()
        results = self._run(jobs, fn)
        return [results[i] for i in range(len(items))], owner

    def pinned(
        self, items: Sequence[T], owner: Sequence[int], fn: Callable[[Executor, T], R]
    ) -> list[R]:
        """``fn(executor, item)`` on the worker ``owner[i]`` for each item."""
        jobs: list[list[tuple[int, Any]]] = [[] for _ in range(self.n)]
        for i, (item, k) in enumerate(zip(items, owner, strict=True)):
            jobs[k].append((i, item))
        results = self._run(jobs, fn)
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        """Close every worker connection (their temporary tables go with them)."""
        for ex in self.executors:
            ex.close()
        self.executors.clear()
