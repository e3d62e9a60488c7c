"""Checking an attorney's receipts offline: no database, only the registry's public key.

Each receipt is a C2SP ``tlog-proof@v1`` (the ledger's format). Given several receipts of
the same registration (the one that registered a number and the one that ended it), the
check also says "was registered from ... to ...": a removed number's receipt still
verifies, and proves what the list held while it was on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.prevention.ledger import Verifier, verify_receipt


@dataclass(frozen=True)
class ReceiptLine:
    """One receipt checked: ok or its problems, and what it proves."""

    file: str
    ok: bool
    index: int | None
    action: str
    summary: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ReceiptReport:
    """Every receipt given, and one sentence per registration they prove."""

    ok: bool
    receipts: tuple[ReceiptLine, ...]
    registrations: tuple[str, ...]


def load_verifiers(value: str) -> list[Verifier]:
    """``--key``: a vkey string, or a file holding vkeys one a line (current first)."""
    text = value
    path = Path(value)
    if "+" not in value or path.is_file():
        if not path.is_file():
            raise InputError(
                "this is neither a verifier key nor a file of them",
                where=value,
                fix="pass the vkey the registry publishes, e.g. name+1a2b3c4d+AX...",
            )
        text = path.read_text(encoding="utf-8")
    keys = [Verifier(line) for line in text.splitlines() if line.strip()]
    if not keys:
        raise InputError(
            "no verifier key in this file", where=value,
            fix="write the registry's key into it: privguard registry key --data-dir DIR > FILE",
        )  # fmt: skip
    return keys


def _payload(entry: dict[str, Any]) -> dict[str, Any]:
    payload = entry.get("payload", {})
    return payload if isinstance(payload, dict) else {}


def _describe(entry: dict[str, Any]) -> str:
    row = _payload(entry).get("row") or {}
    action = entry.get("action", "?")
    if _payload(entry).get("kind") == "number":
        ext = f" ext {row['extension']}" if row.get("extension") else ""
        return (
            f"{action}: {row.get('number')}{ext} (registration {row.get('id')}), "
            f"effective from {row.get('effective_from')}"
            + (f" to {row['effective_to']}" if row.get("effective_to") else "")
        )
    return f"{action} at {entry.get('at')}"


def check_receipts(texts: Sequence[tuple[str, str]], keys: list[Verifier]) -> ReceiptReport:
    """Check ``(file name, receipt text)`` pairs against ``keys``; pure, offline."""
    lines: list[ReceiptLine] = []
    spans: dict[int, dict[str, Any]] = {}
    for name, text in texts:
        check = verify_receipt(text, keys)
        entry = check.entry or {}
        lines.append(
            ReceiptLine(
                name,
                check.ok,
                check.index,
                str(entry.get("action", "")),
                _describe(entry) if check.ok else "",
                tuple(check.problems),
            )
        )
        row = _payload(entry).get("row") or {}
        if check.ok and _payload(entry).get("kind") == "number" and "id" in row:
            last = spans.get(row["id"])
            if last is None or (check.index or 0) >= last["_index"]:
                spans[row["id"]] = {**row, "_index": check.index or 0}
    sentences = []
    for ident, row in sorted(spans.items()):
        ext = f" ext {row['extension']}" if row.get("extension") else ""
        if row.get("status") == "ended":
            sentences.append(
                f"{row['number']}{ext} was registered from {row['effective_from']} to "
                f"{row['effective_to']} (registration {ident}; ended: {row.get('ended_reason')})"
            )
        else:
            sentences.append(
                f"{row['number']}{ext} is registered from {row['effective_from']} "
                f"(registration {ident}), as of entry {row['_index']}"
            )
    return ReceiptReport(all(r.ok for r in lines) and bool(lines), tuple(lines), tuple(sentences))
