"""Rejected records of one table, kept the same way by every reader.

A :class:`Rejects` is a frozen value: a Parquet file of ``rec, reason, raw`` (1-based record
index in the table, why, the record's raw text) and how many rows it holds. Adding records
gives a new value in a new file; nothing is changed in place. This module is the only
reader and writer of those files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.common.parquet import write_parquet

SCHEMA = pa.schema([("rec", pa.int64()), ("reason", pa.string()), ("raw", pa.string())])

Row = tuple[int, str, str]  # record index, reason, raw text


@dataclass(frozen=True)
class Rejects:
    """The rejected records of one table (none: ``path`` is None and ``count`` 0)."""

    path: Path | None = None
    count: int = 0

    def __bool__(self) -> bool:
        return self.path is not None

    @staticmethod
    def write(path: Path, rows: Sequence[Row]) -> Rejects:
        """``rows`` as they come (callers give them in record order)."""
        return Rejects._store(path, _table(rows))

    @staticmethod
    def _store(path: Path, table: pa.Table) -> Rejects:
        if table.num_rows == 0:
            return Rejects()
        write_parquet(table, path)
        return Rejects(path, table.num_rows)

    def table(self) -> pa.Table:
        """The records (an empty table when there are none)."""
        if self.path is None:
            return SCHEMA.empty_table()
        return pq.read_table(self.path).cast(SCHEMA)

    def records(self) -> list[int]:
        """Record indexes, ascending."""
        return sorted(int(r) for r in self.table().column("rec").to_pylist())

    def plus(self, rows: Sequence[Row], path: Path) -> Rejects:
        """These records and ``rows``, sorted by record, in ``path``."""
        if not rows:
            return self
        return Rejects._store(path, _union([self.table(), _table(rows)]))

    @staticmethod
    def gather(path: Path, rows: Sequence[Row], other: Rejects) -> Rejects:
        """``rows`` and ``other``'s records, sorted by record (``rows`` first on a tie)."""
        return Rejects._store(path, _union([_table(rows), other.table()]))

    def after_bad(
        self,
        bad: Sequence[tuple[int, str]],
        path: Path,
        reason: str = "INSERT statement with an unterminated string",
    ) -> Rejects:
        """Add records the parser never saw (a dump's unparseable INSERT statements, lines
        too long for the reader) as rejects, renumbering the others.

        ``bad`` holds (records written before the record, its raw text), in order.
        """
        if not bad:
            return self
        table = self.table()
        before = [lines for lines, _ in bad]
        # A parsed record at text line r follows every bad statement written before line r.
        shifted = [r + sum(1 for b in before if b < r) for r in table.column("rec").to_pylist()]
        bad_recs = [b + k + 1 for k, b in enumerate(before)]
        merged = pa.table(
            {
                "rec": pa.array(shifted + bad_recs, pa.int64()),
                "reason": table.column("reason").to_pylist() + [reason] * len(bad_recs),
                "raw": table.column("raw").to_pylist() + [raw for _, raw in bad],
            },
            schema=SCHEMA,
        ).sort_by("rec")
        return Rejects._store(path, merged)


def _table(rows: Sequence[Row]) -> pa.Table:
    return pa.table(
        [pa.array([r[i] for r in rows], f.type) for i, f in enumerate(SCHEMA)], schema=SCHEMA
    )


def _union(parts: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(parts).sort_by("rec")  # a stable sort


def steps(records: Sequence[int]) -> list[tuple[int, int]]:
    """(accepted rows before a rejected record, rejected records so far), for ascending
    ``records``: what ``sql.src_row_expr`` needs to number the accepted rows."""
    out: dict[int, int] = {}
    for j, rec in enumerate(records, start=1):
        out[rec - j] = j  # a run of rejects in a row keeps its last count
    return sorted(out.items())
