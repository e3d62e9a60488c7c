"""SQLite databases, opened read-only with the standard library: every table is a table.

Values are converted to text by SQLite itself (``CAST(x AS TEXT)``); a row holding text that
is not valid UTF-8 is rejected with its values shown as escaped bytes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa

from privguard.errors import InputError
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.sql import parquet_source
from privguard.internals.common.parquet import parquet_writer

_BATCH = 50_000
_AGAIN = "then run the same command again"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(path: Path) -> sqlite3.Connection:
    # immutable=1: never write, never take locks, never run a journal recovery.
    return sqlite3.connect(f"file:{path.resolve().as_posix()}?mode=ro&immutable=1", uri=True)


def _decode(row: tuple[Any, ...]) -> tuple[list[str | None], bool]:
    out: list[str | None] = []
    ok = True
    for v in row:
        if isinstance(v, bytes):
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(v.decode("utf-8", "backslashreplace"))
                ok = False
        else:
            out.append(v)
    return out, ok


def _stage_table(
    con: sqlite3.Connection, name: str, cols: list[str], staging: Path, rejects: Path
) -> tuple[int, Rejects]:
    n = len(cols)
    schema = pa.schema(
        [*(pa.field(sql.staged_name(i), pa.string()) for i in range(n)), (sql.REC, pa.int64())]
    )
    select = ", ".join(f"CAST({_ident(c)} AS TEXT)" for c in cols)
    query = f"SELECT {select} FROM {_ident(name)}"
    writer = parquet_writer(staging, schema, compression=sql.STAGE_CODEC)
    rec = accepted = 0
    rej: list[tuple[int, str, str]] = []
    con.text_factory = str
    cur = con.execute(query)
    while True:
        try:
            rows = cur.fetchmany(_BATCH)
        except sqlite3.OperationalError:
            # Text that is not UTF-8: go on row by row from here, keeping the raw bytes.
            con.text_factory = bytes
            cur = con.execute(f"{query} LIMIT -1 OFFSET {rec}")
            rows = cur.fetchmany(_BATCH)
        if not rows:
            break
        good: list[tuple[Any, ...]] = []
        recs: list[int] = []
        for row in rows:
            rec += 1
            vals, ok = _decode(row) if con.text_factory is bytes else (list(row), True)
            if ok:
                good.append(tuple(vals))
                recs.append(rec)
            else:
                raw = "|".join("" if v is None else str(v) for v in vals)
                rej.append((rec, "text is not valid UTF-8", raw))
        columns = [pa.array([r[i] for r in good], pa.string()) for i in range(n)]
        writer.write_table(pa.table([*columns, pa.array(recs, pa.int64())], schema=schema))
        accepted += len(good)
    writer.close()
    return accepted, Rejects.write(rejects, rej)


def read_sqlite(src: SourceFile, scratch: Path, scan: str) -> list[Staged]:
    """Stage every table of a SQLite database, never modifying it."""
    try:
        con = _connect(src.path)
        tables = [
            str(r[0])
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"this is not a SQLite database, or it is damaged ({exc})",
            where=src.name,
            fix=f"copy it again from its source; if it is something else, move it out of the "
            f"dump folder ({_AGAIN})",
        ) from None
    if not tables:
        con.close()
        raise InputError(
            "the SQLite database holds no tables, so no calls",
            where=src.name,
            fix=f"copy it again from its source, with its '-wal' file if it has one; if it is "
            f"empty on purpose, move it out of the dump folder ({_AGAIN})",
        )
    out: list[Staged] = []
    try:
        for k, name in enumerate(tables):
            cols = [str(r[1]) for r in con.execute(f"PRAGMA table_info({_ident(name)})")]
            staging = scratch / f"{scan}_t{k}.parquet"
            try:
                accepted, rej = _stage_table(
                    con, name, cols, staging, scratch / f"{scan}_t{k}.rejects.parquet"
                )
            except sqlite3.DatabaseError as exc:
                raise InputError(
                    f"table {name!r} of the SQLite database cannot be read, it is damaged ({exc})",
                    where=f"{src.name}, table {name}",
                    fix=f"copy the database again from its source, or export table {name!r} "
                    f"to a CSV file and put that in the dump instead ({_AGAIN})",
                ) from None
            out.append(
                Staged(
                    src.name,
                    name,
                    "sqlite",
                    src.sha256,
                    unique_names(cols),
                    parquet_source(staging),
                    accepted,
                    rej,
                    True,
                )
            )
    finally:
        con.close()
    return out
