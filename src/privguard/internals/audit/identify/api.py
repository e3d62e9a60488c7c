"""Classify every called number as an attorney's number or not, with evidence.

:func:`identify` reads ``OUT/calls.parquet`` and the lists the user has (bar and
public-defender directories, do-not-record registries, a filled review sheet), and
writes ``numbers.parquet``, ``registry.parquet``, ``facility_clocks.parquet`` and
``review.csv`` in ``OUT/restricted`` (``paths.AuditPaths``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.identify import sql as S
from privguard.internals.audit.identify.clocks import facility_clocks
from privguard.internals.audit.identify.review import write_review_sheet
from privguard.internals.audit.identify.settings import Settings
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import drop_table_sql, parquet_source, view_sql
from privguard.internals.common.lists.sources import (
    DIRECTORY_SCHEMA,
    LABELS_SCHEMA,
    REGISTRY_SCHEMA,
    SetAside,
    load_labels,
    read_directory,
    read_registry,
)
from privguard.internals.common.progress import NullProgress, Progress

log = logging.getLogger(__name__)


@dataclass
class IdentifyResult:
    """What identify wrote and how many numbers fell in each class."""

    numbers_path: Path
    registry_path: Path
    review_path: Path
    counts: dict[str, int] = field(default_factory=dict)
    facility_clocks: dict[str, str] = field(default_factory=dict)
    directory_entries: int = 0
    registry_intervals: int = 0
    labels: int = 0
    # Directory and registry rows with no valid number, each with its place and reason.
    lists_set_aside: tuple[SetAside, ...] = ()
    features_missing: list[str] = field(default_factory=list)  # sub-scores left out

    @property
    def candidates(self) -> int:
        return self.counts.get("candidate", 0)


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _settings(settings: Any) -> Settings:
    if settings is None:
        return Settings()
    inner = getattr(settings, "identify", settings)
    return inner if isinstance(inner, Settings) else Settings()


def _missing_features(ex: Executor) -> tuple[str, ...]:
    """Sub-scores no number of the dump has evidence for (logged: the score goes without)."""
    row = ex.fetchall(S.missing_features_sql("id_features"))[0]
    missing = tuple(name for name, gone in zip(S.NEEDS, row, strict=True) if gone)
    if missing:
        log.warning(
            "no call in the dump has a completed duration: candidate numbers are scored without %s",
            " and ".join(S.PLAIN_NEEDS.get(m, m) for m in missing),
        )
    return missing


def identify(
    out: Path,
    *,
    directories: Sequence[Path] = (),
    registries: Sequence[Path] = (),
    labels: Path | None = None,
    settings: Any = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    review_key: bytes | None = None,
) -> IdentifyResult:
    """Classify every number in ``OUT/calls.parquet`` and write the identify outputs.

    Each called number gets one class of :data:`privguard.internals.audit.schema.NUMBER_CLASSES`:
    ``registered`` (in a do-not-record registry; the dates and file row are the evidence),
    ``directory_attorney`` (in a bar or public-defender directory: who, which file, which
    row), ``confirmed`` (marked ``confirm`` in a review sheet passed as ``labels``),
    ``candidate`` (not in any list, but its calls look like an attorney's: many different
    inmates call it, mostly in weekday business hours, for calls that are not a minute or
    two long, no single caller dominates), or ``other``. Directories and registries are
    optional: without them, the call patterns still find candidates.

    Args:
        out: the audit's output folder, holding ``calls.parquet``.
        directories: CSV/XLSX attorney directories (several phones per cell are fine).
        registries: CSV/XLSX do-not-record registries (number, date added, date removed,
            facility).
        labels: a review sheet filled by a person (``decision`` = confirm/reject).
        review_key: the case key when the report pseudonymizes, so that the review sheet
            shows each number's pseudonym as the report does (None: no pseudonyms).
        settings: the ``[identify]`` settings (or a whole ``CaseSettings``).
        executor: the engine to use; a new DuckDB one by default.
        progress: receives progress; none by default.

    Returns:
        An :class:`IdentifyResult` with the paths written and counts per class.

    Raises:
        InputError: ``calls.parquet`` is missing, or a list cannot be read or understood.

    Example::

        >>> from privguard import identify
        >>> identify(Path("out"), directories=[Path("bar.csv")])  # doctest: +SKIP
    """
    paths = AuditPaths(out)
    calls = paths.require("calls")
    cfg = _settings(settings)
    prog = progress or NullProgress()
    prog.start("identify", total=4)
    with session(executor) as ex:
        try:
            reads = [read_directory(Path(p), cfg.directory_columns) for p in directories]
            directory = _concat([r.table for r in reads], DIRECTORY_SCHEMA)
            registry_reads = [read_registry(Path(p), cfg.registry_columns) for p in registries]
            registry = _concat([r.table for r in registry_reads], REGISTRY_SCHEMA)
            set_aside = tuple(s for r in reads + registry_reads for s in r.rows_set_aside)
            label_table = load_labels(Path(labels)) if labels else LABELS_SCHEMA.empty_table()
            prog.advance("identify")
            ex.execute(view_sql("id_calls", parquet_source(calls)))
            ex.register_arrow("id_directory", directory)
            ex.register_arrow("id_registry", registry)
            ex.register_arrow("id_labels", label_table)
            zones = facility_clocks(ex, cfg)
            clocks = {
                str(f): str(d)
                for f, d in zip(
                    *zones.select(["facility", "description"]).to_pydict().values(), strict=True
                )
            }
            ex.register_arrow("id_fac_zone", zones)
            ex.copy_to_parquet(S.clocks_sql(), paths.clocks)
            _warn_unknown_facilities(ex)
            conflicts = [r[0] for r in ex.fetchall(S.label_conflicts())]
            if conflicts:
                # A list entry is documentary evidence; a review rejects only pattern candidates.
                log.warning(
                    "review rejected %d number(s) that a directory or registry lists; the list "
                    "wins: %s",
                    len(conflicts),
                    ", ".join(conflicts[:10]),
                )
            ex.execute(S.create_pairs())
            prog.advance("identify")
            ex.execute(S.create_durations())
            ex.execute(S.create_features())
            prog.advance("identify")
            missing = _missing_features(ex)
            numbers_path = paths.numbers
            ex.copy_to_parquet(
                S.numbers_table(
                    S.Weights(), cfg.candidate_threshold, cfg.min_calls, cfg.min_inmates, missing
                ),
                numbers_path,
            )
            registry_path = paths.registry
            ex.copy_to_parquet(S.registry_table(), registry_path)
            review_path = paths.review
            # The sheet is small and its pseudonym is DuckDB's keyed-hash macro: a DuckDB
            # session writes it from numbers.parquet on every engine.
            with session(None) as local:
                write_review_sheet(local, numbers_path, review_path, review_key)
            counts = dict(ex.fetchall(S.classification_counts_sql(numbers_path)))
            for table in ("id_pairs", "id_features", "id_durations"):
                ex.execute(drop_table_sql(table))
            prog.advance("identify")
        finally:
            prog.finish("identify")
    log.info("identify: %s", counts)
    return IdentifyResult(
        numbers_path=numbers_path,
        registry_path=registry_path,
        review_path=review_path,
        counts={str(k): int(v) for k, v in counts.items()},
        facility_clocks=clocks,
        directory_entries=directory.num_rows,
        registry_intervals=registry.num_rows,
        labels=label_table.num_rows,
        lists_set_aside=set_aside,
        features_missing=list(missing),
    )


def _warn_unknown_facilities(ex: Executor) -> None:
    """A facility-specific registry entry for a facility absent from the calls never applies."""
    rows = ex.fetchall(S.unknown_facilities_sql())
    if rows:
        log.warning(
            "registry entries name facilities that made no call in the dump: %s",
            ", ".join(sorted(str(r[0]) for r in rows)),
        )


__all__ = ["IdentifyResult", "identify"]
