"""Replay an audit through the gate: which recorded privileged calls it would have stopped.

Reads the audit's ``OUT/calls.parquet`` in Arrow batches (never the whole table in
Python), sends every call through a :class:`~.checker.Checker` holding the registry as it
would have been deployed, and counts, for the recorded privileged calls (calls to numbers
``OUT/numbers.parquet`` classes as an attorney's), how many the gate would have stopped
and which it would still have let through, and why.

The registry is either a signed registry snapshot (with the registry's public key: the
registry's own reader verifies it) or, for audits made before a registry existed, the
audit's ``OUT/registry.parquet`` or a do-not-record list (CSV/XLSX), read as a state
without a signature (replay only; a live checker always verifies). Dates are judged by
each facility's local day when ``OUT/facility_clocks.parquet`` names its zone, the rule
the audit's findings use, so "registry violations" mean the same thing on both sides.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from privguard.errors import InputError
from privguard.internals.common.classes import ATTORNEY_CLASSES, INFERRED_BASIS
from privguard.internals.common.layout import FILES, audit_file
from privguard.internals.prevention.decisions.canon import canonical
from privguard.internals.prevention.decisions.checker import Checker
from privguard.internals.prevention.decisions.decide import Reason
from privguard.internals.prevention.decisions.state import (
    Checkpoint,
    RegistryEntry,
    RegistryState,
    build_state,
)

log = logging.getLogger(__name__)
BATCH = 65_536
SAMPLE = 200  # let-through calls listed by id; all are counted
FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
CALL_FIELDS = ["call_id", "facility", "inmate_account", "dialed_number", "start_utc", "recorded"]


@dataclass
class ReplayResult:
    """What the gate would have done to an audit's calls."""

    calls: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    privileged_calls: int = 0
    privileged_recorded: int = 0
    privileged_recorded_inferred: int = 0  # of those, recorded by the facility's practice
    registry_violations: int = 0  # recorded privileged calls registered at the call's time
    stopped: int = 0  # recorded privileged calls the gate answers record=False
    stopped_by: Counter[str] = field(default_factory=Counter)
    let_through: int = 0
    let_through_why: Counter[str] = field(default_factory=Counter)
    let_through_calls: list[dict[str, Any]] = field(default_factory=list)
    violations_after_gate: int = 0  # registered at call time yet record=True: must be 0
    registry: str = ""
    registry_numbers: int = 0
    registry_skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "calls": self.calls,
            "decisions_by_reason": dict(sorted(self.decisions.items())),
            "privileged_calls": self.privileged_calls,
            "privileged_calls_recorded": self.privileged_recorded,
            "privileged_calls_recorded_inferred": self.privileged_recorded_inferred,
            "registry_violations_in_audit": self.registry_violations,
            "registry_violations_with_gate": self.violations_after_gate,
            "recorded_privileged_calls_stopped": self.stopped,
            "stopped_by_reason": dict(sorted(self.stopped_by.items())),
            "recorded_privileged_calls_let_through": self.let_through,
            "let_through_why": dict(sorted(self.let_through_why.items())),
            "let_through_sample": self.let_through_calls,
            "registry": self.registry,
            "registry_numbers": self.registry_numbers,
            "registry_rows_skipped": self.registry_skipped,
        }

    def summary(self) -> str:
        """A few lines for a person."""
        lines = [
            f"Replayed {self.calls:,} calls through the recording gate "
            f"(registry: {self.registry}, {self.registry_numbers:,} numbers).",
            f"Recorded calls to attorney numbers in the audit: {self.privileged_recorded:,}; "
            f"{self.registry_violations:,} of them to a number registered at the time"
            + (
                f"; {self.privileged_recorded_inferred:,} inferred recorded from the "
                "facility's practice, as in the audit's report."
                if self.privileged_recorded_inferred
                else "."
            ),
            f"With the gate: {self.stopped:,} of those recordings would have been stopped; "
            f"registry violations: {self.violations_after_gate:,}.",
        ]
        if self.let_through:
            why = "; ".join(f"{n:,} {w}" for w, n in self.let_through_why.most_common())
            lines.append(
                f"Still recorded: {self.let_through:,} ({why}). Register those numbers to "
                "protect them."
            )
        return "\n".join(lines)


def _read(out: Path, name: str) -> Any:
    path = audit_file(out, name)
    if path is None:
        raise InputError(
            f"the audit's {FILES[name].rsplit('/', 1)[-1]} is missing",
            where=str(out / FILES[name]),
            fix="give the OUT folder of a finished audit",
        )
    return pq.ParquetFile(path)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def registry_from_table(rows: list[dict[str, Any]], where: str) -> tuple[RegistryState, int]:
    """A state from registry rows (number, registered_from, registered_until, facility)."""
    entries, skipped = [], 0
    for i, row in enumerate(rows, start=1):
        number = row.get("number")
        if not isinstance(number, str) or canonical(number) != number:
            skipped += 1
            continue
        fac = row.get("facility")
        entries.append(
            RegistryEntry(
                number=number,
                facilities=None if not fac else frozenset({str(fac).strip().upper()}),
                effective_from=_date(row.get("registered_from")),
                effective_to=_date(row.get("registered_until")),
                ref=f"{row.get('source_file') or where} row {row.get('source_row') or i}",
            )
        )
    if skipped:
        log.warning("%s: %d registry rows without a usable E.164 number skipped", where, skipped)
    return build_state(entries, Checkpoint(0, ""), FAR, origin=where), skipped


