"""Load attorney directories, do-not-record registries and review labels as small tables.

Each loader returns a :class:`pyarrow.Table` with one row per (number, source row), so the
engine can join it against the call table; ``read_directory`` and ``read_registry`` return
the same table in a :class:`ListRead` with the rows set aside and why. Problems that make a
file unusable raise :class:`~privguard.errors.InputError` naming the file, the place and the
fix; a row without a valid number is set aside with its reason (logged, counted), because
real lists always have a few. A number listed by several rows (two attorneys of one firm)
stays one row per listing: it is one number with several holders (:meth:`ListRead.holders`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from privguard.errors import InputError
from privguard.internals.common.lists import columns as C
from privguard.internals.common.lists.numbers import RowNumbers, SetAside, row_numbers, summary

__all__ = [
    "DIRECTORY_SCHEMA",
    "LABELS_SCHEMA",
    "REGISTRY_SCHEMA",
    "ListRead",
    "SetAside",
    "load_directory",
    "load_labels",
    "load_registry",
    "read_directory",
    "read_registry",
]
from privguard.internals.common.lists.tables import Cell, Sheet, read_sheets
from privguard.internals.common.phones import split_numbers, to_e164

log = logging.getLogger(__name__)

DIRECTORY_SCHEMA = pa.schema(
    [
        ("number", pa.string()),
        ("attorney_name", pa.string()),
        ("bar_number", pa.string()),
        ("source_file", pa.string()),
        ("source_place", pa.string()),
        ("source_row", pa.int64()),
    ]
)
REGISTRY_SCHEMA = pa.schema(
    [
        ("number", pa.string()),
        ("registered_from", pa.date32()),
        ("registered_until", pa.date32()),
        ("facility", pa.string()),
        ("registrant", pa.string()),
        ("source_file", pa.string()),
        ("source_place", pa.string()),
        ("source_row", pa.int64()),
    ]
)
LABELS_SCHEMA = pa.schema(
    [
        ("number", pa.string()),
        ("decision", pa.string()),
        ("note", pa.string()),
        ("attorney_name", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)
_ALL_FACILITIES = {"", "all", "*", "any", "all facilities", "statewide", "all sites"}
_CONFIRM = {"confirm", "confirmed", "yes", "y", "attorney", "true", "1", "privileged"}
_REJECT = {"reject", "rejected", "no", "n", "not attorney", "false", "0", "not privileged"}


@dataclass(frozen=True)
class ListRead:
    """One directory or registry file as read: its entries and every row set aside.

    ``rows`` (rows with any filled cell) = ``accepted`` + ``len(rows_set_aside)``;
    ``numbers_set_aside`` are invalid numbers of rows that gave another, valid number.
    """

    table: pa.Table
    rows: int
    accepted: int
    rows_set_aside: tuple[SetAside, ...]
    numbers_set_aside: tuple[SetAside, ...]

    def holders(self, field: str = "attorney_name") -> dict[str, tuple[str, ...]]:
        """Each number with every distinct name listing it, in file order (none dropped)."""
        out: dict[str, dict[str, None]] = {}
        for number, name in zip(
            self.table.column("number").to_pylist(),
            self.table.column(field).to_pylist(),
            strict=True,
        ):
            names = out.setdefault(number, {})
            if name:
                names[name] = None
        return {n: tuple(names) for n, names in out.items()}


class _Tally:
    """Rows accepted and set aside while reading one file."""

    def __init__(self) -> None:
        self.rows = self.accepted = 0
        self.rows_aside: list[SetAside] = []
        self.numbers_aside: list[SetAside] = []

    def row(self, sheet: Sheet, rownum: int, got: RowNumbers) -> bool:
        """Count one row; True when it gave a number."""
        self.rows += 1
        place = sheet.place(rownum)
        aside = got.row_set_aside(place)
        if aside is not None:
            self.rows_aside.append(aside)
            return False
        self.accepted += 1
        self.numbers_aside += [SetAside(place, raw, why) for raw, why in got.set_aside]
        return True

    def done(self, path: Path, table: pa.Table, what: str) -> ListRead:
        """The file's :class:`ListRead`, its set-asides logged by reason."""
        if self.rows_aside:
            log.warning(
                "%s: %d of %d row(s) set aside: %s",
                path.name,
                len(self.rows_aside),
                self.rows,
                summary(self.rows_aside),
            )
        if self.numbers_aside:
            log.warning(
                "%s: %d more number(s) set aside in rows kept: %s",
                path.name,
                len(self.numbers_aside),
                summary(self.numbers_aside),
            )
        log.info("%s: %d %s from %d row(s)", path.name, table.num_rows, what, self.accepted)
        return ListRead(
            table, self.rows, self.accepted, tuple(self.rows_aside), tuple(self.numbers_aside)
        )


def _numbers(cell: Cell) -> list[str]:
    if not isinstance(cell, str):
        return []
    return [n for n in (to_e164(p).e164 for p in split_numbers(cell)) if n]


def _country(row: list[Cell], idx: list[int]) -> Cell:
    """The row's country cell (first country column), or None when the file has none."""
    return row[idx[0]] if idx else None


