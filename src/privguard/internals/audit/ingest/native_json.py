"""JSON lines read natively (see :mod:`.native`), record for record as the DuckDB path reads them.

The DuckDB path (readers/jsonl.py) reads each line as one text field, keeps the lines that
are JSON objects, takes the keys in order of first appearance as the columns and each value
as ``json_extract_string`` gives it. Here the same is done in Python, in two passes of the
engine: a scan (columns, the first rows for mapping, counts and the records that are not
objects) before the tables are mapped, then the write of the ingested table.

DuckDB's JSON reader is lenient where Python's is strict (trailing commas, NaN) and writes
fractions its own way (``1e5`` is ``100000.0``): a file with a fraction, a number past 64
bits, a line Python refuses for a reason DuckDB might not share, a repeated or odd key, or
text the DuckDB path would set aside while reading it, falls back to the DuckDB path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from privguard.internals.audit.ingest.native import Fallback, NativeJob, Row
from privguard.internals.audit.ingest.native_text import one_kind_of_break, plain_bytes, utf8

SAMPLE_ROWS = 200  # as ingest/staging.py samples a staged table for mapping
NOT_OBJECT = "not a JSON object"
NOT_JSON = "not valid JSON"
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)


@dataclass(frozen=True)
class JsonScan:
    """What the first pass found: the columns (keys as written) and the first rows."""

    keys: tuple[str, ...]
    sample: tuple[tuple[str | None, ...], ...]


def _float(text: str) -> Any:
    raise Fallback("a number with a fraction or exponent (DuckDB writes those its own way)")


def _constant(text: str) -> Any:
    raise Fallback(f"{text} (DuckDB's JSON reader and Python's disagree on it)")


def _int(text: str) -> int:
    value = int(text)
    if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        raise Fallback("a number past 64 bits (DuckDB keeps its text)")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise Fallback("an object with a key given twice")
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=_float, parse_int=_int, parse_constant=_constant
)


def _parse(line: str) -> tuple[Any, str]:
    """(the value, "") or (None, why the line is not valid JSON on both engines)."""
    try:
        return _DECODER.decode(line), ""
    except json.JSONDecodeError as exc:
        # Invalid for DuckDB too: cut short, an unterminated string, a raw control
        # character, text after the value. Anything else may be DuckDB's leniency.
        cut = exc.pos >= len(line.rstrip())
        if cut or exc.msg.startswith(("Unterminated string", "Invalid control", "Extra data")):
            return None, NOT_JSON
        raise Fallback(f"a line Python's JSON reader refuses ({exc.msg})") from exc


def value(v: Any) -> str | None:
    """A JSON value as DuckDB's ``json_extract_string`` gives it (fractions never get here)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    # An object or a list: compact JSON, \u escapes upper-case (as native.to_json).
    return _ESCAPED.sub(_upper, json.dumps(v, separators=(",", ":"), ensure_ascii=False))


_ESCAPED = re.compile(r"\\u([0-9a-f]{4})")


def _upper(m: re.Match[str]) -> str:
    return "\\u" + m.group(1).upper()


def decode(job: NativeJob, data: bytes) -> str:
    """The file's text as the DuckDB path's line reader sees it (latin-1 as DuckDB's own)."""
    data = plain_bytes(job, data)
    if job.encoding == "utf-8":
        return utf8(data)
    if job.encoding == "latin-1":
        return one_kind_of_break(data.decode("latin-1"))
    raise Fallback(f"{job.encoding} text")


def rows(job: NativeJob, data: bytes) -> Iterator[Row]:
    """Each record: its index, its values in column order (None: rejected), raw text, why."""
    keys = job.keys
    for rec, obj, raw, why in objects(job, decode(job, data)):
        yield rec, None if obj is None else [value(obj.get(k)) for k in keys], raw, why


def lines(job: NativeJob, text: str) -> Iterator[tuple[int, str]]:
    """Each record (1-based) and its text: a line, blank lines not counted."""
    if any(c in text for c in "\x00\x01\x02"):
        raise Fallback("control characters the DuckDB path's line reader treats apart")
    rec = 0
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line:
            rec += 1
            yield rec, line


def objects(job: NativeJob, text: str) -> Iterator[tuple[int, dict[str, Any] | None, str, str]]:
    """(record, the object or None, raw text, why it is rejected) for every record."""
    for rec, line in lines(job, text):
        obj, why = _parse(line)
        if not why and not isinstance(obj, dict):
            why = NOT_OBJECT
        if isinstance(obj, dict):
            for key in obj:
                if not key or any(c in key for c in '"\\') or not key.isprintable():
                    raise Fallback(f"a key DuckDB's JSON path would read otherwise ({key!r})")
            if "\\u" in line and not _encodable(json.dumps(obj, ensure_ascii=False)):
                raise Fallback("a lone surrogate in a string (DuckDB refuses the line)")
        yield rec, obj if not why else None, line, why


def _encodable(v: str) -> bool:
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan(job: NativeJob, text: str) -> tuple[JsonScan, int, list[tuple[int, str, str]]]:
    """The first pass: (columns and sample, objects, rejected records)."""
    keys: dict[str, None] = {}
    sample: list[dict[str, Any]] = []
    accepted = 0
    rejected: list[tuple[int, str, str]] = []
    for rec, obj, raw, why in objects(job, text):
        if obj is None:
            rejected.append((rec, why, raw))
            continue
        accepted += 1
        keys.update(dict.fromkeys(obj))
        if len(sample) < SAMPLE_ROWS:
            sample.append(obj)
    names = tuple(keys)
    rows = tuple(tuple(value(o.get(k)) for k in names) for o in sample)
    return JsonScan(names, rows), accepted, rejected
