"""Map a table's columns onto the canonical call schema: mapping file, header synonyms, content.

The order of precedence is: the ``[[mapping]]`` entry for the table, then header synonyms
(``PHONE``, ``Dialed Number``, ``dnis`` ... all mean ``dialed_number``), then content sniffed
from a sample (a column of 10-11 digit phone-like values is the dialed number; a column of
date-times is the start; a date column next to a time-of-day column is the start split in two).
A table is mappable when it has at least a dialed number and a start time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from privguard.internals.audit.ingest.keyvalues import key_columns, mostly
from privguard.internals.audit.ingest.settings import MappingRule

REQUIRED = ("dialed_number", "start")
_MEANING = {"dialed_number": "the number called", "start": "when the call started"}

# Header spellings of each field, compared after lowercasing and dropping non-alphanumerics.
_SPELLINGS = {
    "facility": (
        "facility facilityid facilityname facilitycode site siteid sitename sitecode "
        "location jail institution agency prison facilitysite"
    ),
    "inmate_account": (
        "inmateaccount account accountid accountnumber acct acctno inmateid inmatepin pin "
        "inmatenumber bookingnumber bookingid offenderid offendernumber inmateacct "
        "accountno inmateno inmate"
    ),
    "inmate_name": "inmatename name offendername callername inmatefullname fullname",
    "dialed_number": (
        "dialednumber dialed number phone phonenumber callednumber calledparty dnis "
        "destination destinationnumber tonumber destnumber dialednum phoneno telephone "
        "calledphone numberdialed dialedphone called"
    ),
    "start": (
        "start starttime startdatetime callstart callstarttime calldatetime datetime "
        "timestamp startedat calltimestamp callstartdatetime startdate_time connecttime "
        "begintime calldatestime"
    ),
    "start_zone": "timezone tzname timezonename tz zone utcoffset offset tzoffset startzone",
    "duration": (
        "duration dur durations dursec dursecs durmin durmins billedmin callseconds callsecs callminutes callduration length calllength seconds durationsec durationseconds "
        "minutes billedminutes durationmin durationminutes talktime elapsed billedmins "
        "mins secs durationsecs"
    ),
    "status": (
        "status callstatus completion completionstatus disposition result outcome "
        "callresult calldisposition completioncode"
    ),
    "recorded": (
        "recorded recflag isrecorded recordingflag recordflag wasrecorded recordedflag recording_flag"
    ),
    "recording_ref": (
        "recording recordingurl recordingref recordingpath recordingfile audio audiofile "
        "recordinglink downloadlink url audiourl recordingid reclink recurl recpath recfile "
        "recordingname mediaid medialink mediapath mediaurl mediafile audiopath audioid "
        "wavfile callaudio"
    ),
    "source_call_id": (
        "callid id recid callsequence sequence seq callseq recordid callseqno sequencenumber "
        "callnumber callrecordid seqno"
    ),
}
# A person's word is certain; a header is strong evidence; values alone are good evidence.
_CONFIDENCE = {"mapping": "given", "header": "high", "content": "medium"}
_SYN: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in _SPELLINGS.items()}
_DATE_SYN = ("date", "calldate", "startdate", "datestart", "dateofcall")
_TIME_SYN = ("time", "calltime", "starttime", "timestart", "timeofcall")
_NEVER_DIALED = ("ani", "callingnumber", "fromnumber", "station", "stationid", "caller")
_ZONE_WORDS = re.compile(r"(utc|gmt|zulu|local)$")

# Patterns run over sampled values joined by newlines (re.M), so one scan tests a column.
# A North American number of 10-11 digits in any of its usual spellings.
_PHONE = re.compile(r"^\+?(?:1[ \t.\-]?)?\(?\d{3}\)?[ \t.\-]?\d{3}[ \t.\-]?\d{4}$", re.M)
# Eight bare digits are a date only as yyyymmdd: "03998190" is an account, not a date.
_YMD = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE = rf"(?:\d{{4}}[-/]\d{{1,2}}[-/]\d{{1,2}}|\d{{1,2}}[-/]\d{{1,2}}[-/]\d{{2,4}}|{_YMD})"
_TIME = r"(?:\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?[ \t]*(?:[AaPp][Mm])?)"
_DATETIME = re.compile(
    rf"^{_DATE}[ T]{_TIME}[ \t]*(?:Z|[+-]\d{{2}}(?::?\d{{2}})?|[A-Z]{{2,5}})?$", re.M
)
_DATE_ONLY = re.compile(rf"^{_DATE}$", re.M)
_TIME_ONLY = re.compile(rf"^{_TIME}$", re.M)
_HMS = re.compile(r"^\d{1,3}:\d{2}:\d{2}$", re.M)
_URL = re.compile(
    r"^(?:https?://|s3://|ftp://|[\w./\\-]+\.(?:wav|mp3|ogg|gsm|vox|flac)).*$", re.M | re.I
)


def norm(header: str) -> str:
    """A header reduced for comparison: ``Dialed Number`` -> ``dialednumber``."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _without_zone(key: str) -> str:
    return _ZONE_WORDS.sub("", key) or key


