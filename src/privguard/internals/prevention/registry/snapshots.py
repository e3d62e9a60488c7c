"""Signed registry snapshots: the text format, and the pure reader/verifier.

A snapshot is a C2SP signed note (docs/registry-snapshot.md) whose text is a header of
``key value`` lines, a line ``entries``, then one line per active number, sorted::

    privguard registry snapshot v1
    origin privguard.example/registry
    facility MAIN-JAIL
    ...
    entries
    +15125550100 - 2024-01-08 - 17

:func:`read_snapshot` is a pure function of (bytes, trusted keys, last seen state, now): it
checks the signature, the format, the order and count of the entries, the consistency
proof from the last snapshot seen, freshness and rollback, and raises one
:class:`~privguard.errors.IntegrityError` listing every problem. The decision checker
reuses it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from privguard.errors import InputError, IntegrityError
from privguard.internals.prevention.ledger import LedgerError, Signer, Verifier
from privguard.internals.prevention.ledger.merkle import verify_consistency
from privguard.internals.prevention.ledger.note import sign_note, verify_note

MAGIC = "privguard registry snapshot v1"
_HEADER = (
    "origin",
    "facility",
    "vendor",
    "issued",
    "effective",
    "not_after",
    "tree_size",
    "root",
    "previous_size",
    "previous_root",
    "proof",
    "count",
)
NONE = "-"


class RollbackError(IntegrityError):
    """A snapshot older than one already accepted: refused, the newer one stays."""

    kind = "rollback"


@dataclass(frozen=True)
class SnapshotEntry:
    """One protected number of a snapshot: E.164, extension, dates, registration id."""

    number: str
    extension: str
    effective_from: dt.date
    effective_to: dt.date | None
    id: int

    def line(self) -> str:
        """The entry's line in the snapshot text."""
        to = self.effective_to.isoformat() if self.effective_to else NONE
        return f"{self.number} {self.extension or NONE} {self.effective_from.isoformat()} {to} {self.id}"


@dataclass(frozen=True)
class Seen:
    """The last snapshot accepted for (origin, facility, vendor): the rollback floor."""

    origin: str
    facility: str
    vendor: str
    issued: dt.datetime
    tree_size: int
    root: bytes


@dataclass(frozen=True)
class Snapshot:
    """A read (and, if ``verified``, fully checked) snapshot."""

    origin: str
    facility: str
    vendor: str
    issued: dt.datetime
    effective: dt.date
    not_after: dt.datetime
    tree_size: int
    root: bytes
    previous_size: int
    previous_root: bytes | None
    proof: tuple[bytes, ...]
    entries: tuple[SnapshotEntry, ...]
    sha256: str  # of the whole file as received
    verified: bool

    def seen(self) -> Seen:
        """This snapshot as the floor for the next one."""
        return Seen(self.origin, self.facility, self.vendor, self.issued, self.tree_size, self.root)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(value: bytes | None) -> str:
    return base64.b64encode(value).decode() if value is not None else NONE


def render_body(snap: Snapshot) -> str:
    """The text the signature covers (ends with a newline, no blank line inside)."""
    lines = [
        MAGIC,
        f"origin {snap.origin}",
        f"facility {snap.facility}",
        f"vendor {snap.vendor or NONE}",
        f"issued {_stamp(snap.issued)}",
        f"effective {snap.effective.isoformat()}",
        f"not_after {_stamp(snap.not_after)}",
        f"tree_size {snap.tree_size}",
        f"root {_b64(snap.root)}",
        f"previous_size {snap.previous_size}",
        f"previous_root {_b64(snap.previous_root)}",
        "proof " + (" ".join(_b64(h) for h in snap.proof) or NONE),
        f"count {len(snap.entries)}",
        "entries",
        *(e.line() for e in snap.entries),
    ]
    return "\n".join(lines) + "\n"


