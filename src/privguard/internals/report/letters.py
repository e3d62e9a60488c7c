"""Notification letters: one PDF per attorney or office whose numbers had recorded calls."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import texts
from .pdfbase import Doc


@dataclass
class Recipient:
    """An attorney or office: its numbers and the recorded calls to them."""

    name: str
    numbers: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)


def recipient_name(attorney_name: str | None, number: str) -> str:
    """Who a call's letter goes to: the attorney or office, or the number's holder."""
    return (attorney_name or "").strip() or f"Holder of {number}"


def group_calls(calls: Iterable[dict[str, Any]]) -> list[Recipient]:
    """Group recorded privileged calls by attorney or office name (by number if unnamed)."""
    groups: dict[str, Recipient] = {}
    for c in calls:
        name = recipient_name(c.get("attorney_name"), c["number"])
        rec = groups.setdefault(name, Recipient(name))
        if c["number"] not in rec.numbers:
            rec.numbers.append(c["number"])
        rec.calls.append(c)
    for rec in groups.values():
        rec.numbers.sort()
        rec.calls.sort(key=lambda c: (c["start_utc"] or "", c["call_id"]))
    return [groups[k] for k in sorted(groups)]


def slug(name: str) -> str:
    """A file-name-safe form of a name: ASCII letters, digits and dashes."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:60] or "recipient"


def stems(names: list[str]) -> list[str]:
    """Distinct file stems for sorted recipient names (``-2``, ``-3`` ... on a clash)."""
    used: set[str] = set()
    out: list[str] = []
    for name in names:
        base = slug(name)
        stem, k = base, 2
        while stem in used:
            stem, k = f"{base}-{k}", k + 1
        used.add(stem)
        out.append(stem)
    return out


def local_time(start_utc: str | None, zone: str | None) -> str:
    """The call's local wall-clock time with the zone's abbreviation, or 'not known'."""
    if not start_utc or not zone:
        return "not known"
    try:
        when = dt.datetime.fromisoformat(start_utc).replace(tzinfo=dt.UTC)
        local = when.astimezone(ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return "not known"
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or zone)


def duration(seconds: Any) -> str:
    """Seconds as minutes and seconds, e.g. 12 min 05 s."""
    if not isinstance(seconds, int):
        return "–"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def inmate(call: dict[str, Any], pseudonymized: bool) -> str:
    """Who called: the account's pseudonym when private (the account is the steadier key of a
    person in the records), else the name; each falls back to the other."""
    first, second = (
        ("inmate_account", "inmate_name") if pseudonymized else ("inmate_name", "inmate_account")
    )
    return str(call[first] or call[second] or "unknown")


def render_letter(rec: Recipient, path: Path, *, as_of: dt.datetime, pseudonymized: bool) -> None:
    """Write one recipient's letter."""
    doc = Doc(f"Notice of recorded attorney-client calls: {rec.name}", as_of)
    doc.add_page()
    doc.para("NOTICE OF RECORDED ATTORNEY-CLIENT CALLS", 9, muted=True)
    doc.h1(f"To: {rec.name}")
    plural = "s" if len(rec.numbers) > 1 else ""
    doc.para(f"Your telephone number{plural} examined: {', '.join(rec.numbers)}", 11)
    doc.h2("What was found")
    doc.para(texts.LETTER_MEANING)
    n = len(rec.calls)
    first = (rec.calls[0]["start_utc"] or "?")[:10]
    last = (rec.calls[-1]["start_utc"] or "?")[:10]
    facilities = sorted({str(c["facility"]) for c in rec.calls})
    violations = sum(1 for c in rec.calls if c["registered_then"])
    completed = sum(1 for c in rec.calls if c["completed"])
    doc.para(
        f"The records show {n:,} recorded call{'s' if n != 1 else ''} to your number{plural} "
        f"between {first} and {last} (UTC), from {len(facilities)} "
        f"facilit{'ies' if len(facilities) != 1 else 'y'} ({', '.join(facilities)}). "
        f"{completed:,} of them were completed (connected); the others were attempts. "
        + (
            f"{violations:,} were made while the number was on the facility's do-not-record "
            "list: the facility had been told not to record them."
            if violations
            else "None was made while the number was on a do-not-record list known to this audit."
        ),
        10.5,
    )
    if pseudonymized:
        doc.para(
            "The people in custody are identified by pseudonyms to protect their privacy. The "
            "team that ran this audit holds the key and can tell you who each one is.",
            9,
            muted=True,
        )
    doc.h2("What you can do")
    doc.bullets(texts.LETTER_OPTIONS)
    doc.h2("The recorded calls", need=70)
    doc.long_grid(
        f"Recorded calls to {rec.name} ({n:,}); local time is the facility's clock where known",
        ["Local time", "UTC", "Facility", "Number called", "Inmate account" if pseudonymized else "Inmate", "Duration", "Recording reference", "Registered then"],
        [
            (local_time(c["start_utc"], c["local_zone"]), (c["start_utc"] or "")[:16], c["facility"],
             c["number"], inmate(c, pseudonymized), duration(c["duration_s"]),
             c["recording_ref"] or "", "yes" if c["registered_then"] else "no")
            for c in rec.calls
        ],
        [25, 25, 13, 22, 27, 17, 27, 18],
        size=7,
    )  # fmt: skip
    doc.para(
        "Each call above comes from the phone records named in the audit's exports "
        "(exports/privileged_calls.csv, column 'sources'). The audit's manifest.json lets "
        "anyone check, with 'privguard verify', that the records and this letter were not "
        "changed after the audit ran.",
        8.5,
        muted=True,
    )
    doc.save(path)


def write_letters(
    calls: Iterable[dict[str, Any]], folder: Path, *, as_of: dt.datetime, pseudonymized: bool
) -> list[Path]:
    """Write one letter per recipient into ``folder``; returns the files, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    recipients = group_calls(calls)
    for rec, stem in zip(recipients, stems([r.name for r in recipients]), strict=True):
        path = folder / f"{stem}.pdf"
        render_letter(rec, path, as_of=as_of, pseudonymized=pseudonymized)
        paths.append(path)
    return paths