def header_field(header: str) -> str | None:
    """The canonical field a header names by itself, if any."""
    key = norm(header)
    for candidate in (key, _without_zone(key)):
        for canon, names in _SYN.items():
            if candidate in names:
                return canon
    return None


def _share(text: str, n: int, pattern: re.Pattern[str]) -> float:
    """Share of the ``n`` lines of ``text`` that match ``pattern`` (one C-level scan)."""
    return len(pattern.findall(text)) / n


_FLAG_WORDS = frozenset(["1", "0", "1.0", "0.0", "y", "n", "yes", "no", "true", "false", "t", "f"])
_MSS = re.compile(r"^\d{1,3}:\d{2}$", re.M)
_INT = re.compile(r"^\d{1,5}(?:\.0)?$", re.M)
# A call lasts at most a few hours: a column of small whole numbers may be its duration.
_MAX_DURATION = 4 * 3600


def flag_like(values: Sequence[str]) -> bool:
    """True when the sampled values are a yes/no flag (1/0, Y/N, true/false, yes/no)."""
    vals = [v.strip().lower() for v in values if v is not None and v.strip()]
    flags = {v for v in vals if v in _FLAG_WORDS}
    return 1 <= len(flags) <= 2 and mostly(vals, _FLAG_WORDS.__contains__)


def duration_like(values: Sequence[str]) -> str | None:
    """``mss``/``hms`` for clock-style durations, ``count`` for small whole numbers, else None."""
    vals = [v.strip() for v in values if v is not None and v.strip() and "\n" not in v]
    if not vals:
        return None
    text = "\n".join(vals)
    for name, pattern in (("mss", _MSS), ("hms", _HMS)):
        if _share(text, len(vals), pattern) >= 0.95:
            return name
    if _share(text, len(vals), _INT) >= 0.95:
        nums = [float(v) for v in vals if _INT.match(v)]
        if max(nums) <= _MAX_DURATION and len(set(nums)) > 2:
            return "count"
    return None


def kind(values: Sequence[str]) -> str:
    """What a column's sampled values look like: phone, datetime, date, time, hms, url, other."""
    vals = [v.strip() for v in values if v is not None and v.strip() and "\n" not in v]
    if not vals:
        return "other"
    text = "\n".join(vals)
    for name, pattern in (
        ("phone", _PHONE),
        ("datetime", _DATETIME),
        ("date", _DATE_ONLY),
        ("hms", _HMS),
        ("time", _TIME_ONLY),
        ("url", _URL),
    ):
        if _share(text, len(vals), pattern) >= 0.8:
            return name
    return "other"