def sign_snapshot(snap: Snapshot, signer: Signer) -> str:
    """The signed note of ``snap`` (the ledger's note module, the registry's key)."""
    return sign_note(render_body(snap), signer)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, line: int | None, text: str) -> None:
        self.items.append(f"line {line}: {text}" if line else text)


def _parse_time(value: str, line: int, p: _Problems) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        p.add(line, f"{value!r} is not a UTC time like 2024-05-03T12:00:00Z")
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _parse_date(value: str, line: int, p: _Problems) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        p.add(line, f"{value!r} is not a date like 2024-05-06")
        return dt.date.min


def _parse_int(value: str, line: int, p: _Problems) -> int:
    if value.isdigit():
        return int(value)
    p.add(line, f"{value!r} is not a whole number")
    return 0


def _parse_hash(value: str, line: int, p: _Problems) -> bytes | None:
    if value == NONE:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        p.add(line, f"{value!r} is not a base64 SHA-256 hash")
    return raw


def _entries(lines: list[str], first: int, p: _Problems) -> list[SnapshotEntry]:
    out: list[SnapshotEntry] = []
    previous: tuple[str, str] | None = None
    for offset, text in enumerate(lines):
        line = first + offset
        parts = text.split(" ")
        if len(parts) != 5 or not parts[0].startswith("+") or not parts[4].isdigit():
            p.add(line, f"{text!r} is not an entry (number extension from to id)")
            continue
        number, ext, start, end, ident = parts
        entry = SnapshotEntry(
            number,
            "" if ext == NONE else ext,
            _parse_date(start, line, p),
            None if end == NONE else _parse_date(end, line, p),
            int(ident),
        )
        key = (entry.number, entry.extension)
        if previous is not None and key <= previous:
            p.add(line, f"entry {number} is out of order or repeated (entries are sorted)")
        previous = key
        out.append(entry)
    return out


def parse_body(body: str, p: _Problems) -> dict[str, object]:
    """The header fields and entries of a snapshot text; problems are collected in ``p``."""
    lines = body.rstrip("\n").split("\n")
    if not lines or lines[0] != MAGIC:
        p.add(1, f"the first line is not {MAGIC!r}: this is not a registry snapshot")
        return {}
    fields: dict[str, object] = {}
    pos = 1
    for key in _HEADER:
        if pos >= len(lines) or not lines[pos].startswith(key + " "):
            p.add(pos + 1, f"the {key!r} line is missing")
            return {}
        value, line = lines[pos][len(key) + 1 :], pos + 1
        if key in ("issued", "not_after"):
            fields[key] = _parse_time(value, line, p)
        elif key == "effective":
            fields[key] = _parse_date(value, line, p)
        elif key in ("tree_size", "previous_size", "count"):
            fields[key] = _parse_int(value, line, p)
        elif key in ("root", "previous_root"):
            fields[key] = _parse_hash(value, line, p)
        elif key == "proof":
            hashes = [] if value == NONE else value.split(" ")
            fields[key] = tuple(_parse_hash(h, line, p) or b"" for h in hashes)
        else:
            fields[key] = "" if (key == "vendor" and value == NONE) else value
        pos += 1
    if pos >= len(lines) or lines[pos] != "entries":
        p.add(pos + 1, "the 'entries' line is missing")
        return {}
    entries = _entries(lines[pos + 1 :], pos + 2, p)
    count = fields.pop("count")
    if count != len(entries):
        p.add(None, f"the header counts {count} entries but {len(entries)} are listed")
    fields["entries"] = tuple(entries)
    return fields


def _split_note(text: str) -> str:
    # The signed note is the body, one blank line, then the signature lines.
    body, sep, _sigs = text.rpartition("\n\n")
    return body + "\n" if sep else text


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text at byte {exc.start}: not a registry snapshot",
            where=where,
            fix="give the .snapshot file privguard wrote, unchanged",
        ) from None


