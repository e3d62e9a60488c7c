"""Run per-table work on both cores: big items one at a time with every engine thread,
small items two at a time, each worker with its own single-threaded engine connection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from privguard.internals.engines import EngineOptions, Executor, connect

T = TypeVar("T")
R = TypeVar("R")

BIG_BYTES = 64 << 20  # an item this large keeps the engine's own parallel scan to itself


class Workers:
    """Maps work over items; the caller's executor handles the big ones."""

    def __init__(self, main: Executor, workers: int = 2) -> None:
        self.main = main
        self.workers = workers
        options = getattr(main, "options", None)
        self.options = replace(
            options if isinstance(options, EngineOptions) else EngineOptions(), threads=1
        )
        self._local = threading.local()
        self._opened: list[Executor] = []
        self._lock = threading.Lock()

    def _executor(self) -> Executor:
        ex: Executor | None = getattr(self._local, "ex", None)
        if ex is None:
            ex = connect(self.options)
            self._local.ex = ex
            with self._lock:
                self._opened.append(ex)
        return ex

    def map(
        self, items: Sequence[T], size: Callable[[T], int], fn: Callable[[Executor, T], R]
    ) -> list[R]:
        """``fn(executor, item)`` for every item, results in the order of ``items``."""
        results: dict[int, R] = {}
        small = [i for i, item in enumerate(items) if size(item) < BIG_BYTES]
        for i, item in enumerate(items):
            if size(item) >= BIG_BYTES:
                results[i] = fn(self.main, item)
        if self.workers <= 1 or len(small) <= 1:
            for i in small:
                results[i] = fn(self.main, items[i])
        else:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="ingest") as pool:
                futures = {i: pool.submit(lambda it: fn(self._executor(), it), items[i])
                           for i in small}  # fmt: skip
                for i, fut in futures.items():
                    results[i] = fut.result()
        return [results[i] for i in range(len(items))]

    def close(self) -> None:
        """Close the workers' connections."""
        for ex in self._opened:
            ex.close()
        self._opened.clear()
