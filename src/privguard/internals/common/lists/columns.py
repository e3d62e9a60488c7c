"""Recognize the columns of directories and registries: header synonyms, then content.

A column named in the ``[identify]`` settings always wins; otherwise a header synonym;
otherwise the content decides (a column of mostly phone numbers is a phone column, a
column of mostly dates is a date column).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from privguard.errors import InputError
from privguard.internals.common.lists.numbers import row_numbers
from privguard.internals.common.lists.tables import Cell, Sheet, column

_WORD = re.compile(r"[^a-z0-9]+")

# Normalized header words (lowercase, non-alphanumerics as spaces) for each field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone",
        "phones",
        "telephone",
        "tel",
        "number",
        "numbers",
        "phone number",
        "phone numbers",
        "office phone",
        "work phone",
        "cell",
        "cell phone",
        "mobile",
        "mobile phone",
        "direct",
        "direct line",
        "main phone",
        "contact number",
        "dialed number",
        "attorney phone",
        "telephone number",
        "phone no",
        "tel no",
        "business phone",
        "other phone",
    ),
    "name": (
        "name",
        "attorney",
        "attorney name",
        "member",
        "member name",
        "full name",
        "lawyer",
        "office",
        "office name",
        "organization",
        "agency",
        "firm",
        "law firm",
        "public defender",
        "registrant",
        "owner",
        "contact",
        "display name",
    ),
    "first_name": ("first", "first name", "given name", "firstname"),
    "last_name": ("last", "last name", "surname", "family name", "lastname"),
    "bar_number": (
        "bar",
        "bar number",
        "bar no",
        "bar id",
        "bar num",
        "member id",
        "license",
        "registration number",
        "attorney registration number",
    ),
    "added": (
        "added",
        "date added",
        "registered",
        "date registered",
        "registration date",
        "registered on",
        "effective",
        "effective date",
        "start",
        "start date",
        "from",
        "added on",
        "valid from",
        "since",
        "date",
    ),
    "removed": (
        "removed",
        "date removed",
        "removed on",
        "end",
        "end date",
        "until",
        "to",
        "expires",
        "expiration",
        "expiration date",
        "valid until",
        "deleted",
        "date deleted",
        "deactivated",
        "inactive date",
    ),
    "facility": ("facility", "site", "jail", "location", "facility code", "site id", "institution"),
    # The country a row's numbers are dialed in; never "county", a different column.
    "country": (
        "country",
        "countries",
        "country code",
        "country name",
        "country region",
        "country iso",
        "iso country",
        "iso country code",
        "nation",
        "phone country",
        "phone country code",
        "dialing country",
    ),
}
SYNONYMS["number"] = SYNONYMS["phone"]


def norm_header(text: str) -> str:
    """Lowercase, punctuation as single spaces: ``"Date-Added "`` -> ``"date added"``."""
    return _WORD.sub(" ", text.lower()).strip()


def by_header(sheet: Sheet, field: str) -> list[int]:
    """Indexes of the columns whose header is a synonym of ``field``."""
    words = SYNONYMS[field]
    return [i for i, h in enumerate(sheet.header) if norm_header(h) in words]


def by_name(sheet: Sheet, names: Iterable[str], field: str, setting: str) -> list[int]:
    """Indexes of the columns named in the settings; an unknown name is an error."""
    wanted = {norm_header(n): n for n in names}
    found = [i for i, h in enumerate(sheet.header) if norm_header(h) in wanted]
    have = {norm_header(sheet.header[i]) for i in found}
    missing = [n for k, n in wanted.items() if k not in have]
    if missing:
        raise InputError(
            f"the column(s) {', '.join(map(repr, missing))} named for {field!r} are not in the "
            f"header ({', '.join(map(repr, sheet.header))})",
            where=sheet.place(sheet.header_row),
            fix=f"correct [identify] {setting} in the case file to name columns of this file",
        )
    return found


def phone_share(sheet: Sheet, index: int, country: int | None = None, sample: int = 200) -> float:
    """Share of filled cells in a column holding a valid number (read in the row's country)."""
    filled = [
        (row[index], row[country] if country is not None else None)
        for _, row in sheet.rows
        if isinstance(row[index], str)
    ][:sample]
    if not filled:
        return 0.0
    good = sum(1 for c, where in filled if row_numbers([c], where).numbers)
    return good / len(filled)


def sniff_phones(sheet: Sheet, country: int | None = None) -> list[int]:
    """Columns where most filled cells hold a phone number."""
    return [
        i
        for i in range(len(sheet.header))
        if i != country and phone_share(sheet, i, country) >= 0.6
    ]


def sniff_text(sheet: Sheet, exclude: set[int]) -> int | None:
    """The most name-like column: mostly letters, many distinct values."""
    best, best_share = None, 0.5
    for i in range(len(sheet.header)):
        if i in exclude:
            continue
        cells = [c for c in column(sheet, i) if isinstance(c, str)][:200]
        if not cells:
            continue
        share = sum(1 for c in cells if sum(ch.isalpha() for ch in c) > len(c) / 2) / len(cells)
        if share > best_share:
            best, best_share = i, share
    return best


# --- dates -------------------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_NUM = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY_TEXT = re.compile(r"^(\d{1,2})[- ]([A-Za-z]+)\.?[- ,]+(\d{2}|\d{4})(?:[ T].*)?$")
_MDY_TEXT = re.compile(r"^([A-Za-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})(?:[ T].*)?$")


def _year(y: str) -> int:
    n = int(y)
    return n + (2000 if n < 70 else 1900) if len(y) == 2 else n


def day_first(cells: Iterable[Cell]) -> bool:
    """True when numeric dates in this column are day/month (some first part exceeds 12)."""
    first, second = 0, 0
    for c in cells:
        if isinstance(c, str) and (m := _NUM.match(c.strip())):
            first = max(first, int(m.group(1)))
            second = max(second, int(m.group(2)))
    return first > 12 >= second


def parse_date(cell: Cell, dayfirst: bool = False) -> dt.date | None:
    """One date as people write it; None when the cell is not a date we understand."""
    if cell is None:
        return None
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    text = cell.strip()
    try:
        if m := _ISO.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _NUM.match(text):
            a, b = int(m.group(1)), int(m.group(2))
            d, mo = (a, b) if dayfirst else (b, a)
            return dt.date(_year(m.group(3)), mo, d)
        if m := _COMPACT.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if (m := _DMY_TEXT.match(text)) and m.group(2).lower() in _MONTHS:
            return dt.date(_year(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
        if (m := _MDY_TEXT.match(text)) and m.group(1).lower() in _MONTHS:
            return dt.date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
        if re.fullmatch(r"\d{5}(\.\d+)?", text) and 20000 < float(text) < 80000:
            # An Excel serial day number that lost its date format on the way to CSV.
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))
    except ValueError:
        return None
    return None


def date_share(sheet: Sheet, index: int) -> float:
    """Share of filled cells in a column that parse as dates."""
    cells = [c for c in column(sheet, index) if c is not None][:200]
    if not cells:
        return 0.0
    dayfirst = day_first(cells)
    return sum(1 for c in cells if parse_date(c, dayfirst)) / len(cells)