@dataclass
class Mapping:
    """How one table maps onto the canonical schema."""

    fields: dict[str, tuple[int, ...]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)  # field -> mapping | header | content
    evidence: dict[str, str] = field(default_factory=dict)  # field -> why, when from values
    tz_hint: str | None = None
    duration_unit: str | None = None
    skip: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.skip or (not self.problems and all(f in self.fields for f in REQUIRED))

    def roles(self, columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each field's column(s), how it was chosen, a confidence and the evidence."""
        named = self.named(columns)
        out: dict[str, dict[str, Any]] = {}
        for canon, how in self.how.items():
            out[canon] = {
                "column": named.get(canon),
                "how": how,
                "confidence": _CONFIDENCE.get(how, "medium"),
                "evidence": self.evidence.get(canon)
                or {
                    "mapping": "named in the mapping file",
                    "header": "the header names it",
                    "content": "the sampled values have its shape",
                }.get(how, how),
            }
        return out

    def named(self, columns: Sequence[str]) -> dict[str, str | list[str]]:
        """The mapping with source column names, as written to the report."""
        out: dict[str, str | list[str]] = {}
        for canon, idx in self.fields.items():
            out[canon] = columns[idx[0]] if len(idx) == 1 else [columns[i] for i in idx]
        return out


def _find(columns: Sequence[str], name: str) -> int | None:
    exact = [i for i, c in enumerate(columns) if c == name]
    if exact:
        return exact[0]
    loose = [i for i, c in enumerate(columns) if c.strip().lower() == name.strip().lower()]
    return loose[0] if loose else None


def _apply_rule(rule: MappingRule, columns: Sequence[str], m: Mapping) -> None:
    for canon, names in rule.columns:
        idx = [_find(columns, n) for n in names]
        missing = [n for n, i in zip(names, idx, strict=True) if i is None]
        if missing:
            m.problems.append(
                f"the mapping file names column(s) {', '.join(map(repr, missing))} for "
                f"{canon}, but the table has no such column"
            )
            continue
        m.fields[canon] = tuple(i for i in idx if i is not None)
        m.how[canon] = "mapping"
    m.tz_hint = rule.timezone
    m.duration_unit = rule.duration_unit


def map_table(
    columns: Sequence[str], sample: Sequence[Sequence[str | None]], rule: MappingRule | None
) -> Mapping:
    """Map ``columns`` (with a sample of rows) onto the canonical fields."""
    m = Mapping()
    if rule is not None and rule.skip:
        m.skip = True
        return m
    if rule is not None:
        _apply_rule(rule, columns, m)
    kinds = [kind([str(r[i]) for r in sample if r[i] is not None]) for i in range(len(columns))]
    used = {i for idx in m.fields.values() for i in idx}

    def take(canon: str, idx: tuple[int, ...], how: str) -> None:
        if canon not in m.fields and not used.intersection(idx):
            m.fields[canon] = idx
            m.how[canon] = how
            used.update(idx)

    keys = [norm(c) for c in columns]
    # "CallStart_date" + "CallStart_time" too: any header ending in date with one in time.
    dates = [
        i
        for i, k in enumerate(keys)
        if _without_zone(k) in _DATE_SYN
        or (_without_zone(k).endswith("date") and kinds[i] == "date")
    ]
    times = [i for i, k in enumerate(keys) if _without_zone(k) in _TIME_SYN
             or (_without_zone(k).endswith("time") and kinds[i] in ("time", "hms"))]  # fmt: skip
    # A date column and a time-of-day column are the start split in two.
    for d in dates:
        for t in times:
            if d != t and kinds[d] in ("date", "other") and kinds[t] in ("time", "hms", "other"):
                take("start", (d, t), "header")
    for i, col in enumerate(columns):
        canon = header_field(col)
        if canon == "start" and kinds[i] in ("date", "time", "hms"):
            continue  # half of a split start; paired above or by content below
        if canon == "dialed_number" and kinds[i] not in ("phone", "other"):
            continue
        if canon == "inmate_account" and _letters(sample, i):
            canon = "inmate_name"  # "INMATE" holding names, not account numbers
        if canon is not None:
            take(canon, (i,), "header")
    for i, k in enumerate(kinds):
        if i in used:
            continue
        if k == "phone" and keys[i] not in _NEVER_DIALED:
            take("dialed_number", (i,), "content")
        elif k == "datetime":
            take("start", (i,), "content")
        elif k == "url":
            take("recording_ref", (i,), "content")
    if "start" not in m.fields:
        d_cols = [i for i, k in enumerate(kinds) if k == "date" and i not in used]
        t_cols = [i for i, k in enumerate(kinds) if k == "time" and i not in used]
        if d_cols and not t_cols:
            # HH:MM:SS right after a date is its time of day, not a duration.
            pairs = [
                (d, d + 1)
                for d in d_cols
                if d + 1 < len(kinds) and kinds[d + 1] == "hms" and d + 1 not in used
            ]
            d_cols, t_cols = ([pairs[0][0]], [pairs[0][1]]) if pairs else ([], [])  # fmt: skip
        if d_cols and t_cols:
            take("start", (d_cols[0], t_cols[0]), "content")
    _by_values(columns, sample, kinds, m, used)
    for canon, i, why in key_columns(columns, sample, m.fields, used, kinds):
        _take_value(m, used, canon, i, why)
    _hints(columns, kinds, m)
    for f in REQUIRED:
        if f not in m.fields:
            m.problems.append(f"no column for {f} ({_MEANING[f]})")
    return m


def _by_values(
    columns: Sequence[str],
    sample: Sequence[Sequence[str | None]],
    kinds: Sequence[str],
    m: Mapping,
    used: set[int],
) -> None:
    """Fields no header named, from unambiguous values: one flag column is the recorded
    flag, one duration-like column the duration (issue 11: ``rec`` = 1/0, ``dur`` = m:ss)."""
    free = [i for i in range(len(columns)) if i not in used]
    values = {i: [str(r[i]) for r in sample if r[i] is not None] for i in free}
    if "recorded" not in m.fields:
        flags = [i for i in free if flag_like(values[i])]
        if len(flags) == 1:
            _take_value(m, used, "recorded", flags[0], "the sampled values are a yes/no flag")
    if "duration" not in m.fields and "start" in m.fields:
        durs = {i: duration_like(values[i]) for i in free if i not in used}
        clock = [i for i, d in durs.items() if d in ("mss", "hms")]
        counts = [i for i, d in durs.items() if d == "count"]
        pick = clock if len(clock) == 1 else counts if not clock and len(counts) == 1 else []
        if pick:
            d = durs[pick[0]]
            why = (
                f"the sampled values read as {'m:ss' if d == 'mss' else 'h:mm:ss'} durations"
                if d in ("mss", "hms")
                else f"the sampled values are whole numbers up to {_MAX_DURATION:,}"
            )
            _take_value(m, used, "duration", pick[0], why)
            if d == "mss":
                m.duration_unit = m.duration_unit or "hms"


def _take_value(m: Mapping, used: set[int], canon: str, i: int, why: str) -> None:
    m.fields[canon] = (i,)
    m.how[canon] = "content"
    m.evidence[canon] = why
    used.add(i)


def _letters(sample: Sequence[Sequence[str | None]], i: int) -> bool:
    """True when most sampled values of column ``i`` are words, not numbers."""
    vals = [str(r[i]) for r in sample if r[i]]
    return (
        bool(vals)
        and sum(1 for v in vals if re.search(r"[A-Za-z]{2}", v) and not re.search(r"\d", v))
        / len(vals)
        >= 0.8
    )


def _hints(columns: Sequence[str], kinds: Sequence[str], m: Mapping) -> None:
    if m.tz_hint is None and "start" in m.fields:
        heads = [norm(columns[i]) for i in m.fields["start"]]
        if any(h.endswith(("utc", "gmt", "zulu")) or h.startswith("utc") for h in heads):
            m.tz_hint = "UTC"
    if m.duration_unit is None and "duration" in m.fields:
        i = m.fields["duration"][0]
        h = norm(columns[i])
        if kinds[i] == "hms":
            m.duration_unit = "hms"
        elif "min" in h or "billed" in h or columns[i].lower().endswith(("_m", "(m)")):
            m.duration_unit = "minutes"
        elif "sec" in h or columns[i].lower().endswith(("_s", "(s)")):
            m.duration_unit = "seconds"


def fix_snippet(file: str, table: str, multi: bool, columns: Sequence[str], m: Mapping) -> str:
    """The mapping-file lines that would make a table mappable (or skip it)."""
    placeholder = {
        "dialed_number": "<column with the number called>",
        "start": "<column with the call's date and time>",
    }
    cols: list[str] = []
    for canon in ("dialed_number", "start"):
        if canon in m.fields:
            idx = m.fields[canon]
            val = columns[idx[0]] if len(idx) == 1 else [columns[i] for i in idx]
            cols.append(f"{canon} = {_toml(val)}")
        else:
            cols.append(f"{canon} = {_toml(placeholder[canon])}")
    lines = ["[[mapping]]", f"files = {_toml(file)}"]
    if multi:
        lines.append(f"table = {_toml(table)}")
    lines.append("columns = { " + ", ".join(cols) + " }")
    if "start" not in m.fields:
        lines.append(
            '# a date and a time in two columns: start = ["<date column>", "<time column>"]'
        )
    lines.append("# or, if this is not a table of calls:  skip = true")
    return "\n".join(lines)


def _toml(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
