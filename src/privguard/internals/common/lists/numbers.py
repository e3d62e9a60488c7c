"""The phone numbers of one directory or registry row, read with the row's country.

Real directories write international numbers the way people dial them from abroad or
from home ("44 7834 889 903", "0033153897004"), without ``+``. Read as North American
numbers they are invalid at best and a bogus ``+1`` number at worst, so a row's
``country`` column (when the file has one) gives the region they are read in. A row with
no country is read as before: a North American number, or an international one that
says its country with ``+``; anything else is set aside with its reason, never guessed.
Every row is either accepted or set aside, and every set-aside keeps where and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from privguard.internals.common.lists.tables import Cell
from privguard.internals.common.phones import (
    REASONS,
    Number,
    country_region,
    reason_label,
    split_numbers,
    to_e164,
)


@dataclass(frozen=True)
class SetAside:
    """A row (or one number of a row) that gave no valid number: where, as written, why."""

    place: str
    raw: str | None
    reason: str


@dataclass(frozen=True)
class RowNumbers:
    """The valid E.164 numbers of one row (each once, in cell order) and the parts set aside."""

    numbers: tuple[str, ...]
    set_aside: tuple[tuple[str | None, str], ...]

    def row_set_aside(self, place: str) -> SetAside | None:
        """The row itself set aside (no valid number at all), with the first reason."""
        if self.numbers:
            return None
        raw, reason = self.set_aside[0] if self.set_aside else (None, REASONS["empty"])
        return SetAside(place, raw, reason)


def read_number(raw: str, country: Cell) -> Number:
    """One number as written, read in the region of ``country`` (blank: North America)."""
    text = country.strip() if isinstance(country, str) else ""
    if not text:
        return to_e164(raw)
    region = country_region(text)
    if region is None:
        # A leading + names the country itself; without it the number cannot be placed.
        if raw.lstrip().startswith("+"):
            return to_e164(raw)
        return Number(None, None, "invalid: country not recognized")
    return to_e164(raw, region)


def _why(number: Number, country: Cell) -> str:
    """Plain words for an invalid number, naming the country it was read in."""
    label = reason_label(number.status)
    text = country.strip() if isinstance(country, str) else ""
    if not text:
        return label + " (read as a North American number: no country given)"
    if number.status == "invalid: country not recognized":
        return f"country {text!r} not recognized"
    return f"{label} (read as a number of {text})"


def row_numbers(cells: Sequence[Cell], country: Cell = None) -> RowNumbers:
    """Read every number written in a row's phone cells; invalid parts keep their reason."""
    found: list[str] = []
    aside: list[tuple[str | None, str]] = []
    for cell in cells:
        if not isinstance(cell, str):
            continue
        parts = split_numbers(cell)
        if not parts:
            aside.append((cell, reason_label(to_e164(cell).status)))
        for part in parts:
            number = read_number(part, country)
            if number.e164:
                found.append(number.e164)
            else:
                aside.append((part, _why(number, country)))
    return RowNumbers(tuple(dict.fromkeys(found)), tuple(aside))


def summary(set_aside: Iterable[SetAside]) -> str:
    """``"22 no number written, 1 country 'Narnia' not recognized"``: counts per reason."""
    counts = Counter(s.reason for s in set_aside)
    return ", ".join(f"{n} {why}" for why, n in counts.most_common())
