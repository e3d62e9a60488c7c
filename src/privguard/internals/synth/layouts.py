"""How each export system lays out its tables: format, headers, clocks, units, spellings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

FORMATS: tuple[str, ...] = (
    "csv",
    "tsv",
    "jsonl",
    "parquet",
    "xlsx",
    "sqlite",
    "mysql_dump",
    "pg_dump",
)
TEXT_FORMATS = ("csv", "tsv", "jsonl")
_FORMAT_P = {
    "csv": 0.34,
    "tsv": 0.14,
    "jsonl": 0.1,
    "parquet": 0.2,
    "sqlite": 0.08,
    "mysql_dump": 0.07,
    "pg_dump": 0.07,
}
STATUS_VOCABS: tuple[tuple[str, str, str, str], ...] = (
    ("Completed", "Refused", "No Answer", "Blocked"),
    ("COMPLETE", "REFUSED", "NO ANSWER", "BLOCKED"),
    ("C", "R", "N", "B"),
    ("Accepted", "Refused by called party", "No answer", "Blocked number"),
)
YES_NO: tuple[tuple[str, str], ...] = (("N", "Y"), ("0", "1"), ("false", "true"), ("No", "Yes"))
NUMBER_STYLES = ("e164", "d10", "d11", "paren", "dash", "dot")
_SQL_SAFE = str.maketrans({" ": "_", "(": "", ")": "", "?": "", "$": "", "#": ""})


@dataclass(frozen=True)
class Column:
    """One source column: its header as written and what it holds (``kind:style``)."""

    header: str
    field: str


@dataclass(frozen=True)
class Layout:
    """Everything about how one system writes a table."""

    fmt: str
    columns: tuple[Column, ...]
    clock: str  # "utc" or "local"
    zone_given: str  # header | iso | column | typed | none
    duration_unit: str  # seconds | minutes | hms
    delimiter: str = ","
    encoding: str = "utf-8"
    newline: str = "\n"
    compression: str = ""  # "" | "gz" | "zip"
    quote_all: bool = False
    ext: str = ".csv"


@dataclass
class System:
    """One export feed of one facility (billing, recording, site export, extract)."""

    index: int
    facility: int
    name: str
    prefix: str
    layout: Layout
    months: int  # months per table
    overlap_days: int
    reexport: bool  # its table covering January 2013 is re-exported whole
    weight: float
    extra: bool  # extract: takes extra copies with probability ``weight``
    skew_s: int  # constant clock error of the system
    jitter_s: int  # connect delay between the real start and this system's start
    id_mul: int
    id_add: int


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(0, len(options)))])


def make_layout(
    rng: np.random.Generator, fmt: str, clock: str, zone_given: str, unit: str, role: str
) -> Layout:
    """A random but plausible layout for a system with this format, clock and role."""
    cols: list[Column] = [
        Column(_pick(rng, ("call_id", "CALL_SEQ", "SeqNo", "record_id", "RecID")), "srcid")
    ]
    cols.append(
        Column(
            _pick(rng, ("facility", "SITE", "Facility Name", "site_name", "Location")),
            _pick(rng, ("facility:code", "facility:name")),
        )
    )
    acct = _pick(rng, ("inmate_account", "ACCOUNT_NO", "PIN", "InmateID", "acct"))
    cols.append(Column(acct, _pick(rng, ("account:pad8", "account:plain", "account:prefix"))))
    if rng.random() < 0.75:
        style = _pick(rng, ("name:last_first", "name:first_last", "name:upper"))
        cols.append(Column(_pick(rng, ("inmate_name", "INMATE", "Inmate Name", "name")), style))
    number_h = ("DialedNumber", "called_no", "PHONE", "Destination Number", "dialed_num")
    cols.append(Column(_pick(rng, number_h), "number:" + _pick(rng, NUMBER_STYLES)))
    cols += _time_columns(rng, fmt, clock, zone_given)
    dur_h = {
        "seconds": ("duration_s", "DurationSec", "SECONDS", "call_seconds", "Duration"),
        "minutes": ("billed_minutes", "MINUTES", "BilledMin", "Minutes"),
        "hms": ("Duration", "CALL_LENGTH", "Call Length", "length"),
    }[unit]
    cols.append(Column(_pick(rng, dur_h), f"duration:{unit}"))
    vocab = int(rng.integers(0, len(STATUS_VOCABS)))
    cols.append(
        Column(_pick(rng, ("status", "CALL_STATUS", "Disposition", "result")), f"status:{vocab}")
    )
    # Most billing systems also keep the recording flag; recording systems keep the link too.
    if role != "billing" or rng.random() < 0.8:
        yn = int(rng.integers(0, len(YES_NO)))
        recorded = "recorded:bool" if fmt == "parquet" else f"recorded:{yn}"
        cols.append(
            Column(_pick(rng, ("recorded", "IS_RECORDED", "Recorded?", "rec_flag")), recorded)
        )
    if role != "billing":
        ref = _pick(rng, ("ref:url", "ref:path"))
        cols.append(
            Column(_pick(rng, ("recording_url", "RECORDING_PATH", "recording", "rec_link")), ref)
        )
    else:
        cols.append(Column(_pick(rng, ("amount", "CHARGE", "Amount ($)")), "extra:amount"))
    if rng.random() < 0.5:
        cols.append(Column(_pick(rng, ("call_type", "TYPE", "BillingType")), "extra:call_type"))
    if rng.random() < 0.4:
        cols.append(Column(_pick(rng, ("station", "PHONE_ID", "Station")), "extra:station"))
    if fmt in ("sqlite", "mysql_dump", "pg_dump"):
        cols = [Column(c.header.translate(_SQL_SAFE).lower(), c.field) for c in cols]
    delimiter, encoding, newline, compression, ext = ",", "utf-8", "\n", "", ""
    if fmt == "csv":
        delimiter = _pick(rng, (",", ",", ",", ";", "|"))
        ext = ".txt" if delimiter == "|" and rng.random() < 0.5 else ".csv"
    elif fmt == "tsv":
        delimiter, ext = "\t", _pick(rng, (".tsv", ".tsv", ".txt", ".tab"))
    elif fmt == "jsonl":
        ext = _pick(rng, (".jsonl", ".json", ".ndjson"))
    if fmt in ("csv", "tsv"):
        encoding = _pick(rng, ("utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "latin-1"))
        newline = "\r\n" if rng.random() < 0.3 else "\n"
    if fmt in TEXT_FORMATS:
        r = rng.random()
        compression = "gz" if r < 0.15 else "zip" if r < 0.3 else ""
    ext = ext or {"parquet": ".parquet", "sqlite": ".sqlite", "xlsx": ".xlsx"}.get(fmt, ".sql")
    return Layout(
        fmt=fmt,
        columns=tuple(cols),
        clock=clock,
        zone_given=zone_given,
        duration_unit=unit,
        delimiter=delimiter,
        encoding=encoding,
        newline=newline,
        compression=compression,
        quote_all=fmt == "csv" and rng.random() < 0.2,
        ext=ext,
    )


def _time_columns(rng: np.random.Generator, fmt: str, clock: str, zone_given: str) -> list[Column]:
    if zone_given == "typed":  # parquet timestamp column (tz=UTC when the clock is UTC)
        head = "start_utc" if clock == "utc" and rng.random() < 0.5 else "CallStart"
        return [Column(head, "start:typed")]
    if zone_given == "iso":
        head = _pick(rng, ("CallStart", "start_time", "DATE_TIME", "call_start"))
        return [Column(head, "start:iso_z" if clock == "utc" else "start:iso_offset")]
    full = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S")
    split = rng.random() < (0.3 if fmt != "xlsx" else 0.0)
    if zone_given == "header":  # UTC said in the header
        if split:
            return [
                Column(_pick(rng, ("call_date_utc", "DATE_UTC")), "date:%Y-%m-%d"),
                Column(_pick(rng, ("call_time_utc", "TIME_UTC")), "time:%H:%M:%S"),
            ]
        head = _pick(rng, ("start_time_utc", "CallStartUTC", "start_utc", "Start (UTC)"))
        return [Column(head, "start:" + _pick(rng, full))]
    if split:
        d = _pick(rng, ("call_date", "CALL_DATE", "Date"))
        t = _pick(rng, ("call_time", "CALL_TIME", "Time"))
        cols = [
            Column(d, "date:" + _pick(rng, ("%Y-%m-%d", "%m/%d/%Y"))),
            Column(t, "time:" + _pick(rng, ("%H:%M:%S", "%I:%M:%S %p"))),
        ]
    else:
        head = _pick(rng, ("CallStart", "StartTime", "call_start", "DATE_TIME", "Start"))
        cols = [Column(head, "start:" + _pick(rng, full))]
    if zone_given == "column":
        style = (
            "zone:utc" if clock == "utc" else _pick(rng, ("zone:abbr", "zone:iana", "zone:offset"))
        )
        cols.append(Column(_pick(rng, ("timezone", "TZ", "tz_name", "Zone")), style))
    return cols


def months_per_table(rng: np.random.Generator, rows_per_month: float, target_rows: float) -> int:
    """Split per month, quarter, half-year or year so tables come out near ``target_rows``."""
    choices = np.array([1, 3, 6, 12])
    ideal = target_rows / max(rows_per_month, 1e-9)
    score = np.abs(np.log(choices / ideal)) + rng.random(4) * 0.5
    return int(choices[int(np.argmin(score))])


def target_rows(calls: int) -> float:
    """Desired rows per table: 200-400 tables at 1 M calls, ~60 at 20 k."""
    tables = 40.0 * (max(calls, 1000) / 20_000) ** 0.45
    return 2.0 * calls / min(max(float(tables), 20.0), 1000.0)


def plan_systems(
    rng: np.random.Generator,
    fac_weights: list[float],
    calls: int,
    formats: tuple[str, ...],
    no_zone_share: float,
) -> list[System]:
    """Every facility's export systems. Billing is UTC with the zone stated, so every facility
    has at least one table with an explicit zone."""
    systems: list[System] = []
    months_total = 29.0
    tr = target_rows(calls)
    for f, fw in enumerate(fac_weights):
        roles = ["billing", "recording"] + (["export"] if rng.random() < 0.6 else [])
        for role in roles:
            share = {"billing": 0.75, "recording": 0.65, "export": 0.4}[role]
            months = months_per_table(rng, calls * fw * share / months_total, tr)
            prefix = _pick(
                rng,
                {
                    "billing": ("calls", "billing", "cdr", "call_detail"),
                    "recording": ("recordings", "rec_log", "callrec"),
                    "export": ("export", "site_calls", "inmate_calls"),
                }[role],
            )
            systems.append(_system(rng, len(systems), f, role, prefix, months, share))
    _assign_formats(rng, systems, formats, no_zone_share)
    _guarantee(rng, systems, no_zone_share)
    if "xlsx" in formats:
        # Small spreadsheet extracts (slow to write): a capped share of one or two facilities.
        for f in sorted({0, len(fac_weights) // 2}):
            per_month = max(calls * fac_weights[f] / months_total, 1.0)
            q = float(min(0.25, 1000.0 / per_month))  # <= ~30k rows per facility in all
            months = months_per_table(rng, per_month * q, min(tr, 3000.0))
            s = _system(rng, len(systems), f, "extract", "extract", months, q)
            s.extra, s.reexport, s.overlap_days = True, False, 0
            s.layout = make_layout(rng, "xlsx", "local", "typed", "hms", "extract")
            systems.append(s)
    return systems


def _system(
    rng: np.random.Generator, i: int, f: int, role: str, prefix: str, months: int, w: float
) -> System:
    return System(
        index=i,
        facility=f,
        name=role,
        prefix=prefix,
        layout=Layout("csv", (), "utc", "header", "seconds"),
        months=months,
        overlap_days=int(rng.integers(1, 4)) if rng.random() < 0.5 else 0,
        reexport=bool(rng.random() < 0.25),
        weight=w,
        extra=False,
        skew_s=0 if role == "billing" else int(rng.integers(-40, 41)),
        jitter_s=0 if role == "billing" else 8,
        id_mul=int(rng.integers(10**5, 10**6)) * 10 + int(rng.choice([1, 3, 7, 9])),
        id_add=int(rng.integers(0, 10**8)),
    )


def _assign_formats(
    rng: np.random.Generator, systems: list[System], formats: tuple[str, ...], no_zone: float
) -> None:
    allowed = [f for f in FORMATS if f in formats and f != "xlsx"] or ["csv"]
    order = rng.permutation(len(systems))
    p = np.array([_FORMAT_P[f] for f in allowed])
    for rank, i in enumerate(order):
        s = systems[int(i)]
        fmt = allowed[rank] if rank < len(allowed) else str(rng.choice(allowed, p=p / p.sum()))
        if s.name == "billing":
            clock = "utc"
            zone = _pick(rng, ("header", "header", "header", "iso", "column"))
            unit = "minutes" if rng.random() < 0.7 else "seconds"
        else:
            clock = "local" if s.name == "recording" or rng.random() < 0.7 else "utc"
            if clock == "utc":
                zone = _pick(rng, ("header", "iso", "column"))
            elif rng.random() < no_zone:
                zone = "none"
            else:
                zone = _pick(rng, ("iso", "column", "column"))
            unit = "hms" if rng.random() < 0.4 else "seconds"
        if fmt == "parquet" and (clock == "utc" or zone == "none"):
            zone = "typed"  # a real timestamp column: tz=UTC, or naive local (no zone given)
        s.layout = make_layout(rng, fmt, clock, zone, unit, s.name)


def _guarantee(rng: np.random.Generator, systems: list[System], no_zone: float) -> None:
    """Even a small leak shows every quirk once: zip, gz, latin-1, BOM, re-export, both
    local tables with and without a zone (as far as the formats and knobs allow)."""
    text = [s for s in systems if s.layout.fmt in TEXT_FORMATS]
    delimited = [s for s in text if s.layout.fmt != "jsonl"]
    for i, comp in enumerate(("zip", "gz")):
        if text and not any(s.layout.compression == comp for s in text):
            s = text[i % len(text)]
            s.layout = replace(s.layout, compression=comp)
    for i, enc in enumerate(("latin-1", "utf-8-sig")):
        if delimited and not any(s.layout.encoding == enc for s in delimited):
            s = delimited[-1 - i % len(delimited)]
            s.layout = replace(s.layout, encoding=enc)
    single = [s for s in systems if s.layout.fmt in ("csv", "tsv", "jsonl", "parquet")]
    if single and not any(s.reexport for s in single):
        single[0].reexport = True
    local = [s for s in systems if s.layout.clock == "local" and not s.extra]
    stated = [s for s in local if s.layout.zone_given in ("iso", "column")]
    if 0 < no_zone < 1 and len(local) >= 2:
        fix: System | None = None
        if not stated:
            fix, zone = local[0], _pick(rng, ("iso", "column"))
        elif len(stated) == len(local):
            fix, zone = local[0], "none"
        if fix is not None:
            lay = fix.layout
            zone = "typed" if lay.fmt == "parquet" and zone == "none" else zone
            fix.layout = replace(
                make_layout(rng, lay.fmt, "local", zone, lay.duration_unit, fix.name),
                compression=lay.compression,
                encoding=lay.encoding,
            )
