"""The registry state a decision is made against: built once at load, never changed.

A :class:`RegistryState` maps each canonical (E.164) number to its registry entries, in a
read-only mapping, together with the checkpoint (tree size and root) of the registry log
the snapshot was cut from and the time after which it must not be used (``not_after``).
Checks run on the bytes of a snapshot *before* a state is built (:mod:`.snapshot`); a
state that exists has passed them.

Dates: ``effective_from`` is the first day an entry protects and ``effective_to`` the first
day it no longer does (half-open, like the audit's registry intervals). The day is the
facility's local day when the state knows the facility's zone (``zones``), else the UTC
day; the gate is then at most a few hours early or late at the edges of a registration,
and an entry's first day is counted from its UTC midnight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

from privguard.errors import InputError
from privguard.internals.prevention.decisions.canon import canonical

ALL = None  # an entry's facilities: None means every facility


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The registry log's tree head a snapshot (and so a decision) was made against."""

    size: int
    root: str  # hex

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"size": self.size, "root": self.root}


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One registration of a number, as the gate needs it."""

    number: str  # E.164
    facilities: frozenset[str] | None = ALL  # upper-case facility codes, None = all
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    extension: str = ""
    ref: str = ""  # where the entry comes from: registry id, ledger index, file row

    def covers(self, facility: str, day: dt.date) -> bool:
        """Whether this entry protects a call from ``facility`` on ``day``."""
        if self.facilities is not None and facility.strip().upper() not in self.facilities:
            return False
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_to is None or day < self.effective_to

    def to_dict(self) -> dict[str, object]:
        """JSON form (dates ISO, facilities sorted or ``*``)."""
        return {
            "number": self.number,
            "extension": self.extension,
            "facilities": "*" if self.facilities is None else sorted(self.facilities),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "ref": self.ref,
        }


@dataclass(frozen=True, slots=True)
class RegistryState:
    """Every registered number, keyed by E.164, with the checkpoint and expiry it came with."""

    entries: Mapping[str, tuple[RegistryEntry, ...]]
    checkpoint: Checkpoint
    not_after: dt.datetime  # aware UTC
    issued: dt.datetime | None = None
    origin: str = ""
    zones: Mapping[str, dt.tzinfo] = field(default_factory=lambda: MappingProxyType({}))
    scope: frozenset[str] | None = ALL  # the facilities this snapshot speaks for; None = all

    def speaks_for(self, facility: str) -> bool:
        """Whether this state may decide calls from ``facility`` (a facility's snapshot
        says nothing about the numbers registered elsewhere)."""
        return self.scope is None or facility.strip().upper() in self.scope

    def __len__(self) -> int:
        return len(self.entries)

    def local_day(self, facility: str, at: dt.datetime) -> dt.date:
        """The day of ``at`` at ``facility``: its local day if its zone is known, else UTC."""
        zone = self.zones.get(facility.strip().upper()) if self.zones else None
        if zone is not None:
            return at.astimezone(zone).date()
        # The checker's clock gives UTC already: no conversion on the common path.
        return (at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)).date()


def build_state(
    entries: Iterable[RegistryEntry],
    checkpoint: Checkpoint,
    not_after: dt.datetime,
    *,
    issued: dt.datetime | None = None,
    origin: str = "",
    zones: Mapping[str, str | dt.tzinfo] | None = None,
    scope: Iterable[str] | None = ALL,
) -> RegistryState:
    """Index ``entries`` by canonical number into a frozen :class:`RegistryState`.

    Each entry's number must already be E.164 (registration parsed it); one that the
    call-time canonicalization would not give back unchanged is refused, because the gate
    could never find it and would record calls to it.
    """
    if not_after.tzinfo is None:
        raise InputError("the snapshot's not_after has no time zone", fix="give it in UTC")
    index: dict[str, list[RegistryEntry]] = {}
    for entry in entries:
        if canonical(entry.number) != entry.number:
            raise InputError(
                f"registry number {entry.number!r} is not in E.164 form",
                where=entry.ref or None,
                fix="register numbers through the registry, which stores them as E.164",
            )
        index.setdefault(entry.number, []).append(entry)
    frozen = {number: tuple(found) for number, found in index.items()}
    tz = {
        code.strip().upper(): ZoneInfo(zone) if isinstance(zone, str) else zone
        for code, zone in (zones or {}).items()
    }
    return RegistryState(
        entries=MappingProxyType(frozen),
        checkpoint=checkpoint,
        not_after=not_after,
        issued=issued,
        origin=origin,
        zones=MappingProxyType(tz),
        scope=None if scope is None else frozenset(f.strip().upper() for f in scope),
    )