def _build(data: bytes, body: str, p: _Problems, where: str, verified: bool) -> Snapshot:
    fields = parse_body(body, p)
    if not fields:
        raise IntegrityError(
            "this is not a readable registry snapshot",
            where=where,
            problems=p.items,
            fix="give the .snapshot file privguard wrote",
        )
    return Snapshot(
        sha256=hashlib.sha256(data).hexdigest(),
        verified=verified,
        **fields,  # type: ignore[arg-type]
    )


def parse_snapshot(data: bytes, where: str = "snapshot") -> tuple[Snapshot, list[str]]:
    """Read a snapshot WITHOUT trusting it (signature unchecked), with its format problems.

    For ``diff``: a snapshot someone altered is still read so the diff names the entry.
    Raises only when it cannot be read at all.
    """
    p = _Problems()
    text = _decode(data, where)
    return _build(data, _split_note(text), p, where, verified=False), p.items


def read_snapshot(
    data: bytes,
    trusted: Verifier | Sequence[Verifier],
    last_seen: Seen | None = None,
    *,
    now: dt.datetime | None = None,
    where: str = "snapshot",
) -> Snapshot:
    """Read and check a snapshot; pure: no database, no clock unless ``now`` is None.

    Checks the signature against ``trusted``, the format, the order and count of the
    entries, the consistency proof it carries, that it continues ``last_seen`` (the last
    snapshot accepted for its origin, facility and vendor) and is not older than it, and
    that it has not expired. Every problem is listed in one :class:`IntegrityError`
    (:class:`RollbackError` when it is older than ``last_seen``).
    """
    text = _decode(data, where)
    p = _Problems()
    body = _split_note(text)
    keys = [trusted] if isinstance(trusted, Verifier) else list(trusted)
    try:
        body = verify_note(text, keys).text  # parse exactly what was signed
    except LedgerError as exc:
        p.add(None, f"the signature does not verify: {exc.message}")
    snap = _build(data, body, p, where, verified=True)
    _check_chain(snap, last_seen, p)
    rollback = last_seen is not None and (
        snap.issued < last_seen.issued or snap.tree_size < last_seen.tree_size
    )
    if rollback and last_seen is not None:
        p.add(
            None,
            f"it was issued {_stamp(snap.issued)} (log size {snap.tree_size}), "
            f"older than the one already accepted, issued {_stamp(last_seen.issued)} "
            f"(log size {last_seen.tree_size})",
        )
    moment = now or dt.datetime.now(dt.UTC)
    if moment > snap.not_after:
        p.add(None, f"it expired at {_stamp(snap.not_after)}")
    if p.items:
        cls = RollbackError if rollback else IntegrityError
        raise cls(
            "the snapshot was refused; nothing was kept",
            where=where,
            problems=p.items,
            fix="ask the registry for a fresh snapshot; do not use this one",
        )
    return snap


def _check_chain(snap: Snapshot, last: Seen | None, p: _Problems) -> None:
    """The log only grew: from the previous snapshot named in it, and from the last seen."""
    if last is not None and (last.origin, last.facility, last.vendor) != (
        snap.origin,
        snap.facility,
        snap.vendor,
    ):
        p.add(None, "it is for another registry, facility or vendor than the last one seen")
        return
    if snap.previous_size:
        if snap.previous_root is None:
            p.add(None, "previous_size is set but previous_root is not")
            return
        try:
            verify_consistency(
                snap.previous_size, snap.tree_size, snap.proof, snap.previous_root, snap.root
            )
        except LedgerError as exc:
            p.add(None, f"the consistency proof from the previous snapshot fails: {exc.message}")
    if last is None or last.tree_size > snap.tree_size:
        return  # first snapshot seen (trust on first use), or a rollback reported above
    if last.tree_size == snap.tree_size:
        if last.root != snap.root:
            p.add(
                None,
                f"the log of size {snap.tree_size} has another root than last time: "
                "the registry's history was rewritten",
            )
    elif (snap.previous_size, snap.previous_root) != (last.tree_size, last.root):
        p.add(
            None,
            f"it continues from log size {snap.previous_size}, but the last snapshot "
            f"accepted here was at size {last.tree_size}: one was skipped or forked",
        )
