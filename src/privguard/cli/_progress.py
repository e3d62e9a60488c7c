"""Rich progress bars for the library's :class:`Progress` callback."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

# What each task counts, so a bar reads "12,345/40,000 calls", not a bare ratio.
UNITS = {
    "reading tables": "bytes",
    "writing tables": "tables",
    "Generating calls": "calls",
    "Assembling archives, databases and dumps": "files",
}


class RichProgress:
    """Renders library progress as rich progress bars on stderr."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} {task.fields[unit]}"),
            TimeElapsedColumn(),
            transient=False,
            console=Console(stderr=True),
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, task: str, total: float | None = None) -> None:
        unit = UNITS.get(task, "steps")
        self._tasks[task] = self._bar.add_task(task, total=total, unit=unit)

    def advance(self, task: str, amount: float = 1) -> None:
        if task in self._tasks:
            self._bar.advance(self._tasks[task], amount)

    def finish(self, task: str) -> None:
        if task in self._tasks:
            t = self._tasks[task]
            total = self._bar.tasks[t].total
            self._bar.update(
                t, completed=total if total is not None else self._bar.tasks[t].completed
            )
