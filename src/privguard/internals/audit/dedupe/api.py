"""The dedupe stage: one row per real call, out of core, deterministic.

Reads ``WORK/normalized.parquet``; writes ``OUT/calls.parquet``
(``schema.CALL_COLUMNS``) and ``OUT/dedupe_report.json``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from privguard.errors import InputError
from privguard.internals.audit.dedupe import skew, writer
from privguard.internals.audit.dedupe import sql as dsql
from privguard.internals.audit.dedupe.settings import Settings
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import parquet_source, quote_literal
from privguard.internals.common.progress import NullProgress, Progress

log = logging.getLogger(__name__)

# Rows per hash bucket of keys in the main clustering pass. 14.4 M rows cluster in one
# bucket within a 5 GB engine limit without a big spill; 136 M rows in one bucket spilled
# up to 43 GB because every window sort went external (issue #6).
BUCKET_ROWS = 12_000_000


@dataclass
class DedupeResult:
    """What dedupe wrote: paths, rows in, calls out and clusters per merge rule."""

    path: Path
    report_path: Path
    rows_in: int
    calls_out: int
    rules: dict[str, dict[str, int]] = field(default_factory=dict)


def _cluster(
    ex: Executor, source: str, tmp: Path, cfg: Settings, skews: str | None, suffix: str = ""
) -> str:
    """Islands then anchors, each written to a file so no step holds another's memory.

    The files hold only the clustering columns (the window sorts carry every column they
    are given); returns the query of :func:`dsql.clustered_sql`. ``tmp/assigned{suffix}
    .parquet`` is left for :func:`dsql.grouped_sql`."""
    islands, assigned = tmp / f"islands{suffix}.parquet", tmp / f"assigned{suffix}.parquet"
    tol, dur_tol = cfg.time_tolerance_s, cfg.duration_tolerance_s
    if skews:
        sql = dsql.islands_sql(source, cfg.corrected_tolerance_s, skews, tol)
    else:
        sql = dsql.islands_sql(source, tol)
    ex.copy_to_parquet(sql, islands)
    ex.copy_to_parquet(dsql.assign_sql(parquet_source(islands), dur_tol), assigned)
    return dsql.clustered_sql(parquet_source(islands), parquet_source(assigned))


def bucket_count(rows: int) -> int:
    """Hash buckets of keys for the main pass: one per :data:`BUCKET_ROWS` rows, at least 1."""
    return max(1, math.ceil(rows / BUCKET_ROWS))


def _cluster_buckets(
    ex: Executor, source: str, tmp: Path, cfg: Settings, skews: str | None, buckets: int
) -> list[Path]:
    """Cluster each hash bucket of keys alone; returns every bucket's ``assigned`` file.

    One bucket is today's single pass over the whole table."""
    if buckets <= 1:
        _cluster(ex, source, tmp, cfg, skews)
        return [tmp / "assigned.parquet"]
    paths = []
    for b in range(buckets):
        log.info("dedupe: clustering bucket %d of %d", b + 1, buckets)
        _cluster(ex, dsql.bucket_sql(source, buckets, b), tmp, cfg, skews, f"_{b}")
        # Only the assignments are read later; drop the islands to keep scratch space small.
        (tmp / f"islands_{b}.parquet").unlink(missing_ok=True)
        paths.append(tmp / f"assigned_{b}.parquet")
    return paths


# Rows per batch streamed from the engine to calls.parquet's writer.
_STREAM_ROWS = 65_536


def write_calls(ex: Executor, sql: str, path: Path) -> int:
    """Write the ordered query ``sql`` to ``path`` so its bytes depend on its rows alone.

    An executor that streams in order (``Executor.streams_in_order``: DuckDB) streams the
    rows to :func:`writer.write_ordered`; any other (Spark) writes its own Parquet (equal to
    DuckDB's row for row, never byte for byte)."""
    if not ex.streams_in_order:
        return ex.copy_to_parquet(sql, path)
    schema = ex.fetch_arrow(f"SELECT * FROM ({sql}) LIMIT 0").schema
    return writer.write_ordered(ex.stream_arrow(sql, _STREAM_ROWS), schema, path)


