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
from .case import Case
from .pdfbase import Doc

# A letter lists at most this many calls (earliest first); the rest are in <stem>.csv beside
# it. Hundreds of pages of rows help no one, and each listed row costs ~90 us of CPU.
LIST_CAP = 200
# ``recorded_from`` of a call counted as recorded from its facility's practice (findings).
INFERRED = "facility practice"


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
    inferred: int = 0  # counted as recorded from the facility's practice, not shown


@dataclass
class Recipient:
    """An attorney or office: its numbers and its recorded calls in letter order (all of
    them, or only the first ones with ``summary`` describing all)."""

    name: str
    numbers: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    summary: Summary | None = None
    # (number, how the audit linked it to this recipient), one per number.
    links: list[tuple[str, str]] = field(default_factory=list)


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
        inferred=sum(1 for c in rec.calls if c.get("recorded_from") == INFERRED),
    )  # fmt: skip


def recipient_name(attorney_name: str | None, number: str) -> str:
    """Who a call's letter goes to: the attorney or office, or, when no list or review
    gave a name, the attorney or office using the number."""
    return (attorney_name or "").strip() or f"Attorney or office at {number}"


def link_text(classification: str | None, evidence: str | None, files: str | None) -> str:
    """How the audit linked a number to its attorney, in words, from ``numbers.parquet``."""
    how = (evidence or "").strip()
    if classification == "confirmed":
        sheet = f" (review sheet {files})" if files else ""
        return f"a person on the case team reviewed the calls and confirmed it{sheet}: {how}"
    if len(how) > 400:
        how = how[:400].rsplit(";", 1)[0] + "; and more (see exports/attorney_numbers.csv)"
    return how or "listed as an attorney number (see exports/attorney_numbers.csv)"


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


def inferred_sentence(calls: int, inferred: int) -> str:
    """Which of a letter's calls the records show recorded and which were inferred so."""
    if not inferred:
        return ""
    shown = calls - inferred
    one = inferred == 1
    return (
        f"The records show {shown:,} of them recorded. For the other {inferred:,}, no record "
        f"says whether {'it was' if one else 'they were'} recorded, but {'it was' if one else 'each was'} "
        "completed at a facility whose records show it recorded nearly every completed call "
        f"of that kind, so {'it is' if one else 'they are'} counted as recorded too, marked "
        "'inferred' in the list below. "
    )


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


def long_date(day: dt.date) -> str:
    """A date as a letter writes it: 3 December 2026."""
    return f"{day.day} {day:%B %Y}"


def example_calls(calls: list[dict[str, Any]], case: Case) -> list[str]:
    """One or two of the listed calls, described so an attorney can cite them in a request:
    the earliest, and the earliest made while the number was on the do-not-record list."""
    picked: list[dict[str, Any]] = []
    dated = [c for c in calls if c["start_utc"]]
    if dated:
        picked.append(dated[0])
        barred = next((c for c in dated if c["registered_then"]), None)
        if barred is not None and barred is not dated[0]:
            picked.append(barred)
    out = []
    for c in picked:
        how = (
            "inferred recorded from the facility's practice"
            if c.get("recorded_from") == INFERRED
            else "marked as recorded"
        )
        ref = f", recording reference {c['recording_ref']}" if c["recording_ref"] else ""
        dnr = ", while your number was on the do-not-record list" if c["registered_then"] else ""
        utc = f"{(c['start_utc'] or '')[:16]} UTC"
        local = local_time(c["start_utc"], c["local_zone"])
        when = utc if local == "not known" else f"{local} ({utc})"
        out.append(
            f"the call of {when} from {case.facility(c['facility'])} to "
            f"{c['number']}, {duration(c['duration_s'])}, {how}{ref}{dnr}"
        )
    return out


def _letter_head(doc: Doc, case: Case) -> None:
    """Sender, date and reference; a draft notice when the case file leaves them out."""
    if not case.complete:
        doc.para(
            "DRAFT: the case file gives no "
            + ", ".join(
                w
                for w, ok in (
                    ("date", case.date),
                    ("sender", case.sender.who()),
                    ("contact (email or phone)", case.sender.contact()),
                )
                if not ok
            )  # fmt: skip
            + " for this letter. Add them under [case] in the case file (docs/case-file.md) "
            "and run the audit again before sending it.",
            9,
        )
    if lines := case.sender.lines():
        doc.para("\n".join(lines), 9.5)
    if case.date:
        doc.para(f"Date: {long_date(case.date)}", 9.5)
    refs = [f"Our reference: {case.reference}"] if case.reference else []
    refs += [f"Case: {case.name}"] if case.name else []
    if refs:
        doc.para("\n".join(refs), 9.5)


