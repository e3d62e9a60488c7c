"""One ledger entry: its canonical bytes, its salted commitment and its leaf hash.

An entry is the JSON object ``{"v":1,"log","index","at","actor","action","reason",
"payload"}`` written canonically (keys sorted, no spaces, UTF-8), so the same entry always
gives the same bytes. The tree never sees those bytes: its leaf is
``leaf_hash(SHA-256(salt || bytes))`` with 32 random bytes of salt per entry, so a published
checkpoint or proof says nothing about a phone number in a payload, even to someone who
guesses every number (a bare hash of a 10-digit number is brute-forced in seconds).
The index and log are inside the entry, so an entry moved to another place or log no
longer matches its leaf.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privguard.errors import InputError
from privguard.internals.prevention.ledger.merkle import leaf_hash

VERSION = 1
SALT_SIZE = 32
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class LedgerEntry:
    """A stored entry, as the database holds it (salt and payload never leave it unasked)."""

    log: str
    index: int
    at: datetime
    actor: str
    action: str
    reason: str
    payload: dict[str, Any]
    salt: bytes = field(repr=False)
    leaf_hash: bytes

    def canonical(self) -> bytes:
        """The entry's canonical JSON bytes (what the salted commitment covers)."""
        return canonical_entry(
            self.log,
            self.index,
            format_time(self.at),
            self.actor,
            self.action,
            self.reason,
            self.payload,
        )


@dataclass(frozen=True)
class NewEntry:
    """An entry to append (:meth:`.store.Ledger.append_many`): who, what, why, payload, when."""

    actor: str
    action: str
    reason: str
    payload: dict[str, Any]
    at: datetime | None = None  # UTC (naive is taken as UTC); None: the time of the append


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; refuses NaN and non-JSON values."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_entry(
    log: str, index: int, at: str, actor: str, action: str, reason: str, payload: Any
) -> bytes:
    """The canonical bytes of an entry from its fields (``at`` already formatted)."""
    obj = {
        "v": VERSION,
        "log": log,
        "index": index,
        "at": at,
        "actor": actor,
        "action": action,
        "reason": reason,
        "payload": payload,
    }
    return canonical_json(obj).encode()


def commitment(salt: bytes, data: bytes) -> bytes:
    """``SHA-256(salt || data)``: what the Merkle leaf is made of."""
    return hashlib.sha256(salt + data).digest()


def entry_leaf(salt: bytes, data: bytes) -> bytes:
    """The RFC 6962 leaf hash of an entry's canonical bytes under its salt."""
    return leaf_hash(commitment(salt, data))


def format_time(at: datetime) -> str:
    """UTC, microseconds, ``Z``: the one spelling of a time inside an entry."""
    if at.tzinfo is None:  # a naive time is taken as UTC, as datetime.utcnow() gives
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime(_TIME)


def parse_time(text: str) -> datetime:
    """The aware UTC datetime of an entry's time string."""
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def check_fields(actor: str, action: str, reason: str, payload: Any) -> str:
    """Check an entry's fields before it is written; returns the payload's canonical JSON."""
    for name, value in (("actor", actor), ("action", action), ("reason", reason)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                f"a ledger entry needs a non-empty {name}",
                fix=f"say who (actor), what (action) and why (reason); {name} was {value!r}",
            )
    if not isinstance(payload, dict):
        raise InputError(
            "a ledger entry's payload must be a JSON object (a dict)",
            fix="pass payload={...} or leave it out",
        )
    try:
        return canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"a ledger entry's payload is not plain JSON: {exc}",
            fix="use only strings, numbers, booleans, None, lists and dicts",
        ) from None


def decode_entry(data: bytes) -> dict[str, Any]:
    """The fields of an entry's canonical bytes; ValueError if they are not an entry."""
    obj = json.loads(data.decode())
    keys = {"v", "log", "index", "at", "actor", "action", "reason", "payload"}
    if not isinstance(obj, dict) or set(obj) != keys or obj["v"] != VERSION:
        raise ValueError("not a privguard ledger entry (version 1)")
    if canonical_json(obj).encode() != data:
        raise ValueError("the entry is not in canonical form")
    return obj
