"""How a table was read, in words: each field's column and evidence, what the other columns
look like, what is missing and what that costs (issue 11).

Pure functions over a table's columns, its sampled values and its :class:`Mapping`; ingest
writes what they return into ``ingest_report.json``, ``privguard ingest --show-mapping``
prints it, and the report's appendix "How each table was read" shows it. Nothing here
quotes a value: shapes only, so the shareable report never carries a number or a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from privguard.internals.audit.ingest.mapping import (
    Mapping,
    _toml,
    duration_like,
    flag_like,
    header_field,
    kind,
)

# Formats holding several tables: a mapping entry names the table as well as the file.
MULTI_TABLE = ("xlsx", "sqlite", "mysql_dump", "pg_dump")

# What each canonical field is, for a reader who never saw the schema.
FIELD_MEANING = {
    "facility": "the facility or site",
    "inmate_account": "the inmate account or PIN",
    "inmate_name": "the inmate's name",
    "dialed_number": "the number called",
    "start": "when the call started",
    "start_zone": "the clock (time zone) of the start",
    "duration": "how long the call lasted",
    "status": "whether the call was completed",
    "recorded": "whether the call was recorded",
    "recording_ref": "a link to, or file of, the recording",
    "source_call_id": "the exporter's own call number",
}

# What a table lacks, and what that costs the audit, said so a lawyer can weigh it.
MISSING = {
    "duration": "no call durations",
    "recorded": "no recorded flag and no recording reference",
    "status": "no completion status",
}
CONSEQUENCE = {
    "duration": (
        "completion can be inferred from its calls only through a recording, and numbers are "
        "scored as candidate attorney numbers without call lengths"
    ),
    "recorded": (
        "its calls count as recorded only where another table's copy of the same call says "
        "so, so recorded calls to attorneys may be undercounted"
    ),
    "status": (
        "completion is inferred from the duration, billed minutes or a recording, and stays "
        "unknown where none of them shows it"
    ),
}

_MONEY = re.compile(r"^[$€£]?\s?-?\d{1,6}[.,]\d{2}$", re.M)
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/.:]*$", re.M)
_WORDS = re.compile(r"^[^\d\n]*[A-Za-z]{2}[^\d\n]*$", re.M)
_KIND_WORDS = {
    "phone": ("phone numbers", "dialed_number"),
    "datetime": ("dates with times", "start"),
    "date": ("dates", "start"),
    "time": ("times of day", "start"),
    "hms": ("h:mm:ss times or durations", "duration"),
    "url": ("links or file paths of recordings", "recording_ref"),
}


_MSS = re.compile(r"(\d{1,4}):[0-5]\d")


def _values(sample: Sequence[Sequence[Any]], i: int) -> list[str]:
    return [
        str(r[i]).strip() for r in sample if i < len(r) and r[i] is not None and str(r[i]).strip()
    ]


def _share(text: str, n: int, pattern: re.Pattern[str]) -> float:
    return len(pattern.findall(text)) / n if n else 0.0


def column_guess(header: str, values: Sequence[str]) -> dict[str, Any]:
    """What an unmapped column looks like, the field it might be, and why (shapes only).

    ``looks_like`` is a short phrase (``phone numbers``, ``a yes/no flag``, ``an identifier``
    ...); ``could_be`` a canonical field or None; ``evidence`` says what was counted.
    """
    vals = [v for v in values if "\n" not in v]
    n, distinct = len(vals), len(set(vals))
    named = header_field(header)
    if not n:
        return _guess("empty in the sample", named, "no value in the sampled rows")
    counts = f"{n} sampled values, {distinct} distinct"
    k = kind(vals)
    d = duration_like(vals)
    if k == "time" and d == "mss":  # 12:40 may be a time of day or 12 minutes 40 seconds
        # kind() and duration_like() go by shares: a few values (a header row, a note)
        # may not be m:ss at all, so only the ones that are count here.
        minutes = [int(m.group(1)) for v in vals if (m := _MSS.fullmatch(v))]
        if minutes and max(minutes) > 23:
            return _guess("m:ss durations", named or "duration", counts)
        return _guess("times of day or m:ss durations", named, counts)
    if k in _KIND_WORDS:
        words, field = _KIND_WORDS[k]
        return _guess(words, named or field, counts)
    if flag_like(vals):
        return _guess("a yes/no flag", named or "recorded", counts)
    if d in ("mss", "hms"):
        return _guess(
            "m:ss durations" if d == "mss" else "h:mm:ss durations", named or "duration", counts
        )
    text = "\n".join(vals)
    if _share(text, n, _MONEY) >= 0.9:
        return _guess("money amounts", named, counts)
    if d == "count":
        return _guess("small whole numbers (a duration, a count or a code)", named, counts)
    few = distinct <= min(max(12, n // 10), n // 2)  # a short list: codes, not identifiers
    if _share(text, n, _WORDS) >= 0.8:
        if few:
            return _guess(
                f"words from a short list ({distinct} {'kind' if distinct == 1 else 'kinds'})",
                named,
                counts,
            )
        return _guess("text", named, counts)
    if _share(text, n, _IDENT) >= 0.9:
        if few:
            return _guess(f"a code with {distinct} distinct values", named, counts)
        return _guess("an identifier", named, counts)
    return _guess("mixed values", named, counts)


def _guess(looks: str, field: str | None, evidence: str) -> dict[str, Any]:
    return {"looks_like": looks, "could_be": field, "evidence": evidence}


def unmapped_columns(
    columns: Sequence[str], sample: Sequence[Sequence[Any]], m: Mapping
) -> list[dict[str, Any]]:
    """Every column no field took, with its best guess."""
    used = {j for idx in m.fields.values() for j in idx}
    return [
        {"column": c, **column_guess(c, _values(sample, j))}
        for j, c in enumerate(columns)
        if j not in used
    ]


def missing_fields(m: Mapping) -> list[dict[str, str]]:
    """The fields whose absence changes a figure (duration, recorded, status), with the cost.

    A recording reference stands in for the recorded flag: a table of recordings is
    evidence that each of its calls was recorded.
    """
    if m.skip:
        return []
    out = []
    for f in ("duration", "recorded", "status"):
        have = f in m.fields or (f == "recorded" and "recording_ref" in m.fields)
        if not have:
            out.append({"field": f, "missing": MISSING[f], "consequence": CONSEQUENCE[f]})
    return out


def describe(columns: Sequence[str], sample: Sequence[Sequence[Any]], m: Mapping) -> dict[str, Any]:
    """The ``roles``, ``unmapped_columns`` and ``missing`` of one table's report entry."""
    return {
        "roles": m.roles(columns),
        "unmapped_columns": unmapped_columns(columns, sample, m),
        "missing": missing_fields(m),
    }


