"""How library code reports progress without printing: the caller passes a callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Progress(Protocol):
    """Receives progress from long work. The CLI renders it as progress bars."""

    def start(self, task: str, total: float | None = None) -> None: ...

    def advance(self, task: str, amount: float = 1) -> None: ...

    def finish(self, task: str) -> None: ...


class NullProgress:
    """Progress that goes nowhere: the default for library calls and tests."""

    def start(self, task: str, total: float | None = None) -> None:
        pass

    def advance(self, task: str, amount: float = 1) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


ProgressFactory = Callable[[], Progress]