def _calls_buckets(ex: Executor, source: str, tmp: Path, assigned: list[Path], path: Path) -> int:
    """The calls of a big input without one big statement: nothing spills.

    One pass writes the normalized rows split by key bucket (a call's rows share its
    key, so share a bucket); each bucket's calls are then grouped alone, with that
    bucket's assignments, and written sorted. Last, the calls are read back in ranges
    of ``call_id`` cut at quantiles (each range reads few row groups of each sorted
    bucket, and sorts in memory) and streamed to :func:`write_calls` in order: the same
    rows in the same order as the single statement, so the same bytes."""
    buckets = len(assigned)
    split = tmp / "rows"
    ex.execute(
        f"COPY ({dsql.split_by_bucket_sql(source, buckets)}) TO {quote_literal(str(split))} "
        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (kb), OVERWRITE_OR_IGNORE)"
    )
    parts = []
    for b, assigned_b in enumerate(assigned):
        rows_b = sorted((split / f"kb={b}").glob("*.parquet"))
        part = tmp / f"calls_{b}.parquet"
        if rows_b:
            log.info("dedupe: calls of bucket %d of %d", b + 1, buckets)
            grouped = dsql.grouped_sql(parquet_source(rows_b), parquet_source(assigned_b))
            ex.copy_to_parquet(dsql.calls_sql(grouped), part)
            parts.append(part)
        shutil.rmtree(split / f"kb={b}", ignore_errors=True)
    calls = parquet_source(parts)
    cuts = [int(c) for c in ex.fetchall(dsql.call_bounds_sql(calls, buckets))[0][0]]
    bounds = sorted(set(cuts))
    edges = list(zip([None, *bounds], [*bounds, None], strict=True))
    schema = ex.fetch_arrow(f"SELECT * FROM {calls} LIMIT 0").schema

    def ranges() -> Iterator[pa.RecordBatch]:
        for i, (lo, hi) in enumerate(edges):
            log.info("dedupe: writing call range %d of %d", i + 1, len(edges))
            yield from ex.stream_arrow(dsql.call_range_sql(calls, lo, hi), _STREAM_ROWS)

    return writer.write_ordered(ranges(), schema, path)


def _skews(
    ex: Executor, source: str, tmp: Path, cfg: Settings, modulus: int
) -> list[dict[str, int]]:
    """Estimate each table's clock skew (first, loose pass on a hashed sample of keys when
    the input is big) and register ``_pg_skews``."""
    skews: dict[int, tuple[int, int]] = {}
    if cfg.skew_correction:
        log.info("dedupe: skew pass on 1 in %d keys", modulus)
        loose = _cluster(ex, dsql.sample_sql(source, modulus), tmp, cfg, None)
        skews = skew.solve(ex.fetchall(dsql.skew_pairs_sql(loose)))
    ids = sorted(skews)
    ex.register_arrow(
        "_pg_skews",
        pa.table(
            {
                "table_id": pa.array(ids, pa.int32()),
                "skew_s": pa.array([skews[t][0] for t in ids], pa.int64()),
            }
        ),
    )
    return [{"table_id": t, "skew_s": skews[t][0], "pairs_used": skews[t][1]} for t in ids]


