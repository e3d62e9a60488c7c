"""The columns dedupe matches on, found by their values when no header names them (issue 11).

Without a facility and an inmate account, copies of one call in two tables cannot be told
from two calls, so an audit of a header-blind dump (``col1..colN``) counted 24-52 % too
many calls. These rules look only at columns no header or mapping took:

* the clock column: every value a zone name, abbreviation or UTC offset;
* the completion status: every value a status word (``Completed``, ``Refused``, ``No
  answer`` ...), or the one-letter codes ``C R N B``;
* the facility: one value repeated down the whole sample (exports are per facility), or a
  few facility-looking codes or names, each repeated;
* the inmate account: an identifier (digits, perhaps behind a short prefix) that repeats
  (people call many times) without being unique to each row;
* the exporter's call number: digits unique to each row.

Each is taken only when exactly one column fits, so an ambiguous table keeps its columns
unmapped (and the report says what they look like) rather than guessing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

# Share of a sample's values that must fit a rule: a corrupt row or two (columns shifted,
# one value in 500) must not hide a column whose other values are unambiguous.
MOSTLY = 0.98


def mostly(values: Sequence[str], fits: Callable[[str], Any]) -> bool:
    """True when at least :data:`MOSTLY` of ``values`` (all of a small sample) fit."""
    return bool(values) and sum(1 for v in values if fits(v)) >= MOSTLY * len(values)


_ZONE = re.compile(
    r"^(?:UTC|GMT|Z|[ECMP][SD]T|AK[SD]T|H[SD]T|[A-Z][a-z]+(?:/[A-Za-z_]+)+|[+-]\d{2}:?\d{2})$"
)
# Status words, as normalize reads them (normalize/sql.py _DONE and _NOT_DONE).
_STATUS = re.compile(
    r"complet|accept|answer|connect|success|billed|refus|declin|busy|block|fail|reject|"
    r"drop|cancel|invalid|denied|error",
    re.I,
)
_STATUS_LETTERS = frozenset("crnb")
_ACCOUNT = re.compile(r"^(?:[A-Za-z0-9]{1,6}[-_/])?\d{4,10}$")
_FACILITY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,7}(?:[-_][A-Z0-9]{1,6})?$")
_FACILITY_WORDS = re.compile(
    r"jail|county|prison|correction|detention|facility|center|centre|unit|institution|"
    r"penitentiary|annex|complex|justice|sheriff",
    re.I,
)
_CALL_ID = re.compile(r"^\d{3,20}$")


def _zone(vals: list[str]) -> bool:
    return mostly(vals, _ZONE.match)


def _status(vals: list[str]) -> bool:
    if sum(1 for v in vals if _STATUS.search(v)) >= 0.9 * len(vals):
        return True
    low = {v.lower() for v in vals} & _STATUS_LETTERS
    return len(low) >= 2 and "c" in low and mostly(vals, lambda v: v.lower() in _STATUS_LETTERS)


_FLAGS = frozenset(["y", "n", "yes", "no", "true", "false", "t", "f", "1", "0", "1.0", "0.0"])


def _facility(vals: list[str]) -> bool:
    counts = Counter(vals)
    if len(counts) == 1:
        # "Repeated down the sample" needs a sample: one value in a row or two proves
        # nothing (the corpus's skip_row.csv holds one row, its text 'TEST3').
        if len(vals) < 10:
            return False
        v = vals[0]
        if len(v) < 2 or v.lower() in _FLAGS:
            return False
        return v.isdigit() or not re.fullmatch(r"[\d.,:\- ]+", v)
    looks = all(_FACILITY_CODE.match(v) or _FACILITY_WORDS.search(v) for v in counts)
    return looks and len(counts) <= 12 and min(counts.values()) >= 3


def _account(vals: list[str]) -> bool:
    distinct = len(set(vals))
    return len(vals) >= 10 and mostly(vals, _ACCOUNT.match) and 2 <= distinct <= 0.95 * len(vals)


def _call_id(vals: list[str]) -> bool:
    return len(vals) >= 10 and all(_CALL_ID.match(v) for v in vals) and len(set(vals)) == len(vals)


RULES: tuple[tuple[str, Callable[[list[str]], bool], str], ...] = (
    ("start_zone", _zone, "the sampled values are time zones or UTC offsets"),
    ("status", _status, "the sampled values are completion statuses"),
    ("facility", _facility, "one facility-like value, or a few, repeated down the sample"),
    ("inmate_account", _account, "an identifier that repeats, as accounts calling many times do"),
    ("source_call_id", _call_id, "digits unique to every sampled row"),
)


def key_columns(
    columns: Sequence[str],
    sample: Sequence[Sequence[str | None]],
    taken: dict[str, tuple[int, ...]],
    used: set[int],
    kinds: Sequence[str],
) -> list[tuple[str, int, str]]:
    """(field, column index, evidence) for each field above that exactly one free column fits.

    ``kinds`` are :func:`~.mapping.kind` of each column: typed columns (phones, dates,
    links) are never keys.
    """
    # "date" too: eight-digit accounts (00012345) read as yyyymmdd.
    free = [i for i in range(len(columns)) if i not in used and kinds[i] in ("other", "date")]
    values = {
        i: [str(r[i]).strip() for r in sample if r[i] is not None and str(r[i]).strip()]
        for i in free
    }
    # A column with empty cells in the sample is no key (a recording link, a note).
    full = [i for i in free if values[i] and len(values[i]) == len(sample)]
    out: list[tuple[str, int, str]] = []
    for field, fits, why in RULES:
        if field in taken:
            continue
        hits = [i for i in full if i not in {j for _, j, _ in out} and fits(values[i])]
        if field == "inmate_account" and len(hits) > 1:
            hits = _fewest(hits, values)  # the call number repeats too, in verbatim copies
        if len(hits) == 1:
            out.append((field, hits[0], why))
    return out


def _fewest(hits: list[int], values: dict[int, list[str]]) -> list[int]:
    """The one column repeating clearly more than every other (accounts against call
    numbers that repeat only in duplicated rows), else all of them: ambiguous."""
    ranked = sorted(hits, key=lambda i: len(set(values[i])))
    first, second = (len(set(values[i])) for i in ranked[:2])
    return ranked[:1] if first <= 0.75 * second else hits
