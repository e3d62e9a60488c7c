"""The review sheet: candidate numbers for a person to confirm or reject.

``privguard review OUT [--to FILE]`` writes the sheet; the person fills its ``Decision``
column with ``confirm`` or ``reject`` (with the ``Attorney name`` of a confirmed number,
and a ``Note`` if they like) and passes it back as
``--labels`` on the next audit. Numbers already reviewed appear with their decision filled
in, so the same sheet can be kept and extended from run to run. Sheets written before the
columns got plain names (``number``, ``decision``, ``attorney_name``, ``note``) are read
back the same way. ``Pseudonym in the report`` is how the report names the number, so a
reviewer can match the two.
"""

from __future__ import annotations

import logging
from pathlib import Path

from privguard.errors import InputError
from privguard.internals.audit import pseudonyms
from privguard.internals.audit.csvout import write_safe_csv
from privguard.internals.audit.engines import Executor, session
from privguard.internals.audit.identify import sql as S
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.sql import count_sql

log = logging.getLogger(__name__)


def write_review_sheet(ex: Executor, numbers: Path, dest: Path, key: bytes | None) -> int:
    """Write the review sheet of ``numbers`` (numbers.parquet) to ``dest``; its rows.

    ``key``: the case key, when the report pseudonymizes: the sheet then gives each
    number's pseudonym as the report shows it."""
    pseudonym = "NULL"
    if key is not None:
        pseudonyms.install(ex, key)
        pseudonym = pseudonyms.pseudonym_sql("number", "number")
    try:
        query = S.review_sheet(str(numbers), pseudonym)
        write_safe_csv(ex, query, dest, order_by=S.REVIEW_ORDER)
        return int(ex.fetchall(count_sql(f"({query})"))[0][0])
    finally:
        if key is not None:
            pseudonyms.uninstall(ex)


def export_review(
    out: Path,
    dest: Path | None = None,
    *,
    key: bytes | None = None,
    config: Path | None = None,
    executor: Executor | None = None,
) -> Path:
    """Write the review sheet (CSV) from ``OUT/numbers.parquet`` and return its path.

    Columns (``identify.sql.REVIEW_COLUMNS``): ``Number``, ``Pseudonym in the report``
    (empty when the report shows numbers in clear or no case key is found), the
    classification, the score, the call-pattern features in plain words, ``Why it was
    flagged`` (the features as a sentence), then ``Decision``, ``Attorney name`` (who the
    number belongs to where known; for a confirmed number, the letter is addressed to
    them) and ``Note`` to fill in. Rows are the candidates, best score first, and every
    number already reviewed.

    Args:
        out: the audit's output folder (holding ``numbers.parquet``).
        dest: where to write the sheet; ``OUT/restricted/review.csv`` by default.
        key: the case key for the pseudonyms; by default the one the audit used: the case
            file's ``[privacy] key_file`` when ``config`` is given, else the case key next
            to ``out`` (``OUT/../case.key``). None found: no pseudonyms, and a warning.
        config: the case file the audit ran with (its ``[privacy]`` section).
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
    if key is None:
        key = _case_key(out, config)
    with session(executor) as ex:
        rows = write_review_sheet(ex, numbers, dest, key)
    log.info("review sheet: %d number(s) written to %s", rows, dest)
    return dest


def _case_key(out: Path, config: Path | None) -> bytes | None:
    """The case key the audit pseudonymized with, or None (clear report, or no key found)."""
    from privguard.internals.audit.settings import load_settings
    from privguard.internals.common.keys import key_path, load_key

    privacy = load_settings(config).privacy
    if not privacy.pseudonymize:
        return None  # the report shows numbers in clear: no pseudonym to match
    path = key_path(out, privacy.key_file)
    if not path.is_file():
        log.warning(
            "no case key at %s, so the sheet's 'Pseudonym in the report' column is empty; if "
            "the case file sets [privacy] key_file, pass it with --config",
            path,
        )
        return None
    return load_key(out, privacy.key_file)