def _pick(
    sheet: Sheet, field: str, override: Mapping[str, tuple[str, ...]], setting: str
) -> list[int]:
    if field in override:
        return C.by_name(sheet, override[field], field, setting)
    found = C.by_header(sheet, field)
    if field == "name" and found:
        # "Name" beats "Firm": keep the one column whose header is the likeliest synonym.
        rank = {w: i for i, w in enumerate(C.SYNONYMS["name"])}
        found = [min(found, key=lambda i: rank[C.norm_header(sheet.header[i])])]
    return found


def _text(row: list[Cell], idx: list[int]) -> str | None:
    parts = [str(row[i]).strip() for i in idx if row[i] is not None and str(row[i]).strip()]
    return " ".join(parts) or None


def _phone_columns(
    sheet: Sheet, override: Mapping[str, tuple[str, ...]], setting: str, country: list[int]
) -> list[int]:
    # The case file names the column "phone" in directory_columns, "number" in registry_columns.
    field = "number" if setting == "registry_columns" else "phone"
    found = _pick(sheet, field, override, setting)
    if field not in override:
        # A header such as "Number" may be a bar number: keep only columns that hold phones
        # (read in the row's country); when none does, the header's column, whose rows are
        # then set aside each with its reason.
        where = country[0] if country else None
        found = (
            [i for i in found if C.phone_share(sheet, i, where) >= 0.3]
            or C.sniff_phones(sheet, where)
            or found
        )
    if not found:
        raise InputError(
            "no column of phone numbers was found (headers: "
            + ", ".join(map(repr, sheet.header))
            + ")",
            where=sheet.place(sheet.header_row),
            # 'registry import-feed' takes no case file: the header works for every command.
            fix=f"title the phone column {field!r} in the file, or name the phone column(s) "
            f'in the case file: [identify] {setting} = {{ {field} = ["Office Phone", "Cell"] }}',
        )
    return found


def load_directory(path: Path, columns: Mapping[str, tuple[str, ...]] | None = None) -> pa.Table:
    """A bar or public-defender directory: one row per (number, directory row).

    ``columns`` names the source columns of a field (``phone``, ``name``, ``bar_number``,
    ``office``, ``country``) where recognition from headers and values is not wanted: the
    case file's ``[identify] directory_columns``. See :func:`read_directory`.
    """
    return read_directory(path, columns).table


def read_directory(path: Path, columns: Mapping[str, tuple[str, ...]] | None = None) -> ListRead:
    """Read a bar or public-defender directory, accounting for every row.

    Numbers are read in the region of the row's country column when the file has one
    (header ``country``, ``country_code``, ``nation``...: "44 7834 889 903" with
    ``UNITED KINGDOM`` is +447834889903); a row without a country is read as a North
    American number unless the number starts with ``+``. A row with no valid number is
    set aside with its reason, never turned into a guessed number. A number two
    attorneys share gives two entries, one per holder: :meth:`ListRead.holders`.

    Raises:
        InputError: the file cannot be read, has no phone column, or no valid number.
    """
    rows: list[dict[str, object]] = []
    override = dict(columns or {})
    tally = _Tally()
    for sheet in read_sheets(path):
        country = _pick(sheet, "country", override, "directory_columns")
        phones = _phone_columns(sheet, override, "directory_columns", country)
        names = _pick(sheet, "name", override, "directory_columns")
        if not names:
            first, last = C.by_header(sheet, "first_name"), C.by_header(sheet, "last_name")
            names = first + last
        if not names:
            guess = C.sniff_text(sheet, set(phones))
            names = [guess] if guess is not None else []
        bar = _pick(sheet, "bar_number", override, "directory_columns")
        for rownum, row in sheet.rows:
            got = row_numbers([row[i] for i in phones], _country(row, country))
            if not tally.row(sheet, rownum, got):
                continue
            for number in got.numbers:
                rows.append(
                    {
                        "number": number,
                        "attorney_name": _text(row, names),
                        "bar_number": _text(row, bar),
                        "source_file": path.name,
                        "source_place": sheet.place(rownum),
                        "source_row": rownum,
                    }
                )
    if not rows:
        raise InputError(
            "no valid phone number was found in this directory"
            + (f" ({summary(tally.rows_aside)})" if tally.rows_aside else ""),
            where=str(path),
            fix="check that the file is the attorney list and its phone column holds numbers",
        )
    return tally.done(path, pa.Table.from_pylist(rows, schema=DIRECTORY_SCHEMA), "entries")


def _date_column(sheet: Sheet, field: str, override: Mapping[str, tuple[str, ...]]) -> int | None:
    found = _pick(sheet, field, override, "registry_columns")
    if found:
        return found[0]
    return None


def load_registry(path: Path, columns: Mapping[str, tuple[str, ...]] | None = None) -> pa.Table:
    """A do-not-record registry: one row per (number, interval) with its facility or NULL.

    ``columns`` overrides recognition as in :func:`load_directory`, with the fields
    ``number``, ``added``, ``removed``, ``facility``, ``name`` and ``country``
    (``[identify] registry_columns``). See :func:`read_registry`.
    """
    return read_registry(path, columns).table


