"""Pure SQL builders for the normalize stage: each function returns SQL text.

Row-level work (accounts, durations, statuses, flags, clocks) is vectorized here;
Python only decides things about *distinct* values and per-table samples.
"""

from __future__ import annotations

from collections.abc import Sequence

from privguard.internals.audit.sql import parquet_source, quote_literal

# --- clocks ---------------------------------------------------------------------------------
# An ISO offset or "Z" after a time ("...12:30:00-05:00", "...12:30Z").
_OFFSET_RE = r"(:[0-9]{2}(?:\.[0-9]+)?)\s*(Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_DATE_PARTS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d", "ymd"),
    ("%Y/%m/%d", "ymd"),
    ("%m/%d/%Y", "mdy"),
    ("%m/%d/%y", "mdy"),
    ("%m-%d-%Y", "mdy"),
    ("%d/%m/%Y", "dmy"),
    ("%d/%m/%y", "dmy"),
    ("%d-%m-%Y", "dmy"),
    ("%d.%m.%Y", "dmy"),
    ("%d-%b-%Y", "other"),
    ("%d-%b-%y", "other"),
    ("%d %b %Y", "other"),
    ("%b %d %Y", "other"),
    ("%b %d, %Y", "other"),
)
_TIME_PARTS: tuple[str, ...] = (
    "%H:%M:%S",
    "%H:%M",
    "%H:%M:%S.%f",
    "%I:%M:%S %p",
    "%I:%M %p",
    "%I:%M:%S%p",
    "%I:%M%p",
)


def time_formats() -> list[tuple[str, str, int]]:
    """Every candidate (format, date order, priority): lower priority wins a tie."""
    out: list[tuple[str, str, int]] = []
    for date, order in _DATE_PARTS:
        for time in _TIME_PARTS:
            out.append((f"{date} {time}", order, len(out)))
            if date == "%Y-%m-%d":
                out.append((f"{date}T{time}", order, len(out)))
    out.append(("%Y%m%d%H%M%S", "ymd", len(out)))
    out.append(("%Y%m%d %H%M%S", "ymd", len(out)))
    return out


# Characters RE2's \s matches: a value without them needs no whitespace collapsing.
_WS = " OR ".join(f"contains(x, chr({c}))" for c in (9, 10, 12, 13))


def _when(text: str, test: str, then: str) -> str:
    """``then`` applied to ``text`` only where ``test`` holds; both name the value ``x``."""
    # A one-element list lambda binds the value once: regexes cost, the guard does not.
    return f"list_transform([{text}], lambda x: CASE WHEN {test} THEN {then} ELSE x END)[1]"


def clean_start(col: str = "start") -> str:
    """Start text upper-cased, spaces collapsed, "a.m." spelled AM, an ISO offset removed."""
    return clean_upper_start(f"upper(trim({col}))")


def clean_upper_start(upper: str) -> str:
    """:func:`clean_start` of a start text already upper-cased and trimmed (``upper``)."""
    text = _when(upper, f"contains(x, '  ') OR {_WS}", r"regexp_replace(x, '\s+', ' ', 'g')")
    ampm = r"regexp_replace(regexp_replace(x, 'A\.M\.?', 'AM'), 'P\.M\.?', 'PM')"
    text = _when(text, "contains(x, '.M')", ampm)
    return f"regexp_replace({text}, '{_OFFSET_RE}', '\\1')"


def offset_text(col: str = "start", *, upper: bool = False) -> str:
    """The offset written at the end of the start text ("-05:00", "Z"), or ''.

    ``upper``: ``col`` is already upper-cased and trimmed."""
    text = col if upper else f"upper(trim({col}))"
    return f"regexp_extract({text}, '{_OFFSET_RE}', 2)"


def offset_minutes(off: str) -> str:
    """Minutes east of UTC from an :func:`offset_text` value (a column: it is read 4 times)."""
    hh = f"CAST(substr(replace({off}, ':', ''), 2, 2) AS INTEGER)"
    mm = f"coalesce(try_cast(substr(replace({off}, ':', ''), 4, 2) AS INTEGER), 0)"
    return (
        f"CASE WHEN {off} = '' THEN NULL WHEN {off} IN ('Z', 'UTC', 'GMT') THEN 0 "
        f"ELSE (CASE WHEN starts_with({off}, '-') THEN -1 ELSE 1 END) * ({hh} * 60 + {mm}) END"
    )


def start_offset_minutes(col: str = "start") -> str:
    """Minutes east of UTC written in the start text itself, or NULL."""
    return offset_minutes(offset_text(col))


def shape(expr: str) -> str:
    """The shape of a text: digits become 9, letters A (few distinct shapes per table)."""
    return f"regexp_replace(regexp_replace({expr}, '[0-9]', '9', 'g'), '[A-Z]', 'A', 'g')"


