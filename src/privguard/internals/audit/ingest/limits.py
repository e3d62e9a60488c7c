"""Limits on what the archives of a dump may extract: the ``[ingest]`` section of a case file.

A leak can hold a hostile archive: a 1 MB zip that writes 1 GiB, or 500 zips nested in one
another. Each limit refuses such an archive with an :class:`~privguard.errors.InputError`
that names the member, the limit and the setting, *before* the bytes are written::

    [ingest]
    max_extracted_bytes = "64GB"   # all archive members and gzip files together, as extracted
    max_compression_ratio = 100    # extracted size / compressed size of one member (or .gz)
    max_archive_depth = 6          # archives inside archives (a zip in a zip is depth 2)

``max_extracted_bytes`` takes a whole number of bytes or text such as ``"500MB"`` or
``"2GiB"``. The ratio is judged only once a member passes ``RATIO_FLOOR`` bytes, so a small
file of repeated values (which compresses very well and harms nothing) is never refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from privguard.errors import InputError, Problems
from privguard.internals.audit.section import open_section

RATIO_FLOOR = 1 << 20  # a member smaller than this is never refused for its ratio
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")
_FIX = (
    "if this archive is genuine evidence, raise [ingest] {key} in the case file "
    "(docs/case-file.md) and run again; otherwise remove it from the dump"
)


@dataclass(frozen=True)
class Limits:
    """Validated ``[ingest]`` settings: what archives may extract."""

    max_extracted_bytes: int = 64 * 10**9
    max_compression_ratio: float = 100.0
    max_archive_depth: int = 6


def size_bytes(value: Any) -> int | None:
    """A size in bytes from a whole number or text such as ``"500MB"``; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _SIZE.fullmatch(value)
    unit = _UNITS.get(m.group(2).upper()) if m else None
    if m is None or unit is None:
        return None
    n = int(float(m.group(1)) * unit)
    return n if n > 0 else None


def parse(section: Any, problems: Problems) -> Limits:
    """Validate the ``[ingest]`` section, adding every problem to ``problems``."""
    known = ("max_extracted_bytes", "max_compression_ratio", "max_archive_depth")
    section = open_section(section, "[ingest]", known, problems)
    if section is None:
        return Limits()
    values: dict[str, Any] = {}
    if "max_extracted_bytes" in section:
        size = size_bytes(section["max_extracted_bytes"])
        if size is None:
            problems.add(
                '[ingest] max_extracted_bytes must be a size such as "64GB" or a whole '
                "number of bytes above 0"
            )
        else:
            values["max_extracted_bytes"] = size
    ratio = section.get("max_compression_ratio")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio < 1:
            problems.add("[ingest] max_compression_ratio must be a number of at least 1")
        else:
            values["max_compression_ratio"] = float(ratio)
    depth = section.get("max_archive_depth")
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 100:
            problems.add("[ingest] max_archive_depth must be a whole number from 1 to 100")
        else:
            values["max_archive_depth"] = depth
    return Limits(**values)


class Budget:
    """What the archives of one dump have extracted so far, against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.written = 0

    def enter(self, name: str, depth: int) -> None:
        """Refuse an archive nested deeper than ``max_archive_depth``."""
        if depth > self.limits.max_archive_depth:
            raise InputError(
                f"archives are nested {depth} deep here, more than max_archive_depth "
                f"({self.limits.max_archive_depth}); refused before extracting it",
                where=name,
                fix=_FIX.format(key="max_archive_depth"),
            )

    def admit(self, name: str, size: int, packed: int) -> None:
        """Refuse a member before writing it, by the size and ratio its archive declares."""
        self._check(name, self.written + size, size, packed, "would extract")

    def spend(self, name: str, n: int, so_far: int, packed: int) -> None:
        """Count ``n`` bytes written (``so_far`` of this member); refuse past a limit."""
        self.written += n
        self._check(name, self.written, so_far, packed, "extracted")

    def _check(self, name: str, total: int, size: int, packed: int, verb: str) -> None:
        lim = self.limits
        if total > lim.max_extracted_bytes:
            raise InputError(
                f"the dump's archives {verb} more than max_extracted_bytes "
                f"({lim.max_extracted_bytes:,} bytes) with this member ({size:,} bytes); "
                "refused before writing past the limit",
                where=name,
                fix=_FIX.format(key="max_extracted_bytes"),
            )
        ratio = size / max(packed, 1)
        if size > RATIO_FLOOR and ratio > lim.max_compression_ratio:
            raise InputError(
                f"this member {verb} {size:,} bytes from {packed:,} compressed (ratio "
                f"{ratio:,.0f}), more than max_compression_ratio "
                f"({lim.max_compression_ratio:g}): a decompression bomb?",
                where=name,
                fix=_FIX.format(key="max_compression_ratio"),
            )
