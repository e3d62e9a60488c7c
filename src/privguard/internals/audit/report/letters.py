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

# A letter lists at most this many calls (earliest first); the rest are in <stem>.csv beside
# it. Hundreds of pages of rows help no one, and each listed row costs ~90 us of CPU.
LIST_CAP = 200


@dataclass
class Summary:
    """What a letter states about all of a recipient's recorded calls, listed or not."""

    calls: int
    first_day: str | None
    last_day: str | None
    facilities: list[str]
    inmates: int
    completed: int
    violations: int
    numbers: list[str]


@dataclass
class Recipient:
    """An attorney or office: its numbers and its recorded calls in letter order (all of
    them, or only the first ones with ``summary`` describing all)."""

    name: str
    numbers: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    summary: Summary | None = None


def summarize(rec: Recipient, pseudonymized: bool) -> Summary:
    """The summary of a recipient holding all its calls (the SQL twin is
    ``sql.letter_summary_sql``; the worker letters must equal the serial ones)."""
    times = [c["start_utc"] for c in rec.calls if c["start_utc"]]
    return Summary(
        calls=len(rec.calls),
        first_day=min(times)[:10] if times else None,
        last_day=max(times)[:10] if times else None,
        facilities=sorted({"unknown" if c["facility"] is None else str(c["facility"])
                           for c in rec.calls}),
        inmates=len({inmate(c, pseudonymized) for c in rec.calls}),
        completed=sum(1 for c in rec.calls if c["completed"]),
        violations=sum(1 for c in rec.calls if c["registered_then"]),
        numbers=sorted(rec.numbers),
    )  # fmt: skip


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


def _plural(n: int, one: str, many: str) -> str:
    """``n`` with its noun, e.g. 1 facility, 3 facilities."""
    return f"{n:,} {one if n == 1 else many}"


def when_sentence(first_day: object, last_day: object) -> str:
    """When the calls were made: one day, a span of days, or unknown."""
    if not first_day:
        return "at times the records do not give"
    if first_day == last_day:
        return f"on {first_day} (UTC)"
    return f"between {first_day} and {last_day} (UTC)"


def outcome_sentences(calls: int, completed: int, violations: int) -> str:
    """How many calls connected and how many broke the list, in grammar right for any count."""
    attempts = calls - completed
    if calls == 1:
        done = (
            "It was completed (connected). "
            if completed
            else "It was an attempt that did not connect. "
        )
        broke = (
            "It was made while the number was on the facility's do-not-record list: the "
            "facility had been told not to record it."
            if violations
            else "It was not made while the number was on a do-not-record list known to this audit."
        )
        return done + broke
    every = "Both" if calls == 2 else f"All {calls:,}"
    if completed == calls:
        done = f"{every} were completed (connected). "
    elif completed == 0:
        done = "None of them was completed (connected): all were attempts. "
    else:
        was = "was" if completed == 1 else "were"
        rest = "the other was an attempt" if attempts == 1 else "the others were attempts"
        done = f"{completed:,} of them {was} completed (connected); {rest}. "
    if violations == 0:
        return (
            done + "None was made while the number was on a do-not-record list known to this audit."
        )
    if violations == calls:
        head = f"{every} were made"
    else:
        head = f"{violations:,} of them {'was' if violations == 1 else 'were'} made"
    pronoun = "it" if violations == 1 else "them"
    return (
        done + f"{head} while the number was on the facility's do-not-record list: the facility "
        f"had been told not to record {pronoun}."
    )


def render_letter(
    rec: Recipient, path: Path, *, as_of: dt.datetime, pseudonymized: bool, cap: int = LIST_CAP
) -> None:
    """Write one recipient's letter: what was found about all its calls, then the first
    ``cap`` calls; the complete list is ``<path stem>.csv`` beside it (written by
    ``parallel.start_letters``)."""
    s = rec.summary or summarize(rec, pseudonymized)
    numbers = s.numbers
    csv_name = path.with_suffix(".csv").name
    doc = Doc(f"Notice of recorded attorney-client calls: {rec.name}", as_of)
    doc.add_page()
    doc.para("NOTICE OF RECORDED ATTORNEY-CLIENT CALLS", 9, muted=True)
    doc.h1(f"To: {rec.name}")
    plural = "s" if len(numbers) > 1 else ""
    doc.para(f"Your telephone number{plural} examined: {', '.join(numbers)}", 11)
    doc.h2("What was found")
    doc.para(texts.LETTER_MEANING)
    n = s.calls
    when = when_sentence(s.first_day, s.last_day)
    doc.para(
        f"The records show {_plural(n, 'recorded call', 'recorded calls')} to your "
        f"number{plural} {when}, from {_plural(len(s.facilities), 'facility', 'facilities')} "
        f"({', '.join(s.facilities)}), made by "
        f"{_plural(s.inmates, 'person', 'different people')} in custody. "
        + outcome_sentences(n, s.completed, s.violations),
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
    listed = rec.calls[:cap]
    more = n - len(listed)
    if more > 0:
        doc.para(
            f"There are too many calls to print them all: the first {len(listed):,} (earliest "
            f"first) are listed below, and the complete list of all {n:,} is in the file "
            f"{csv_name} that comes with this letter.",
            10,
        )
        caption = f"The first {len(listed):,} of {n:,} recorded calls to {rec.name}"
    else:
        caption = f"Recorded calls to {rec.name} ({n:,})"
    doc.long_grid(
        f"{caption}; local time is the facility's clock where known",
        ["Local time", "UTC", "Facility", "Number called", "Inmate account" if pseudonymized else "Inmate", "Duration", "Recording reference", "Registered then"],
        [
            (local_time(c["start_utc"], c["local_zone"]), (c["start_utc"] or "")[:16], c["facility"],
             c["number"], inmate(c, pseudonymized), duration(c["duration_s"]),
             c["recording_ref"] or "", "yes" if c["registered_then"] else "no")
            for c in listed
        ],
        [25, 25, 13, 22, 27, 17, 27, 18],
        size=7,
    )  # fmt: skip
    if more > 0:
        doc.para(
            f"... and {more:,} more; the complete list of all {n:,} calls is in {csv_name} "
            "beside this letter.",
            10,
        )
    else:
        doc.para(f"The same list is in {csv_name} beside this letter, for a spreadsheet.", 9)
    doc.para(
        f"Each call comes from the phone records named in {csv_name} and in the audit's "
        "exports (exports/privileged_calls.csv), column 'sources'. In the CSV file, text a "
        "spreadsheet could run as a formula starts with an apostrophe ('). The audit's "
        "manifest.json lets anyone check, with 'privguard verify', that the records, this "
        "letter and its list were not changed after the audit ran.",
        8.5,
        muted=True,
    )
    doc.save(path)


def write_letters(
    calls: Iterable[dict[str, Any]],
    folder: Path,
    *,
    as_of: dt.datetime,
    pseudonymized: bool,
    cap: int = LIST_CAP,
) -> list[Path]:
    """Write one letter per recipient into ``folder`` in this process; returns the files,
    in order. The reference for ``parallel.start_letters`` (same bytes), which the report
    uses: it also writes each letter's ``<stem>.csv``, which this does not."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    recipients = group_calls(calls)
    for rec, stem in zip(recipients, stems([r.name for r in recipients]), strict=True):
        path = folder / f"{stem}.pdf"
        render_letter(rec, path, as_of=as_of, pseudonymized=pseudonymized, cap=cap)
        paths.append(path)
    return paths
