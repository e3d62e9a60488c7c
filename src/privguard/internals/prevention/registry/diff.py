"""``diff``: two lists of protected numbers, every number missing, extra or changed named.

The sides can be a snapshot, the registry's active set for a facility, or a facility's
own do-not-record list (CSV/XLSX, read with the audit's ``load_registry``). This is the
reconciliation that nobody ran when an upgrade turned 1,300 numbers into 72.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from privguard.internals.common.lists.sources import load_registry
from privguard.internals.prevention.registry.snapshots import Snapshot, SnapshotEntry

_SHOWN = ("extension", "effective_from", "effective_to")


@dataclass(frozen=True)
class Listed:
    """One number on one side: its extension(s), dates (None: unknown) and where it came from."""

    number: str
    extension: str | None
    effective_from: dt.date | None
    effective_to: dt.date | None
    ref: str  # "registration 17", "line 42", "list.csv row 9"


@dataclass(frozen=True)
class NumberSet:
    """One side of a diff: a label and its numbers by E.164."""

    label: str
    numbers: dict[str, Listed]


@dataclass(frozen=True)
class Changed:
    """A number on both sides whose ``field`` differs."""

    number: str
    field: str
    a: str
    b: str
    a_ref: str
    b_ref: str


@dataclass(frozen=True)
class Diff:
    """``missing``: in A, not in B. ``extra``: in B, not in A. ``changed``: on both, differing."""

    a: str
    b: str
    a_count: int
    b_count: int
    missing: tuple[Listed, ...]
    extra: tuple[Listed, ...]
    changed: tuple[Changed, ...]

    @property
    def same(self) -> bool:
        """True when B holds exactly A's numbers with the same details."""
        return not (self.missing or self.extra or self.changed)


def _merge(items: Iterable[Listed]) -> dict[str, Listed]:
    out: dict[str, Listed] = {}
    for item in items:
        have = out.get(item.number)
        if have is None:
            out[item.number] = item
            continue
        exts = sorted(
            {*(have.extension or "").split(","), *(item.extension or "").split(",")} - {""}
        )
        out[item.number] = Listed(
            item.number,
            ",".join(exts) if have.extension is not None else None,
            min(filter(None, (have.effective_from, item.effective_from)), default=None),
            None
            if None in (have.effective_to, item.effective_to)
            else max(have.effective_to, item.effective_to),  # type: ignore[type-var]
            have.ref + "; " + item.ref,
        )
    return out


def from_entries(
    label: str, entries: Iterable[SnapshotEntry], ref: str = "registration"
) -> NumberSet:
    """A side from snapshot entries or the registry's active set."""
    return NumberSet(
        label,
        _merge(
            Listed(e.number, e.extension, e.effective_from, e.effective_to, f"{ref} {e.id}")
            for e in entries
        ),
    )


def from_snapshot(label: str, snap: Snapshot) -> NumberSet:
    """A side from a read snapshot."""
    return from_entries(label, snap.entries)


def from_facility_list(path: Path, facility: str | None, on: dt.date) -> NumberSet:
    """A side from a facility's own list: rows for ``facility`` (or all), in effect on ``on``."""
    table = load_registry(Path(path))
    code = facility.strip().upper() if facility else None
    items = []
    for r in table.to_pylist():
        if code and r["facility"] not in (None, code):
            continue
        if r["registered_from"] and r["registered_from"] > on:
            continue
        if r["registered_until"] and r["registered_until"] <= on:
            continue
        items.append(
            Listed(
                r["number"],
                None,
                r["registered_from"],
                r["registered_until"],
                f"{r['source_file']} {r['source_place']}",
            )
        )
    return NumberSet(Path(path).name, _merge(items))


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) or "none"


def compare(a: NumberSet, b: NumberSet) -> Diff:
    """Every difference between A (the reference) and B.

    A field one side does not know (a facility list has no extensions) is not compared;
    an end date is always compared (None means "no end").
    """
    missing = tuple(a.numbers[n] for n in sorted(a.numbers.keys() - b.numbers.keys()))
    extra = tuple(b.numbers[n] for n in sorted(b.numbers.keys() - a.numbers.keys()))
    changed: list[Changed] = []
    for n in sorted(a.numbers.keys() & b.numbers.keys()):
        x, y = a.numbers[n], b.numbers[n]
        for field in _SHOWN:
            u, v = getattr(x, field), getattr(y, field)
            if field != "effective_to" and (u is None or v is None):
                continue  # not known on one side (a facility list has no extensions)
            if u != v:
                changed.append(Changed(n, field, _text(u), _text(v), x.ref, y.ref))
    return Diff(a.label, b.label, len(a.numbers), len(b.numbers), missing, extra, tuple(changed))


def render(diff: Diff, limit: int | None = None) -> str:
    """The diff as a person reads it: counts first, then every number named."""
    lines = [
        f"A: {diff.a} ({diff.a_count} numbers)",
        f"B: {diff.b} ({diff.b_count} numbers)",
    ]
    if diff.same:
        return "\n".join([*lines, "Same: B holds every number of A, with the same details."])
    lines.append(
        f"{len(diff.missing)} missing from B, {len(diff.extra)} extra in B, "
        f"{len(diff.changed)} changed"
    )

    def cut(items: list[str]) -> list[str]:
        if limit is not None and len(items) > limit:
            return [*items[:limit], f"  ... and {len(items) - limit} more"]
        return items

    if diff.missing:
        lines.append("Missing from B (protected in A, not in B):")
        lines += cut([f"  {m.number}  ({m.ref})" for m in diff.missing])
    if diff.extra:
        lines.append("Extra in B (not in A):")
        lines += cut([f"  {m.number}  ({m.ref})" for m in diff.extra])
    if diff.changed:
        lines.append("Changed:")
        lines += cut(
            [
                f"  {c.number}  {c.field}: {c.a} in A ({c.a_ref}), {c.b} in B ({c.b_ref})"
                for c in diff.changed
            ]
        )
    return "\n".join(lines)