def keep_rows_sql(keep: dict[int, int] | None) -> tuple[str, str]:
    """JOIN and WHERE text keeping about ``per_million`` rows of each table (by row hash).

    ``keep`` maps table_id to rows kept per million; a missing table keeps every row.
    The hash of (table_id, src_row) is fixed, so the same rows are kept on every run.
    """
    if not keep:
        return "", ""
    values = ", ".join(f"({int(t)}, {int(k)})" for t, k in sorted(keep.items()))
    join = f" LEFT JOIN (VALUES {values}) _k(table_id, per_million) USING (table_id)"
    where = " AND (_k.per_million IS NULL OR hash(table_id, src_row) % 1000000 < _k.per_million)"
    return join, where


def start_sample_sql(source: str, keep: dict[int, int] | None = None) -> str:
    """Per table and start shape: a handful of telling values, from one streaming pass.

    Beside pseudo-random picks it keeps the values with the largest first and second
    numbers, which decide between month-first and day-first dates. With ``keep``
    (see :func:`keep_rows_sql`) only a fixed hashed sample of each big table's rows is
    cleaned and shaped: the regexes, not the scan, are what cost.
    """
    join, where = keep_rows_sql(keep)
    first = r"try_cast(regexp_extract(c, '^([0-9]+)[/\-\.]', 1) AS INTEGER)"
    second = r"try_cast(regexp_extract(c, '^[0-9]+[/\-\.]([0-9]+)[/\-\.]', 1) AS INTEGER)"
    return f"""
    SELECT table_id, s AS shape, count(*) AS n,
           [min(c), max(c), max_by(c, {first}), max_by(c, {second}),
            max_by(c, hash(c)), min_by(c, hash(c)), max_by(c, hash(c || 'x'))] AS sample
    FROM (SELECT table_id, c, {shape("c")} AS s
          FROM (SELECT table_id, {clean_start()} AS c FROM {source}{join}
                WHERE start IS NOT NULL{where}))
    GROUP BY table_id, s"""


def format_scores_sql(samples: str, formats: Sequence[str]) -> str:
    """Per (table, shape): values tried, then how many each candidate format parses (p0, p1...)."""
    counts = ", ".join(
        f"count(*) FILTER (try_strptime(v, {quote_literal(f)}) IS NOT NULL) AS p{i}"
        for i, f in enumerate(formats)
    )
    return f"""
    SELECT table_id, shape, count(*) AS tried, {counts}
    FROM (SELECT table_id, shape, unnest(list_distinct(sample)) AS v FROM {samples})
    GROUP BY table_id, shape ORDER BY table_id, shape"""


def local_ts(formats: Sequence[str], col: str = "start", *, cleaned: bool = False) -> str:
    """The naive wall-clock time parsed with the table's formats (first that parses wins).

    ``cleaned``: ``col`` already holds :func:`clean_start` of the start text, computed
    once; otherwise the cleaning is written out at each use."""
    c = col if cleaned else clean_start(col)
    parts = []
    if formats:
        fmts = ", ".join(quote_literal(f) for f in formats)
        parts.append(f"try_strptime({c}, [{fmts}])")
    # A spreadsheet serial date (days since 1899-12-30) that survived as a number.
    parts.append(
        f"CASE WHEN regexp_full_match({c}, '[3-6][0-9]{{4}}(\\.[0-9]+)?') THEN "
        f"TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST({c} AS DOUBLE) * 86400e6) "
        f"AS BIGINT)) END"
    )
    return f"coalesce({', '.join(parts)})"


def epoch_utc(col: str = "start") -> str:
    """A UTC time from Unix epoch seconds (10 digits) or milliseconds (13 digits), or NULL."""
    t = f"trim({col})"
    return (
        f"CASE WHEN regexp_full_match({t}, '1[0-9]{{9}}') THEN "
        f"make_timestamp(CAST({t} AS BIGINT) * 1000000) "
        f"WHEN regexp_full_match({t}, '1[0-9]{{12}}') THEN "
        f"make_timestamp(CAST({t} AS BIGINT) * 1000) END"
    )


def to_utc(local: str, zone: str) -> str:
    """Wall-clock time in an IANA zone (a column or literal) to naive UTC."""
    return f"timezone('UTC', timezone({zone}, {local}))"


def from_utc(utc: str, zone: str) -> str:
    """Naive UTC to the wall-clock time of an IANA zone (a column or literal)."""
    return f"timezone({zone}, timezone('UTC', {utc}))"


# --- other fields ---------------------------------------------------------------------------
def facility(col: str = "facility") -> str:
    """Facility code: upper case, letters and digits only ("tx-07 " -> "TX07")."""
    return f"nullif(regexp_replace(upper(trim({col})), '[^A-Z0-9]', '', 'g'), '')"