def mapping_toml(tables: Sequence[dict[str, Any]]) -> str:
    """A mapping file proposing every table's mapping, for a person to check and correct.

    ``tables`` are report entries (``file``, ``table``, ``multi``, ``roles``,
    ``unmapped_columns``, ``hints``, ``missing``, ``problems``). Each table gets one
    ``[[mapping]]`` entry naming its columns; comments give the confidence and evidence of
    each choice and what the other columns look like, so the file can be corrected in place.
    The file reads back with :func:`privguard.internals.audit.ingest.settings.load`.
    """
    lines = [
        "# privguard mapping file, proposed from the headers and values of each table.",
        "# Check every entry: correct a column name, add a missing field, or write",
        "# skip = true for a table that is not a table of calls. Then run",
        "#   privguard ingest DUMP --out WORK --mapping THIS_FILE",
        "# Fields: " + ", ".join(FIELD_MEANING),
        "",
    ]
    for t in tables:
        lines += _entry_toml(t)
    return "\n".join(lines) + "\n"


def _entry_toml(t: dict[str, Any]) -> list[str]:
    lines = [f"# {t['file']}" + (f" (table {t['table']})" if t.get("multi") else "")]
    for p in t.get("problems") or []:
        lines.append(f"# PROBLEM: {p}")
    lines += ["[[mapping]]", f"files = {_toml(_glob_literal(t['file']))}"]
    if t.get("multi"):
        lines.append(f"table = {_toml(_glob_literal(t['table']))}")
    if t.get("skip"):
        return [*lines, "skip = true", ""]
    roles: dict[str, Any] = t.get("roles") or {}
    cols = [f"{f} = {_toml(r['column'])}" for f, r in roles.items() if r.get("column")]
    lines.append("columns = { " + ", ".join(cols) + " }")
    hints = t.get("hints") or {}
    if hints.get("tz_hint"):
        lines.append(f"timezone = {_toml(hints['tz_hint'])}")
    else:
        lines.append('# timezone = "America/Chicago"   # inferred by the audit when not given')
    if hints.get("duration_unit"):
        lines.append(f"duration_unit = {_toml(hints['duration_unit'])}")
    for f, r in roles.items():
        lines.append(f"#   {f}: {r['column']!s} ({r['confidence']}: {r['evidence']})")
    for u in t.get("unmapped_columns") or []:
        maybe = f"; could be {u['could_be']}" if u.get("could_be") else ""
        lines.append(f"#   unmapped {u['column']!r}: {u['looks_like']}{maybe}")
    for miss in t.get("missing") or []:
        lines.append(f"#   {miss['missing']}: {miss['consequence']}")
    return [*lines, ""]


def _glob_literal(name: str) -> str:
    """A file or table name as a glob that matches only itself (``[`` ``*`` ``?`` escaped)."""
    return re.sub(r"([*?\[])", r"[\1]", name)
