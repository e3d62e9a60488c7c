"""The opening every case-file section shares: not given, not a table, unknown keys.

Each stage's ``parse(section, problems)`` (``[engine]``, ``[ingest]``, ``[normalize]``,
``[dedupe]``, ``[identify]``, ``[findings]``, ``[privacy]``, ``[case]``, ``[spark]``)
starts with :func:`open_section`, so the same mistake reads the same in every section,
and every problem is recorded, none raised: the case file's problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from privguard.errors import Problems


def open_section(
    section: Any, where: str, known: Sequence[str], problems: Problems
) -> dict[str, Any] | None:
    """The section's table to read its keys from, or None for the defaults.

    ``section`` is the value the case file gives (None when absent); ``where`` names it as
    a person reads it (``"[dedupe]"``); ``known`` lists its keys, in the order the message
    gives them. A value that is not a table adds "``where`` must be a table" and gives
    None; each unknown key adds a problem naming the known ones (:func:`unknown_keys`),
    and the known keys are still read.
    """
    if section is None:
        return None
    if not isinstance(section, dict):
        problems.add(f"{where} must be a table")
        return None
    unknown_keys(section, where, known, problems)
    return section


def unknown_keys(
    table: dict[str, Any], where: str, known: Sequence[str], problems: Problems
) -> None:
    """Add one problem per key of ``table`` not in ``known``, in sorted order."""
    for key in sorted(set(table) - set(known)):
        problems.add(f"{where} unknown key {key!r}; known keys: {', '.join(known)}")