def inmate_account(col: str = "inmate_account", fac: str = "facility") -> str:
    """Account normalized per facility: facility prefix, punctuation and zero padding removed."""
    a = rf"regexp_replace(upper(trim({col})), '\s+', '', 'g')"
    f = facility(fac)
    # "TX07-0012345", "TX070012345" (prefix equal to the facility), "TX07_12345".
    a = f"CASE WHEN {f} IS NOT NULL AND starts_with(regexp_replace({a}, '[^A-Z0-9]', '', 'g'), {f}) AND length(regexp_replace({a}, '[^A-Z0-9]', '', 'g')) > length({f}) THEN substr(regexp_replace({a}, '[^A-Z0-9]', '', 'g'), length({f}) + 1) ELSE {a} END"
    # Any other letters-and-digits prefix before a dash ("FAC07-", "SITE-").
    a = rf"regexp_replace({a}, '^[A-Z0-9]*[A-Z][A-Z0-9]*[-_:/]+', '')"
    a = f"regexp_replace({a}, '[^A-Z0-9]', '', 'g')"
    return f"nullif(CASE WHEN regexp_full_match({a}, '0+') THEN '0' ELSE ltrim({a}, '0') END, '')"


def duration_seconds(unit: str, col: str = "duration") -> str:
    """Seconds from the raw duration; ``unit`` is a SQL expression giving the unit."""
    t = f"trim({col})"
    num = f"try_cast(replace({t}, ',', '') AS DOUBLE)"
    parts = f"string_split({t}, ':')"
    hms = (
        f"CASE WHEN len({parts}) = 3 THEN try_cast({parts}[1] AS INTEGER) * 3600 "
        f"+ try_cast({parts}[2] AS INTEGER) * 60 + try_cast(round(try_cast({parts}[3] AS DOUBLE)) AS INTEGER) "
        f"WHEN len({parts}) = 2 THEN try_cast({parts}[1] AS INTEGER) * 60 "
        f"+ try_cast(round(try_cast({parts}[2] AS DOUBLE)) AS INTEGER) END"
    )
    return (
        f"CAST(CASE WHEN contains({t}, ':') THEN {hms} "
        f"WHEN {unit} = 'minutes' THEN round({num} * 60) "
        f"ELSE round({num}) END AS INTEGER)"
    )


def duration_rounded(unit: str, col: str = "duration") -> str:
    """True when the source gave whole billed minutes (rounded up)."""
    t = f"trim({col})"
    return (
        f"({unit} = 'minutes' AND NOT contains({t}, ':') "
        f"AND try_cast({t} AS DOUBLE) = floor(try_cast({t} AS DOUBLE)))"
    )


def duration_unit_guess_sql(source: str) -> str:
    """Per table without a unit hint: evidence for seconds vs minutes vs h:m:s."""
    return f"""
    SELECT table_id,
           count(*) FILTER (contains(duration, ':')) AS n_hms,
           count(try_cast(duration AS DOUBLE)) AS n_num,
           quantile_cont(try_cast(duration AS DOUBLE), 0.9) AS p90,
           max(try_cast(duration AS DOUBLE)) AS mx
    FROM {source} WHERE duration_unit IS NULL AND duration IS NOT NULL
    GROUP BY table_id"""


_NOT_DONE: tuple[str, ...] = (
    "refus",
    "declin",
    "no answer",
    "noanswer",
    "busy",
    "block",
    "fail",
    "incomplete",
)
_NOT_DONE += ("not ", "reject", "drop", "unanswer", "cancel", "invalid", "denied", "error")
_DONE = ("complet", "accept", "answer", "connect", "success", "billed", "done")


def completed(col: str = "status") -> str:
    """Status text to a BOOLEAN ``completed`` (NULL when unknown)."""
    s = f"lower(trim({col}))"
    no = " OR ".join(f"contains({s}, {quote_literal(w)})" for w in _NOT_DONE)
    yes = " OR ".join(f"contains({s}, {quote_literal(w)})" for w in _DONE)
    return (
        f"CASE WHEN {s} IS NULL OR {s} = '' THEN NULL WHEN {no} THEN false "
        f"WHEN {s} IN ('n', 'no', 'false', 'f', '0', 'r', 'b', 'd', 'x') THEN false "
        f"WHEN {yes} OR {s} IN ('c', 'y', 'yes', 'ok', 'true', 't', '1') THEN true END"
    )


# A jail phone rings out within about a minute, and a call refused at the prompt can last as
# long: a shorter duration without a status proves nothing either way. Billed minutes are
# rounded up, and some billing exports bill an attempt's ring time as one minute: only more
# than RING_S seconds, exact or billed, shows the call connected.
RING_S = 60
# What a completion was inferred from, strongest first; "status" when a source states it.
COMPLETION_SOURCES: tuple[str, ...] = ("status", "recording", "billed minutes", "duration")