def dedupe(
    work: Path,
    out: Path,
    *,
    settings: Settings | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> DedupeResult:
    """Merge exact and near-duplicate rows of ``work/normalized.parquet`` into calls.

    Two rows are the same call when they share facility and dialed number, their
    inmate accounts agree (or one table has none), they start close in time and their
    durations are compatible (exact seconds within ``settings.duration_tolerance_s``;
    billed minutes equal to the seconds rounded up). Rows are sorted and windowed per
    (facility, number) into islands of rows close in time, never compared pairwise. A
    first, loose pass (``time_tolerance_s``) estimates each table's constant clock skew,
    on a hashed sample of whole keys when the input is big (see ``skew.sample_modulus``:
    a median needs far fewer calls than a big leak holds); the second pass clusters every
    row on corrected times (``corrected_tolerance_s``). An island
    holding several calls (redials, back-to-back calls) is split around anchors: the
    rows of its richest table, each row joining the nearest compatible one. Every step
    is written to a scratch file, so memory stays within the engine's limit.

    Each call takes the best value of each field from its copies (exact seconds over
    billed minutes, the start of an exact copy, any recording reference; recorded if
    any copy says so or has a recording), lists every source row in ``sources``, and
    names the rule that merged it in ``merge_rule`` (``single``, ``exact``,
    ``near_time``, ``billed_minutes``). ``call_id`` is the row key of the call's first
    source, and the file is written in ``call_id`` order, so reruns are byte-identical.

    Writes ``OUT/restricted/calls.parquet`` and ``OUT/restricted/dedupe_report.json`` (rows in, calls out,
    clusters and rows per rule, tolerances, each table's clock skew with the shared calls
    it was measured on, and ``skew_sample`` = keep 1 key in N); returns a
    :class:`DedupeResult`. Raises :class:`privguard.errors.InputError` when
    ``work/normalized.parquet`` is missing.
    """
    work, out = Path(work), Path(out)
    cfg = settings or Settings()
    progress = progress or NullProgress()
    src_path = work / "normalized.parquet"
    if not src_path.is_file():
        raise InputError(
            "no normalized rows found",
            where=str(src_path),
            fix="run 'privguard audit' (or normalize) before dedupe",
        )
    paths = AuditPaths(out)
    paths.restricted.mkdir(parents=True, exist_ok=True)
    calls_path = paths.calls
    tmp = work / "_dedupe_tmp"
    with session(executor) as ex:
        try:
            progress.start("dedupe", total=3)
            source = parquet_source(src_path)
            rows_in, tables = ex.fetchall(
                f"SELECT count(*), count(DISTINCT table_id) FROM {source}"
            )[0]
            modulus = skew.sample_modulus(int(rows_in), int(tables))
            skews = _skews(ex, source, tmp, cfg, modulus)
            progress.advance("dedupe")
            skew_table = "_pg_skews" if cfg.skew_correction else None
            buckets = bucket_count(int(rows_in))
            assigned = _cluster_buckets(ex, source, tmp, cfg, skew_table, buckets)
            # The bucketed calls need a partitioned COPY and stream their ranges in order.
            if len(assigned) > 1 and ex.partitioned_copy and ex.streams_in_order:
                _calls_buckets(ex, source, tmp, assigned, calls_path)
            else:
                sql = dsql.calls_sql(dsql.grouped_sql(source, parquet_source(assigned)))
                write_calls(ex, sql, calls_path)
            progress.advance("dedupe")
            rules = {
                r[0]: {"clusters": int(r[1]), "rows": int(r[2])}
                for r in ex.fetchall(dsql.report_sql(parquet_source(calls_path)))
            }
            progress.advance("dedupe")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            progress.finish("dedupe")
    calls_out = sum(v["clusters"] for v in rules.values())
    report: dict[str, Any] = {
        "rows_in": int(rows_in),
        "calls_out": calls_out,
        "rows_merged_away": int(rows_in) - calls_out,
        "clusters_per_rule": rules,
        "tolerances": {
            "time_tolerance_s": cfg.time_tolerance_s,
            "duration_tolerance_s": cfg.duration_tolerance_s,
            "skew_correction": cfg.skew_correction,
            "corrected_tolerance_s": cfg.corrected_tolerance_s,
            "skew_sample": modulus if cfg.skew_correction else None,
        },
        "key": ["facility", "inmate_account", "number_key"],
        "clock_skew_s": skews,
    }
    report_path = paths.dedupe_report
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info("dedupe: %d rows -> %d calls", rows_in, calls_out)
    return DedupeResult(calls_path, report_path, int(rows_in), calls_out, rules)
