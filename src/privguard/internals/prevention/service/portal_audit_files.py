"""Reading an audit's output folder as files, never importing the audit wing.

An audit folder holds ``summary.json``, ``numbers.parquet`` and ``exports/findings.db``
(SQLite), found where ``common.layout`` says (today's split folders or an older flat one). Findings are browsed in SQLite, opened read-only: facets
are GROUP BY queries, tables are pages of LIMIT/OFFSET, so a big audit is never loaded into
Python. ``numbers.parquet`` is read a batch at a time with pyarrow.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.common.layout import FILES, audit_file

ENV = "PRIVGUARD_AUDIT_DIRS"
CALLS = "privileged_calls"
# facet name -> SQL expression over privileged_calls (fixed here: never from the request)
FACETS = {
    "facility": "facility",
    "month": "substr(start_utc, 1, 7)",
    "attorney": "attorney_name",
    "number": "number",
}
# shown name -> SQL over the audit's findings.db ``privileged_calls`` (fixed here); a
# registry violation is a recorded call to a number that was on the list at the time.
SHOWN = {
    "start_utc": "start_utc",
    "facility": "facility",
    "number": "number",
    "attorney_name": "attorney_name",
    "classification": "classification",
    "completed": "completed",
    "recorded": "recorded",
    "registry_violation": "(recorded = 1 AND registered_then = 1)",
    "duration_s": "duration_s",
}
PAGE = 50
FACET_VALUES = 300


@dataclass(frozen=True)
class AuditFolder:
    """One configured audit output folder."""

    index: int
    path: Path

    @property
    def findings(self) -> Path:
        return audit_file(self.path, "findings_db") or self.path / FILES["findings_db"]


def configured(settings: Any) -> list[AuditFolder]:
    """The audit folders auditors may open: ``extra["audit_dirs"]`` of the service's
    settings, then the ``PRIVGUARD_AUDIT_DIRS`` environment variable (``os.pathsep``-separated)."""
    dirs = list(getattr(settings, "extra", {}).get("audit_dirs", []) or [])
    dirs += [d for d in os.environ.get(ENV, "").split(os.pathsep) if d.strip()]
    return [AuditFolder(i, Path(d)) for i, d in enumerate(dirs)]


def summary(folder: AuditFolder) -> dict[str, Any]:
    """The audit's ``summary.json`` (empty when the file is missing or unreadable)."""
    try:
        path = audit_file(folder.path, "summary")
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def findings_db(folder: AuditFolder) -> Iterator[sqlite3.Connection]:
    """``findings.db`` opened read-only (the audit's files are never changed)."""
    if not folder.findings.is_file():
        raise InputError(
            f"this audit folder has no {FILES['findings_db']}",
            where=str(folder.path),
            fix="run the audit with its exports (privguard audit ... --out DIR)",
        )
    con = sqlite3.connect(f"{folder.findings.as_uri()}?mode=ro", uri=True)
    try:
        yield con
    finally:
        con.close()


def _where(filters: dict[str, str]) -> tuple[str, list[str]]:
    parts, args = [], []
    for name, value in filters.items():
        if name in FACETS and value:
            parts.append(f"{FACETS[name]} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


def facets(con: sqlite3.Connection, filters: dict[str, str]) -> dict[str, list[tuple[str, int]]]:
    """For each facet, its values and call counts among the rows the other filters keep."""
    out = {}
    for name, expr in FACETS.items():
        others = {k: v for k, v in filters.items() if k != name}
        where, args = _where(others)
        rows = con.execute(
            f"SELECT {expr} AS v, count(*) FROM {CALLS}{where} GROUP BY v ORDER BY v LIMIT ?",
            [*args, FACET_VALUES],
        ).fetchall()
        out[name] = [(str(v) if v is not None else "", int(n)) for v, n in rows]
    return out


def calls_page(
    con: sqlite3.Connection, filters: dict[str, str], page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of privileged calls matching ``filters`` and the total that match."""
    where, args = _where(filters)
    total = int(con.execute(f"SELECT count(*) FROM {CALLS}{where}", args).fetchone()[0])
    cols = ", ".join(["call_id", *(f"{sql} AS {name}" for name, sql in SHOWN.items())])
    cur = con.execute(
        f"SELECT {cols} FROM {CALLS}{where} ORDER BY start_utc, call_id LIMIT ? OFFSET ?",
        [*args, PAGE, max(page, 0) * PAGE],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()], total


def call(con: sqlite3.Connection, call_id: str) -> dict[str, Any] | None:
    """One privileged call, every column, with its provenance rows split out."""
    cur = con.execute(f"SELECT * FROM {CALLS} WHERE CAST(call_id AS TEXT) = ?", [call_id])
    row = cur.fetchone()
    if row is None:
        return None
    found = dict(zip([d[0] for d in cur.description], row, strict=True))
    found["provenance"] = [s.strip() for s in str(found.get("sources") or "").split(";") if s]
    return found


def by_month(con: sqlite3.Connection) -> list[tuple[str, int, int]]:
    """Privileged calls and recorded ones per month (for the chart)."""
    rows = con.execute(
        f"SELECT substr(start_utc, 1, 7) AS m, count(*), "
        f"sum(CASE WHEN recorded IN (1, 'true', 'True') THEN 1 ELSE 0 END) "
        f"FROM {CALLS} GROUP BY m ORDER BY m"
    ).fetchall()
    return [(str(m), int(n), int(r or 0)) for m, n, r in rows]


def numbers_page(folder: AuditFolder, page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of ``numbers.parquet``, reading only the batches up to it."""
    import pyarrow.parquet as pq

    path = audit_file(folder.path, "numbers") or folder.path / FILES["numbers"]
    if not path.is_file():
        return [], 0
    pf = pq.ParquetFile(path)
    total = pf.metadata.num_rows
    start, seen = max(page, 0) * PAGE, 0
    out: list[dict[str, Any]] = []
    for batch in pf.iter_batches(batch_size=1000):
        if seen + batch.num_rows <= start:
            seen += batch.num_rows
            continue
        part = batch.slice(max(start - seen, 0), PAGE - len(out))
        out.extend(part.to_pylist())
        seen += batch.num_rows
        if len(out) >= PAGE:
            break
    return out, total
