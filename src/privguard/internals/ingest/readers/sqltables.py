"""MySQL/MariaDB and PostgreSQL dumps: split into per-table text by :mod:`..sqldump`, then
parsed by DuckDB ``read_csv`` and unescaped in SQL. Nothing in the dump is executed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.engines.base import Executor
from privguard.internals.ingest import sql
from privguard.internals.ingest.discover import SourceFile
from privguard.internals.ingest.readers import REJECT_SCHEMA, Staged, unique_names
from privguard.internals.ingest.readers.delimited import read_delimited
from privguard.internals.ingest.sqldump import DumpTable, split_dump

_INSERT = sql.CsvDialect(
    delim=",", quote="'", escape="'", header=False, nullstr="NULL", allow_quoted_nulls=False
)
_COPY = sql.CsvDialect(delim="\t", quote="", escape="", header=False, nullstr="\\N")


def _merge_bad(t: DumpTable, rej: Path | None, out: Path) -> tuple[Path | None, int]:
    """Add unparseable INSERT statements as rejected records, renumbering the others."""
    if not t.bad:
        return rej, 0
    table = pq.read_table(rej).cast(REJECT_SCHEMA) if rej else REJECT_SCHEMA.empty_table()
    before = [lines for lines, _ in t.bad]
    recs = table.column("rec").to_pylist()
    # A parsed record at text line r follows every bad statement written before line r.
    shifted = [r + sum(1 for b in before if b < r) for r in recs]
    bad_recs = [b + k + 1 for k, b in enumerate(before)]
    merged = pa.table(
        {
            "rec": pa.array(shifted + bad_recs, pa.int64()),
            "reason": table.column("reason").to_pylist()
            + ["INSERT statement with an unterminated string"] * len(bad_recs),
            "raw": table.column("raw").to_pylist() + [raw for _, raw in t.bad],
        },
        schema=REJECT_SCHEMA,
    ).sort_by("rec")
    pq.write_table(merged, out)
    return out, len(bad_recs)


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
            out.append(Staged(src.name, t.name, src.format, src.sha256, [], None, 0))
            continue
        unescape: str | None = "pg"
        dialect = _COPY
        if t.kind != "copy":
            dialect, unescape = _INSERT, ("mysql" if flavour == "mysql" else None)
        tscan = f"{scan}_t{k}"
        accepted, rejected, rej, rows = read_delimited(
            ex, t.path, len(names), dialect, scratch / f"{tscan}.rejects.parquet", tscan, unescape
        )
        rej, extra = _merge_bad(t, rej, scratch / f"{tscan}.rejects2.parquet")
        staged = Staged(
            src.name,
            t.name,
            src.format,
            src.sha256,
            names,
            rows,
            accepted,
            rej,
            rejected + extra,
            False,
            files=[t.path],
        )
        out.append(staged)
    return out, split.warnings()
