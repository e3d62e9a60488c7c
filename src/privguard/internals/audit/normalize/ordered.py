"""``normalized.parquet`` in row order without one sort of every row (issue #20).

Sorting all kept rows at once made the 144 M-row audit spill 26 GB. Above
``settings.part_rows`` rows the rows are cut into parts at exact ranks of ``row_key``;
each part is sorted alone (sized to sort within the engine's memory) into a scratch file,
and one ``COPY`` streams the parts, in order, into the output.

The output is byte-identical to the single sort's. DuckDB writes a sorted result in row
groups of exactly :data:`ROW_GROUP_ROWS` rows (the last one shorter), and a row group's
bytes depend only on its rows when its input arrives in whole vectors. So every part but
the last holds a whole number of row groups, and the parts are read by a ``UNION ALL`` of
single-file scans (order-preserving, each file read in whole vectors). The engine writes a
column REQUIRED when the plan's statistics prove it holds no NULL; the parts come from the
sort's plan, so their schemas say which columns the sort wrote OPTIONAL, and the last
branch of the union keeps exactly those nullable (:func:`stage.parts_union_sql`).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from privguard.internals.audit.engines import Executor
from privguard.internals.audit.normalize.stage import (
    constant_types_ok,
    cut_keys_sql,
    kept_blocks_sql,
    kept_sql,
    parquet_nullable_sql,
    parts_union_sql,
)

log = logging.getLogger(__name__)

# DuckDB's default row group; a sorted COPY writes groups of exactly this many rows.
ROW_GROUP_ROWS = 122_880
# Rows of one table per block of the rank histogram (row_key // BLOCK): cuts are found
# to the row by ranking within one block, never by sorting every key.
BLOCK = 1 << 12


def write_kept(
    ex: Executor,
    final: str,
    columns: str,
    out: Path,
    scratch: Path,
    *,
    rows_hint: int,
    part_rows: int,
) -> None:
    """Write :func:`stage.kept_sql` of ``final`` to ``out``, sorting at most ``part_rows`` at once.

    ``rows_hint`` is an upper bound of the kept rows (the rows read): at or below
    ``part_rows``, or when the executor cannot write sorted parts with the one sort's bytes
    (``Executor.sorted_parts``: Spark), the one sort is kept as it was.
    ``scratch`` is a folder of ours, created and removed here."""
    if part_rows <= 0 or part_rows % ROW_GROUP_ROWS:
        raise ValueError(f"part_rows must be a positive multiple of {ROW_GROUP_ROWS}")
    one_sort = kept_sql(final, columns)
    if rows_hint <= part_rows or not ex.sorted_parts:
        ex.copy_to_parquet(one_sort, out)
        return
    types = ex.columns(one_sort)
    cuts = _cut_keys(ex, final, part_rows) if constant_types_ok([t for _, t in types]) else []
    if not cuts:
        ex.copy_to_parquet(one_sort, out)
        return
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        bounds: list[int | None] = [None, *cuts, None]
        parts = []
        for i in range(len(bounds) - 1):
            part = scratch / f"part_{i:04d}.parquet"
            ex.copy_to_parquet(kept_sql(final, columns, bounds[i], bounds[i + 1]), part)
            parts.append(part)
        # Each part was written by the one sort's plan, so its schema says which columns
        # the one sort wrote OPTIONAL; the root comes first.
        optional: set[str] = set()
        for part in parts:
            rows = ex.fetchall(parquet_nullable_sql(part))[1:]
            optional |= {str(n) for n, rep in rows if rep == "OPTIONAL"}
        spec = [(n, t, n in optional) for n, t in types]
        log.info("normalized rows written in %d sorted parts", len(parts))
        ex.copy_to_parquet(parts_union_sql(parts, spec), out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _cut_keys(ex: Executor, final: str, part_rows: int) -> list[int]:
    """The row_key of each part's first row, parts after the first: ranks ``part_rows * i``."""
    blocks = ex.fetchall(kept_blocks_sql(final, BLOCK))
    wanted: list[tuple[int, int]] = []  # (block, rank within the block)
    before, target = 0, part_rows
    for block, n in blocks:
        while target < before + n:
            wanted.append((int(block), target - before))
            target += part_rows
        before += n
    if not wanted:
        return []
    keys = {(int(b), int(r)): int(k) for b, r, k in ex.fetchall(cut_keys_sql(final, BLOCK, wanted))}
    return [keys[w] for w in wanted]
