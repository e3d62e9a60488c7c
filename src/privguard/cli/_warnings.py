"""The run's warnings, gathered for the end-of-run summary: grouped, counted, as sentences.

The library logs warnings as it goes (``logging``); a person running ``privguard audit``
reads them once, at the end, under the headline, instead of interleaved with progress bars
and prefixed with logger names. With ``-v`` they are also shown as they happen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from privguard.errors import printable


@dataclass
class _Group:
    first: str  # the first warning of its kind, as a sentence
    seen: set[str] = field(default_factory=set)  # distinct warnings: a repeat is one
    examples: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.seen)


class WarningLog(logging.Handler):
    """Collects privguard's warnings; :meth:`lines` gives them grouped for the summary."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._groups: dict[str, _Group] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            return  # errors are shown as they happen and end the run
        text = sentence(record.getMessage())
        group = self._groups.setdefault(kind_of(text), _Group(text))
        group.seen.add(text)
        if text not in group.examples and len(group.examples) < 2:
            group.examples.append(text)

    def __len__(self) -> int:
        return sum(g.count for g in self._groups.values())

    def lines(self) -> list[str]:
        """'Warnings (N):' and one line per kind, with how many times and up to 2 examples."""
        if not self._groups:
            return []
        out = ["", f"Warnings ({len(self):,}):"]
        for g in self._groups.values():
            if g.count == 1:
                out.append(f"  - {g.first}")
                continue
            out.append(f"  - {g.count:,} times: {g.examples[0]}")
            out.extend(f"      also: {e}" for e in g.examples[1:])
            if g.count > len(g.examples):
                out.append(f"      and {g.count - len(g.examples):,} more like these")
        return out


# What varies between warnings of one kind: paths and file names, [table] names, numbers.
_VALUES = re.compile(r"\S*[/\\.]\S*[\w\]]|\[[^\]]*\]|\d[\d,.]*")


def kind_of(text: str) -> str:
    """What a warning says with its values masked: "a.csv: 3 rows set aside" and "b.csv: 1
    rows set aside" are one kind, shown once with a count."""
    return _VALUES.sub("…", text)


def sentence(message: str) -> str:
    """A log message as a sentence: printable, capitalized (unless it starts with a file
    name), ending with a full stop."""
    text = printable(message).strip()
    if not text:
        return text
    first = text.split(" ", 1)[0].rstrip(",:;")
    if first.isalpha() and first.islower():  # a word, not a file name or a number
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


class _Quiet(logging.Filter):
    """Keeps privguard's warnings off the console while they are gathered for the summary."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.WARNING
            and (record.name == "privguard" or record.name.startswith("privguard."))
        )


@contextmanager
def gathered(live: bool) -> Iterator[WarningLog]:
    """Gather privguard's warnings during the block; ``live``: also show them as they come."""
    collector = WarningLog()
    logger = logging.getLogger("privguard")
    logger.addHandler(collector)
    quiet = _Quiet()
    consoles = [] if live else [h for h in logging.getLogger().handlers
                                if isinstance(h, logging.StreamHandler)]  # fmt: skip
    for h in consoles:
        h.addFilter(quiet)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        for h in consoles:
            h.removeFilter(quiet)