def read_registry(path: Path, columns: Mapping[str, tuple[str, ...]] | None = None) -> ListRead:
    """Read a do-not-record registry, accounting for every row as :func:`read_directory`.

    Raises:
        InputError: the file cannot be read, has no number column or no valid number, or
            a date cell is not a date.
    """
    rows: list[dict[str, object]] = []
    override = dict(columns or {})
    tally = _Tally()
    for sheet in read_sheets(path):
        country = _pick(sheet, "country", override, "registry_columns")
        numbers = _phone_columns(sheet, override, "registry_columns", country)
        added = _date_column(sheet, "added", override)
        removed = _date_column(sheet, "removed", override)
        if added is None:
            # No recognizable header: the first column of mostly dates is the date added.
            dates = [i for i in range(len(sheet.header)) if C.date_share(sheet, i) >= 0.8]
            added = dates[0] if dates else None
        fac = _pick(sheet, "facility", override, "registry_columns")
        who = _pick(sheet, "name", override, "registry_columns")
        if added is None:
            log.warning("%s: no date-added column; entries count from the start", sheet.place())
        # One file is written by one hand: 25/12/2012 in either column makes both day-first.
        date_cols = [i for i in (added, removed) if i is not None]
        dayfirst = C.day_first(r[i] for _, r in sheet.rows for i in date_cols)
        for rownum, row in sheet.rows:
            got = row_numbers([row[i] for i in numbers], _country(row, country))
            if not tally.row(sheet, rownum, got):
                continue
            start = _date(sheet, rownum, row, added, dayfirst, "date added")
            end = _date(sheet, rownum, row, removed, dayfirst, "date removed")
            facility = _text(row, fac[:1])
            if facility is not None and facility.strip().lower() in _ALL_FACILITIES:
                facility = None
            for number in got.numbers:
                rows.append(
                    {
                        "number": number,
                        "registered_from": start,
                        "registered_until": end,
                        "facility": facility.strip().upper() if facility else None,
                        "registrant": _text(row, who),
                        "source_file": path.name,
                        "source_place": sheet.place(rownum),
                        "source_row": rownum,
                    }
                )
    if not rows:
        raise InputError(
            "no valid phone number was found in this registry"
            + (f" ({summary(tally.rows_aside)})" if tally.rows_aside else ""),
            where=str(path),
            fix="check that the file is the do-not-record list and its number column holds numbers",
        )
    return tally.done(path, pa.Table.from_pylist(rows, schema=REGISTRY_SCHEMA), "intervals")


def _date(
    sheet: Sheet, rownum: int, row: list[Cell], idx: int | None, dayfirst: bool, what: str
) -> dt.date | None:
    if idx is None or row[idx] is None:
        return None
    value = C.parse_date(row[idx], dayfirst)
    if value is None:
        raise InputError(
            f"the {what} {row[idx]!r} is not a date privguard understands",
            where=sheet.place(rownum) + f", column {sheet.header[idx]!r}",
            fix="write dates as 2013-02-04 (or 02/04/2013), or leave the cell empty",
        )
    return value


def load_labels(path: Path) -> pa.Table:
    """A filled review sheet: ``number`` and ``decision`` (confirm/reject) columns, and
    optionally ``note`` and ``attorney_name`` (who a confirmed number belongs to)."""
    rows: list[dict[str, object]] = []
    for sheet in read_sheets(path):
        num = C.by_header(sheet, "number")
        dec = [i for i, h in enumerate(sheet.header) if C.norm_header(h) in ("decision", "label")]
        note = [i for i, h in enumerate(sheet.header) if C.norm_header(h) in ("note", "notes")]
        # Who the confirmed number belongs to: the letter is addressed to them by name.
        named = [i for i, h in enumerate(sheet.header)
                 if C.norm_header(h) in ("attorney name", "attorney", "attorney or office")]  # fmt: skip
        if not num or not dec:
            raise InputError(
                "a review sheet needs a 'number' and a 'decision' column",
                where=sheet.place(sheet.header_row),
                fix="use the sheet written by 'privguard review' and fill its decision column",
            )
        for rownum, row in sheet.rows:
            value = (str(row[dec[0]]).strip().lower()) if row[dec[0]] is not None else ""
            if not value:
                continue
            if value not in _CONFIRM | _REJECT:
                raise InputError(
                    f"the decision {row[dec[0]]!r} is neither 'confirm' nor 'reject'",
                    where=sheet.place(rownum),
                    fix="write confirm or reject in the decision column, or leave it empty",
                )
            numbers = _numbers(row[num[0]])
            if not numbers:
                raise InputError(
                    f"{row[num[0]]!r} is not a valid phone number",
                    where=sheet.place(rownum),
                    fix="keep the number column as privguard wrote it",
                )
            rows.append(
                {
                    "number": numbers[0],
                    "decision": "confirm" if value in _CONFIRM else "reject",
                    "note": _text(row, note[:1]),
                    "attorney_name": _text(row, named[:1]),
                    "source_file": path.name,
                    "source_row": rownum,
                }
            )
    return pa.Table.from_pylist(rows, schema=LABELS_SCHEMA)