def render_letter(
    rec: Recipient, path: Path, *, as_of: dt.datetime, pseudonymized: bool, cap: int = LIST_CAP,
    case: Case | None = None,
) -> None:  # fmt: skip
    """Write one recipient's letter: who sends it and when (``case``, from the case file),
    what was found about all its calls, how each number was linked to the recipient
    (``rec.links``), what the recipient can ask for next, then the first ``cap`` calls;
    the complete list is ``<path stem>.csv`` beside it (written by
    ``parallel.start_letters``). Dated by the case file, else by the data (``as_of``),
    never by the clock, so reruns give the same bytes."""
    case = case or Case()
    s = rec.summary or summarize(rec, pseudonymized)
    numbers = s.numbers
    csv_name = path.with_suffix(".csv").name
    when_made = dt.datetime.combine(case.date, dt.time(12), tzinfo=dt.UTC) if case.date else as_of
    doc = Doc(
        f"Notice of recorded attorney-client calls: {rec.name}", when_made,
        author=case.sender.who(), subject=case.reference or case.name,
    )  # fmt: skip
    doc.add_page()
    _letter_head(doc, case)
    doc.para("NOTICE OF RECORDED ATTORNEY-CLIENT CALLS", 9, muted=True)
    doc.h1(f"To: {rec.name}")
    plural = "s" if len(numbers) > 1 else ""
    doc.para(f"Your telephone number{plural} examined: {', '.join(numbers)}", 11)
    doc.h2("What was found")
    doc.para(texts.LETTER_MEANING)
    n = s.calls
    when = when_sentence(s.first_day, s.last_day)
    places = ", ".join(case.facility(f) for f in s.facilities)
    found = (
        f"The records show {_plural(n, 'recorded call', 'recorded calls')} to your number{plural}"
        if not s.inferred
        else f"This audit counts {_plural(n, 'recorded call', 'recorded calls')} to your "
        f"number{plural}"
    )
    doc.para(
        f"{found} {when}, from {_plural(len(s.facilities), 'facility', 'facilities')} "
        f"({places}), made by "
        f"{_plural(s.inmates, 'person', 'different people')} in custody. "
        + inferred_sentence(n, s.inferred)
        + outcome_sentences(n, s.completed, s.violations),
        10.5,
    )
    holder = case.sender.who() or "The team that ran this audit"
    contact = f" (contact: {case.sender.contact()})" if case.sender.contact() else ""
    if pseudonymized:
        doc.para(
            "The people in custody are identified by pseudonyms to protect their privacy. "
            f"{holder}{contact} holds the key and can tell you who each one is.",
            9,
            muted=True,
        )
    doc.h2(f"How the number{plural} {'were' if plural else 'was'} linked to you")
    if rec.links:
        doc.bullets([f"{num}: {how}" for num, how in rec.links], 9.5)
    else:
        doc.para("See exports/attorney_numbers.csv, column 'evidence', for each number.", 9.5)
    doc.h2("What you can do")
    examples = example_calls(rec.calls[:cap], case)
    if examples:
        doc.para(
            "Name specific calls in any request, so the facility cannot answer in general "
            "terms. For example: " + "; and ".join(examples) + ".",
            10,
        )
    doc.bullets(texts.LETTER_OPTIONS)
    doc.para(texts.LETTER_PRECEDENTS, 8.5, muted=True)
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
            (local_time(c["start_utc"], c["local_zone"]), (c["start_utc"] or "")[:16],
             case.facility(c["facility"]), c["number"], inmate(c, pseudonymized),
             duration(c["duration_s"]),
             c["recording_ref"] or ("inferred" if c.get("recorded_from") == INFERRED else ""),
             "yes" if c["registered_then"] else "no")
            for c in listed
        ],
        [22, 21, 21, 19, 24, 15, 36, 16],
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
        f"Where each call comes from: its call ID (first column) in {csv_name} is its row in the audit's "
        "exports/privileged_calls.csv, and the 'sources' column of both names the file, "
        "table and row of the phone records it was read from. In the CSV file, text a "
        "spreadsheet could run as a formula starts with an apostrophe ('). The audit's "
        "manifest.json lets anyone check, with 'privguard verify', that the records, this "
        "letter and its list were not changed after the audit ran.",
        8.5,
        muted=True,
    )
    if case.sender.who():
        doc.ln(4)
        doc.para("\n".join(["Sincerely,", *[v for v in (case.sender.name,
                 case.sender.organisation) if v]]), 10)  # fmt: skip
    doc.save(path)


def write_letters(
    calls: Iterable[dict[str, Any]],
    folder: Path,
    *,
    as_of: dt.datetime,
    pseudonymized: bool,
    cap: int = LIST_CAP,
    case: Case | None = None,
    links: dict[str, str] | None = None,
) -> list[Path]:
    """Write one letter per recipient into ``folder`` in this process; returns the files,
    in order. The reference for ``parallel.start_letters`` (same bytes), which the report
    uses: it also writes each letter's ``<stem>.csv``, which this does not. ``links``:
    number -> how it was linked to its attorney (:func:`link_text`)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    recipients = group_calls(calls)
    for rec, stem in zip(recipients, stems([r.name for r in recipients]), strict=True):
        path = folder / f"{stem}.pdf"
        rec.links = [(num, (links or {})[num]) for num in rec.numbers if num in (links or {})]
        render_letter(rec, path, as_of=as_of, pseudonymized=pseudonymized, cap=cap, case=case)
        paths.append(path)
    return paths