def _zones(out: Path) -> dict[str, str | dt.tzinfo]:
    path = audit_file(out, "clocks")
    if path is None:
        return {}
    zones: dict[str, str | dt.tzinfo] = {}
    for row in pq.read_table(path).to_pylist():
        if row.get("zone"):
            zones[row["facility"]] = row["zone"]
        elif row.get("offset_h") is not None:
            zones[row["facility"]] = dt.timezone(dt.timedelta(hours=float(row["offset_h"])))
    return zones


def load_registry_state(out: Path, registry: Path, key: Path | None) -> tuple[RegistryState, int]:
    """The registry state to replay against (see the module doc)."""
    zones = _zones(out)
    if key is not None:
        from privguard.internals.prevention.decisions.snapshot import registry_verifier
        from privguard.internals.prevention.ledger import Verifier

        verify = registry_verifier(
            Verifier(key.read_text(encoding="utf-8")), zones=zones, where=str(registry)
        )
        state = verify(registry.read_bytes(), None, min(dt.datetime.now(dt.UTC), FAR)).state
        return state, 0
    if registry.suffix.lower() == ".parquet":
        rows = pq.read_table(registry).to_pylist()
    else:
        from privguard.internals.common.lists.sources import load_registry

        rows = load_registry(registry).to_pylist()
    state, skipped = registry_from_table(rows, registry.name)
    return build_state(
        [e for found in state.entries.values() for e in found],
        state.checkpoint,
        state.not_after,
        origin=registry.name,
        zones=zones,
    ), skipped


def _earliest_entry(state: RegistryState, number: str) -> RegistryEntry | None:
    found = state.entries.get(number, ())
    return min(found, key=lambda e: e.effective_from or dt.date.min, default=None)


def _why(state: RegistryState, number: str | None, facility: str, at: dt.datetime) -> str:
    if number is None:
        return "number unreadable"
    entry = _earliest_entry(state, number)
    if entry is None:
        return "number never registered"
    day = state.local_day(facility, at)
    if entry.effective_from and day < entry.effective_from:
        return "number not yet registered"
    if any(e.effective_to and day >= e.effective_to for e in state.entries[number]):
        return "registration had ended"
    return "registered for other facilities only"


def _inferred_recorded(out: Path) -> set[int]:
    """The privileged calls the audit counted as recorded from the facility's practice
    (``recorded_from``), not from the records; empty for audits made before that existed."""
    path = audit_file(out, "flags")
    if path is None:
        return set()
    flags = pq.ParquetFile(path)
    if "recorded_from" not in flags.schema_arrow.names:
        return set()
    found: set[int] = set()
    for batch in flags.iter_batches(batch_size=BATCH, columns=["call_id", "recorded_from"]):
        ids, basis = batch.column(0).to_pylist(), batch.column(1).to_pylist()
        found.update(i for i, b in zip(ids, basis, strict=True) if b == INFERRED_BASIS)
    return found


def replay(out: Path, registry: Path, key: Path | None = None) -> ReplayResult:
    """Send every call of the audit in ``out`` through the gate; see the module doc.

    A call counts as recorded when the records say so or when the audit inferred it from
    the facility's practice (its ``privileged_flags.parquet``), so the replay starts from
    the same recorded privileged calls as the audit's summary."""
    out = Path(out)
    calls = _read(out, "calls")
    inferred = _inferred_recorded(out)
    numbers = _read(out, "numbers")
    attorney: set[str] = set()
    for batch in numbers.iter_batches(batch_size=BATCH, columns=["number", "classification"]):
        for number, cls in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if cls in ATTORNEY_CLASSES:
                attorney.add(number)
    state, skipped = load_registry_state(out, registry, key)
    checker = Checker.unsigned_for_replay(state, timeout_s=None)
    result = ReplayResult(
        registry=registry.name, registry_numbers=len(state), registry_skipped=skipped
    )
    for batch in calls.iter_batches(batch_size=BATCH, columns=CALL_FIELDS):
        cols = [batch.column(i).to_pylist() for i in range(len(CALL_FIELDS))]
        for call_id, facility, account, number, start, recorded in zip(*cols, strict=True):
            result.calls += 1
            if start is None:
                result.decisions["NO_CALL_TIME"] += 1
                continue
            at = start.replace(tzinfo=dt.UTC)
            d = checker.decide(facility or "", account or "", number or "", at=at)
            result.decisions[d.reason] += 1
            if number not in attorney:
                continue
            result.privileged_calls += 1
            if call_id in inferred and not recorded:
                recorded = True
                result.privileged_recorded_inferred += 1
            if not recorded:
                continue
            result.privileged_recorded += 1
            registered = d.reason == Reason.REGISTERED_NUMBER
            result.registry_violations += registered
            if not d.record:
                result.stopped += 1
                result.stopped_by[d.reason] += 1
                continue
            result.let_through += 1
            if registered:  # impossible by construction; counted so a bug would show
                result.violations_after_gate += 1
            why = _why(state, d.number, facility or "", at)
            result.let_through_why[why] += 1
            if len(result.let_through_calls) < SAMPLE:
                result.let_through_calls.append(
                    {
                        "call_id": call_id,
                        "facility": facility,
                        "start_utc": at.isoformat(),
                        "why": why,
                    }
                )
    return result
