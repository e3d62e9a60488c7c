"""The review sheet: candidate numbers for a person to confirm or reject.

``privguard review OUT [--to FILE]`` writes the sheet; the person fills its ``decision``
column with ``confirm`` or ``reject`` (with the ``attorney_name`` of a confirmed number,
and a ``note`` if they like) and passes it back as
``--labels`` on the next audit. Numbers already reviewed appear with their decision filled
in, so the same sheet can be kept and extended from run to run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from privguard.errors import InputError
from privguard.internals.audit.csvout import write_safe_csv
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.identify import sql as S
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import count_sql

log = logging.getLogger(__name__)


def export_review(out: Path, dest: Path | None = None, *, executor: Executor | None = None) -> Path:
    """Write the review sheet (CSV) from ``OUT/numbers.parquet`` and return its path.

    Columns: ``number``, ``classification``, ``score``, the call-pattern features
    (``calls``, ``inmates``, ``facilities``, ``business_share``, ``night_share``,
    ``median_minutes``, ``short_share``, ``top_caller_share``, ``attorney_caller_share``),
    ``evidence`` (the features as a sentence), then ``decision``, ``attorney_name`` (who a
    confirmed number belongs to: its letter is addressed to them) and ``note`` to fill in.
    Rows are the candidates, best score first, and every number already reviewed.

    Args:
        out: the audit's output folder (holding ``numbers.parquet``).
        dest: where to write the sheet; ``OUT/restricted/review.csv`` by default.
        executor: the engine to use; a new DuckDB one by default.

    Raises:
        InputError: ``numbers.parquet`` is missing (the audit has not run).

    Example::

        >>> export_review(Path("out"), Path("to_review.csv"))  # doctest: +SKIP
    """
    paths = AuditPaths(out)
    numbers = paths.require("numbers")
    dest = Path(dest) if dest is not None else paths.review
    if dest.exists() and dest.is_dir():
        raise InputError(
            "the review sheet must be a file, not a folder",
            where=str(dest),
            fix="give a file name such as review.csv",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with session(executor) as ex:
        write_safe_csv(ex, S.review_sheet(str(numbers)), dest, order_by=S.REVIEW_ORDER)
        rows = ex.fetchall(count_sql(f"({S.review_sheet(str(numbers))})"))[0][0]
    log.info("review sheet: %d number(s) written to %s", rows, dest)
    return dest
