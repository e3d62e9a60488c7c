"""MySQL/MariaDB and PostgreSQL dumps: split into per-table text by :mod:`..sqldump`, then
parsed by DuckDB ``read_csv`` and unescaped in SQL. Nothing in the dump is executed."""

from __future__ import annotations

import gzip
from pathlib import Path

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile
from privguard.internals.audit.ingest.readers import Deferred, Staged, unique_names
from privguard.internals.audit.ingest.readers.delimited import defer_delimited
from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.ingest.sqldump import split_dump

_INSERT = sql.CsvDialect(
    delim=",", quote="'", escape="'", header=False, nullstr="NULL", allow_quoted_nulls=False
)
_COPY = sql.CsvDialect(delim="\t", quote="", escape="", header=False, nullstr="\\N")


def read_sql_dump(
    ex: Executor, src: SourceFile, scratch: Path, scan: str
) -> tuple[list[Staged], list[str]]:
    """Stage every table of a dump; also return the dump's warnings (ignored statements)."""
    flavour = "pg" if src.format == "pg_dump" else "mysql"
    opener = gzip.open if src.gzip else open
    with opener(src.path, "rb") as fh:
        split = split_dump(fh, flavour, scratch, scan)  # type: ignore[arg-type]
    out: list[Staged] = []
    for k, t in enumerate(split.tables):
        names = unique_names(t.columns or [])
        if not names:
            rej = Rejects().after_bad(t.bad, scratch / f"{scan}_t{k}.rejects.parquet")
            out.append(Staged(src.name, t.name, src.format, src.sha256, [], None, 0, rej))
            continue
        unescape: str | None = "pg"
        dialect = _COPY
        if t.kind != "copy":
            dialect, unescape = _INSERT, ("mysql" if flavour == "mysql" else None)
        tscan = f"{scan}_t{k}"
        d = Deferred(
            t.path,
            len(names),
            dialect,
            tscan,
            scratch / f"{tscan}.rejects.parquet",
            unescape,
            t.bad,
        )
        rows, sample = defer_delimited(ex, d)
        staged = Staged(
            src.name,
            t.name,
            src.format,
            src.sha256,
            names,
            rows,
            0,
            files=[t.path],
            deferred=d,
            sample=sample,
        )
        out.append(staged)
    return out, split.warnings()