def completion(stated: str = "completed") -> tuple[str, str]:
    """(``completed``, ``completed_from``) of a staged row: stated, else inferred, else NULL.

    Where no status decides, a recording (a flag or a reference) means the call connected;
    so does a duration past the ring-out (:data:`RING_S`), exact or in billed minutes; a
    duration of zero means it did not. Anything else stays unknown."""
    rec = "(coalesce(recorded, false) OR recording_ref IS NOT NULL)"
    rules = (
        (f"{stated} IS NOT NULL", stated, "status"),
        (rec, "true", "recording"),
        ("duration_s = 0", "false", "duration"),
        (f"duration_rounded AND duration_s > {RING_S}", "true", "billed minutes"),
        (f"duration_s > {RING_S}", "true", "duration"),
    )
    value = " ".join(f"WHEN {w} THEN {v}" for w, v, _ in rules)
    how = " ".join(f"WHEN {w} THEN {quote_literal(h)}" for w, _, h in rules)
    return f"CASE {value} END", f"CASE {how} END"


def recorded(col: str = "recorded", ref: str = "recording_ref") -> str:
    """Recorded flag text to BOOLEAN (NULL when unknown); a recording reference means recorded."""
    s = f"lower(trim({col}))"
    flag = (
        f"CASE WHEN {s} IN ('y', 'yes', '1', 'true', 't', 'recorded', 'rec', 'r', '1.0') THEN true "
        f"WHEN {s} IN ('n', 'no', '0', 'false', 'f', 'not recorded', 'unrecorded', "
        f"'do not record', 'dnr', '0.0', 'none') THEN false END"
    )
    # A recording reference is proof a recording exists, whatever the flag says.
    return f"CASE WHEN nullif(trim({ref}), '') IS NOT NULL THEN true ELSE {flag} END"


# --- the stage's own small queries (run by api.py and zones.py) ------------------------------
def ingested_view_sql(view: str, files: Sequence[str]) -> str:
    """A view over every ingested Parquet file, columns matched by name."""
    return (
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM "
        f"{parquet_source(list(files), union_by_name=True)}"
    )


def table_hints_sql(source: str) -> str:
    """Per table: its zone hint, its duration unit hint and its rows."""
    return (
        "SELECT table_id, any_value(tz_hint), any_value(duration_unit), count(*) "
        f"FROM {source} GROUP BY table_id ORDER BY table_id"
    )


def start_zones_sql(source: str) -> str:
    """Every distinct zone text of a per-row zone column."""
    return f"SELECT DISTINCT start_zone FROM {source} WHERE start_zone IS NOT NULL"


def undecided_numbers_sql(numbers: str) -> str:
    """The distinct raw numbers the fast path left undecided (libphonenumber decides them)."""
    return f"SELECT raw FROM {numbers} WHERE status IS NULL"


def facility_of_sql(stage: str, ids: Sequence[int]) -> str:
    """The (most common) facility of each listed table."""
    listed = ", ".join(str(int(t)) for t in ids)
    return (
        f"SELECT table_id, mode(facility) FROM {stage} WHERE table_id IN ({listed}) "
        "GROUP BY table_id ORDER BY table_id"
    )


def table_spans_sql(stage: str, ids: Sequence[int]) -> str:
    """Per listed table: its facility and the first and last day of its wall-clock times."""
    listed = ", ".join(str(int(t)) for t in ids)
    return (
        "SELECT table_id, mode(facility), CAST(floor(min(epoch(local_ts)) / 86400) AS BIGINT), "
        "CAST(floor(max(epoch(local_ts)) / 86400) AS BIGINT) "
        f"FROM {stage} WHERE table_id IN ({listed}) AND local_ts IS NOT NULL "
        "GROUP BY table_id ORDER BY table_id"
    )


def facility_zone_votes_sql(stage: str) -> str:
    """Rows per (facility, named local zone): what each facility's clock is called."""
    return (
        f"SELECT facility, row_zone, count(*) FROM {stage} WHERE row_zone IS NOT NULL "
        "AND row_zone <> 'UTC' GROUP BY ALL"
    )


def facility_fallback_zone_sql(stage: str, table_id: int) -> str:
    """The two zones most used by rows of the facilities of one table."""
    return (
        f"SELECT row_zone, count(*) AS n FROM {stage} WHERE row_zone IS NOT NULL AND facility IN "
        f"(SELECT DISTINCT facility FROM {stage} WHERE table_id = {int(table_id)}) "
        "GROUP BY row_zone ORDER BY n DESC, row_zone LIMIT 2"
    )
